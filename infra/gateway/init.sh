#!/bin/bash
# wg-ingress gateway init (body of the init SSM Command document; the local runner runs the same text).
# Every SSM parameter placeholder is matched by an allowedPattern that excludes quotes, so assigning it inside
# single quotes is the only place it touches shell syntax; below this block only the variables are used.
IFACE='{{ interfaceName }}'
LISTEN_PORT='{{ listenPort }}'
ADDRESS='{{ address }}'
ADDRESS6='{{ address6 }}'
NETWORK_RANGES='{{ networkRanges }}'
CLIENT_RANGE='{{ clientRange }}'
ALLOW_C2C='{{ allowClientToClient }}'
EGRESS_IFACE='{{ egressInterface }}'
STATE_DIR='{{ stateDir }}'

# SSM may start the file with sh; everything below is bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
umask 077
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export LC_ALL=C

fail() { echo "WG_INGRESS_INIT_FAILED reason=$1" >&2; exit "${2:-1}"; }
log() { echo "wg-ingress: $*" >&2; }

case "$STATE_DIR" in /*) ;; *) fail bad_state_dir ;; esac
mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

# One init or apply at a time per interface. Whatever starts a daemon (wg-quick up starting
# wireguard-go) gets `9>&-`: a daemon keeping the descriptor would hold the lock for good.
exec 9>"$STATE_DIR/$IFACE.lock"
flock -w 300 9 || fail lock_timeout

# --- WireGuard tools --------------------------------------------------------------------------
install_packages() {
  if command -v dnf >/dev/null 2>&1; then
    dnf install -y "$@" >&2
  elif command -v yum >/dev/null 2>&1; then
    yum install -y "$@" >&2
  elif command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$@" >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends "$@" >&2; }
  else
    return 1
  fi
}
if ! command -v wg >/dev/null 2>&1 || ! command -v wg-quick >/dev/null 2>&1; then
  log "installing wireguard-tools"
  install_packages wireguard-tools || fail wireguard_tools_install
fi
command -v iptables >/dev/null 2>&1 || install_packages iptables >&2 || install_packages iptables-nft >&2 || fail iptables_install

# Kernel module when the kernel has one, else the userspace implementation.
USERSPACE=no
if [ "${WG_QUICK_USERSPACE_IMPLEMENTATION:-}" != "" ]; then
  USERSPACE=yes
elif ! ip link show dev "$IFACE" >/dev/null 2>&1; then
  PROBE="wgiprobe$$"
  PROBE="${PROBE:0:15}"
  if ip link add dev "$PROBE" type wireguard >/dev/null 2>&1; then
    ip link del dev "$PROBE" >/dev/null 2>&1 || true
  else
    modprobe wireguard >/dev/null 2>&1 || true
    if ip link add dev "$PROBE" type wireguard >/dev/null 2>&1; then
      ip link del dev "$PROBE" >/dev/null 2>&1 || true
    else
      USERSPACE=yes
    fi
  fi
fi
if [ "$USERSPACE" = yes ]; then
  export WG_QUICK_USERSPACE_IMPLEMENTATION="${WG_QUICK_USERSPACE_IMPLEMENTATION:-wireguard-go}"
  command -v "$WG_QUICK_USERSPACE_IMPLEMENTATION" >/dev/null 2>&1 || install_packages wireguard-go || fail wireguard_go_install
fi

# --- key (created once, on the instance; never printed) -----------------------------------------
KEY_FILE="$STATE_DIR/$IFACE.key"
if [ ! -s "$KEY_FILE" ]; then
  wg genkey >"$KEY_FILE.tmp"
  chmod 600 "$KEY_FILE.tmp"
  mv -f "$KEY_FILE.tmp" "$KEY_FILE"
fi
chmod 600 "$KEY_FILE"
PUBLIC_KEY="$(wg pubkey <"$KEY_FILE")"

# --- egress interface -------------------------------------------------------------------------
if [ -z "$EGRESS_IFACE" ]; then
  EGRESS_IFACE="$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')"
fi

# --- firewall script (rules baked in here; wg-quick's PostUp re-runs it after a reboot) ----------
split_ranges() { # $1: comma list, $2: 4 or 6
  local IFS=, r
  for r in $1; do
    [ -n "$r" ] || continue
    case "$r" in *:*) [ "$2" = 6 ] && echo "$r" ;; *) [ "$2" = 4 ] && echo "$r" ;; esac
  done
  return 0
}
NET4="$(split_ranges "$NETWORK_RANGES" 4 | tr '\n' ' ')"
NET6="$(split_ranges "$NETWORK_RANGES" 6 | tr '\n' ' ')"
CLI4="$(split_ranges "$CLIENT_RANGE" 4 | tr '\n' ' ')"
CLI6="$(split_ranges "$CLIENT_RANGE" 6 | tr '\n' ' ')"
if [ "$ALLOW_C2C" = true ]; then C2C=ACCEPT; else C2C=DROP; fi
if [ -n "$EGRESS_IFACE" ]; then NAT_OUT="-o $EGRESS_IFACE"; else NAT_OUT="! -o $IFACE"; fi

FIREWALL="$STATE_DIR/$IFACE-firewall.sh"
cat >"$FIREWALL.tmp" <<EOF
#!/bin/bash
# Written by wg-ingress init for $IFACE; run by wg-quick PostUp/PostDown. Rebuilt on every init.
set -u
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:\$PATH"
FWD=WGI-FWD-$IFACE
NAT=WGI-NAT-$IFACE
rules() { # \$1: iptables or ip6tables, \$2: network ranges, \$3: client ranges
  local T=\$1 r
  \$T -w -N \$FWD 2>/dev/null || true
  \$T -w -F \$FWD
  # client <-> client
  \$T -w -A \$FWD -i $IFACE -o $IFACE -j $C2C
  # network -> client: replies only
  \$T -w -A \$FWD -o $IFACE -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  \$T -w -A \$FWD -o $IFACE -j DROP
  # client -> network
  for r in \$2; do \$T -w -A \$FWD -i $IFACE -d "\$r" -j ACCEPT; done
  \$T -w -A \$FWD -i $IFACE -j DROP
  \$T -w -C FORWARD -j \$FWD 2>/dev/null || \$T -w -I FORWARD 1 -j \$FWD
  \$T -w -t nat -N \$NAT 2>/dev/null || true
  \$T -w -t nat -F \$NAT
  for r in \$3; do \$T -w -t nat -A \$NAT -s "\$r" $NAT_OUT -j MASQUERADE; done
  \$T -w -t nat -C POSTROUTING -j \$NAT 2>/dev/null || \$T -w -t nat -I POSTROUTING 1 -j \$NAT
}
unrules() {
  local T=\$1
  while \$T -w -D FORWARD -j \$FWD 2>/dev/null; do :; done
  \$T -w -F \$FWD 2>/dev/null; \$T -w -X \$FWD 2>/dev/null
  while \$T -w -t nat -D POSTROUTING -j \$NAT 2>/dev/null; do :; done
  \$T -w -t nat -F \$NAT 2>/dev/null; \$T -w -t nat -X \$NAT 2>/dev/null
  return 0
}
case "\${1:-up}" in
  up)
    sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
    rules iptables "$NET4" "$CLI4" || exit 1
    if [ -n "$CLI6$NET6" ] && command -v ip6tables >/dev/null 2>&1; then
      # Forwarding makes the kernel ignore router advertisements unless accept_ra=2 (EC2 IPv6).
      [ -n "$EGRESS_IFACE" ] && sysctl -q -w net.ipv6.conf.$EGRESS_IFACE.accept_ra=2 >/dev/null 2>&1
      sysctl -q -w net.ipv6.conf.all.forwarding=1 >/dev/null 2>&1 || echo "wg-ingress: IPv6 forwarding unavailable" >&2
      rules ip6tables "$NET6" "$CLI6" || echo "wg-ingress: IPv6 firewall rules not set" >&2
    fi
    ;;
  down)
    unrules iptables
    command -v ip6tables >/dev/null 2>&1 && unrules ip6tables
    ;;
esac
exit 0
EOF
chmod 700 "$FIREWALL.tmp"
mv -f "$FIREWALL.tmp" "$FIREWALL"

# --- interface section; apply appends the peer set to it -----------------------------------------
ADDRESSES="$ADDRESS"
[ -n "$ADDRESS6" ] && ADDRESSES="$ADDRESSES, $ADDRESS6"
INTERFACE_FILE="$STATE_DIR/$IFACE.interface"
{
  echo "[Interface]"
  echo "Address = $ADDRESSES"
  echo "ListenPort = $LISTEN_PORT"
  echo "PrivateKey = $(cat "$KEY_FILE")"
  # Clients are inside Address's prefix; never let a peer's AllowedIPs install routes.
  echo "Table = off"
  echo "PostUp = $FIREWALL up"
  echo "PostDown = $FIREWALL down"
  echo
} >"$INTERFACE_FILE.tmp"
chmod 600 "$INTERFACE_FILE.tmp"
mv -f "$INTERFACE_FILE.tmp" "$INTERFACE_FILE"

PEERS_FILE="$STATE_DIR/$IFACE.peers"
[ -f "$PEERS_FILE" ] || : >"$PEERS_FILE"
chmod 600 "$PEERS_FILE"
CONF="$STATE_DIR/$IFACE.conf"
cat "$INTERFACE_FILE" "$PEERS_FILE" >"$CONF.tmp"
chmod 600 "$CONF.tmp"
mv -f "$CONF.tmp" "$CONF"

# --- bring it up (or bring a running one in line) -------------------------------------------------
if ip link show dev "$IFACE" >/dev/null 2>&1 && wg show "$IFACE" >/dev/null 2>&1; then
  if ip -o addr show dev "$IFACE" | grep -qF " $ADDRESS " \
    && { [ -z "$ADDRESS6" ] || ip -o addr show dev "$IFACE" | grep -qiF " $ADDRESS6 "; }; then
    wg syncconf "$IFACE" <(wg-quick strip "$CONF")
    "$FIREWALL" up || fail firewall
  else
    log "address changed: restarting $IFACE"
    wg-quick down "$CONF" >&2 9>&- || ip link del dev "$IFACE" || true
    wg-quick up "$CONF" >&2 9>&- || fail interface_up
  fi
else
  ip link del dev "$IFACE" >/dev/null 2>&1 || true
  wg-quick up "$CONF" >&2 9>&- || fail interface_up
fi

# --- survive a reboot -----------------------------------------------------------------------------
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  DROPIN="/etc/systemd/system/wg-quick@$IFACE.service.d"
  mkdir -p "$DROPIN"
  {
    echo "[Service]"
    echo "ExecStart="
    echo "ExecStart=$(command -v wg-quick) up $CONF"
    echo "ExecStop="
    echo "ExecStop=$(command -v wg-quick) down $CONF"
    echo "ExecReload="
    echo "ExecReload=/bin/bash -c 'exec wg syncconf $IFACE <(exec wg-quick strip $CONF)'"
    [ "$USERSPACE" = yes ] && echo "Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=$WG_QUICK_USERSPACE_IMPLEMENTATION"
  } >"$DROPIN/wg-ingress.conf"
  chmod 644 "$DROPIN/wg-ingress.conf"
  systemctl daemon-reload >&2 || true
  systemctl enable "wg-quick@$IFACE" >&2 || log "could not enable wg-quick@$IFACE"
else
  log "no systemd: the interface is not restored after a reboot by this script"
fi

echo "WG_INGRESS_PUBLIC_KEY=$PUBLIC_KEY"
echo "WG_INGRESS_INIT_OK"
