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
LINK_LOCAL_DNS='{{ linkLocalDns }}'
SERVES_DNS='{{ gatewayServesDns }}'
EGRESS_IFACE='{{ egressInterface }}'
STATE_DIR='{{ stateDir }}'

# SSM may start the file with sh; everything below is bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
umask 077
# The standard folders after the caller's (SSM's PATH may lack the sbin ones).
export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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

# --- firewall: one iptables-restore file per family, loaded by a script that wg-quick's PostUp
# (after a reboot), init and every apply run. Fail-closed:
#  - each family's rules go in with one `iptables-restore --noflush` / `ip6tables-restore --noflush`
#    (a transaction): the file declares this interface's chains (`:CHAIN - [0:0]` replaces their
#    content at once, so re-init never leaves them empty), then the jumps are checked and put back
#    in front of FORWARD, INPUT and POSTROUTING when missing;
#  - forwarding is switched on only once every family's rules are in; any failure switches it off
#    and exits non-zero with the reason. The global switches are used (net.ipv4.ip_forward,
#    net.ipv6.conf.all.forwarding): IPv6 has no other (a per-interface IPv6 "forwarding" is only
#    host/router behaviour), and IPv4's per-interface one only gates packets *received* on that
#    interface, so the network side's new flows would still be forwarded to clients. A gateway
#    instance forwards for wg-ingress only: a failure stops all of its forwarding.
#  - from the WireGuard interface: forwarded only to the network's ranges, never to link-local
#    (169.254.0.0/16, fd00:ec2::/32: instance metadata) but for the network's DNS servers there on
#    port 53; to the gateway itself only replies, ping (and the ICMPv6 neighbour discovery types),
#    and DNS when the gateway is one of the network's DNS servers.
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
LINK_LOCAL4="$(split_ranges "$LINK_LOCAL_DNS" 4 | tr '\n' ' ')"
for r in $LINK_LOCAL4; do case "$r" in 169.254.*) ;; *) fail bad_link_local_dns ;; esac; done
if [ "$ALLOW_C2C" = true ]; then C2C=ACCEPT; else C2C=DROP; fi
if [ -n "$EGRESS_IFACE" ]; then NAT_OUT="-o $EGRESS_IFACE"; else NAT_OUT="! -o $IFACE"; fi
# The network has IPv6: then IPv6 rules are as mandatory as IPv4's. Without it the peers'
# AllowedIPs are IPv4 only, so WireGuard drops any IPv6 packet a client sends.
if [ -n "$ADDRESS6$CLI6$NET6" ]; then HAS6=yes; else HAS6=no; fi
command -v iptables-restore >/dev/null 2>&1 || fail iptables_restore_missing
if [ "$HAS6" = yes ]; then command -v ip6tables-restore >/dev/null 2>&1 || fail ip6tables_restore_missing; fi

FWD="WGI-FWD-$IFACE"
INP="WGI-IN-$IFACE"
NAT="WGI-NAT-$IFACE"
rules() { # $1: 4 or 6: the iptables-restore input of that family
  local r t nets clients
  if [ "$1" = 4 ]; then nets=$NET4; clients=$CLI4; else nets=$NET6; clients=$CLI6; fi
  echo "*filter"
  echo ":$FWD - [0:0]"
  echo ":$INP - [0:0]"
  echo "# client <-> client"
  echo "-A $FWD -i $IFACE -o $IFACE -j $C2C"
  echo "# network -> client: replies only"
  echo "-A $FWD -o $IFACE -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
  echo "-A $FWD -o $IFACE -j DROP"
  echo "# client -> link-local: never (instance metadata), but the network's DNS servers there"
  if [ "$1" = 4 ]; then
    for r in $LINK_LOCAL4; do
      echo "-A $FWD -i $IFACE -d $r/32 -p udp -m udp --dport 53 -j ACCEPT"
      echo "-A $FWD -i $IFACE -d $r/32 -p tcp -m tcp --dport 53 -j ACCEPT"
    done
    echo "-A $FWD -i $IFACE -d 169.254.0.0/16 -j DROP"
  else
    echo "-A $FWD -i $IFACE -d fd00:ec2::/32 -j DROP"
    echo "-A $FWD -i $IFACE -d fe80::/10 -j DROP"
  fi
  echo "# client -> network"
  for r in $nets; do echo "-A $FWD -i $IFACE -d $r -j ACCEPT"; done
  echo "-A $FWD -i $IFACE -j DROP"
  echo "# client -> the gateway itself: replies, ping, DNS when it serves it; nothing else"
  echo "-A $INP -i $IFACE -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
  if [ "$1" = 4 ]; then
    echo "-A $INP -i $IFACE -p icmp -m icmp --icmp-type 8 -j ACCEPT"
  else
    # echo request, router solicitation/advertisement, neighbour solicitation/advertisement
    for t in 128 133 134 135 136; do echo "-A $INP -i $IFACE -p ipv6-icmp -m icmp6 --icmpv6-type $t -j ACCEPT"; done
  fi
  if [ "$SERVES_DNS" = true ]; then
    echo "-A $INP -i $IFACE -p udp -m udp --dport 53 -j ACCEPT"
    echo "-A $INP -i $IFACE -p tcp -m tcp --dport 53 -j ACCEPT"
  fi
  echo "-A $INP -i $IFACE -j DROP"
  echo "COMMIT"
  echo "*nat"
  echo ":$NAT - [0:0]"
  for r in $clients; do echo "-A $NAT -s $r $NAT_OUT -j MASQUERADE"; done
  echo "COMMIT"
}
RULES4="$STATE_DIR/$IFACE.rules4"
RULES6="$STATE_DIR/$IFACE.rules6"
rules 4 >"$RULES4.tmp"
mv -f "$RULES4.tmp" "$RULES4"
if [ "$HAS6" = yes ]; then
  rules 6 >"$RULES6.tmp"
  mv -f "$RULES6.tmp" "$RULES6"
else
  rm -f "$RULES6"
fi

FIREWALL="$STATE_DIR/$IFACE-firewall.sh"
cat >"$FIREWALL.tmp" <<EOF
#!/bin/bash
# Written by wg-ingress init for $IFACE; run by init, every apply and wg-quick PostUp/PostDown.
# up: loads $RULES4$( [ "$HAS6" = yes ] && echo " and $RULES6") atomically per family, puts back missing
# jumps, then switches forwarding on; on any failure switches forwarding off and exits non-zero.
set -u
export PATH="\${PATH:+\$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HAS6=$HAS6
# A kernel setting, written where sysctl writes it (no process: every apply runs this script).
setting() { # \$1: its path under /proc/sys, \$2: the value
  echo "\$2" 2>/dev/null >"/proc/sys/\$1"
}
closed() {
  setting net/ipv4/ip_forward 0
  [ "\$HAS6" = yes ] && setting net/ipv6/conf/all/forwarding 0
  echo "WG_INGRESS_FIREWALL_FAILED interface=$IFACE reason=\$1 (forwarding switched off)" >&2
  exit 1
}
jump() { # \$1: iptables or ip6tables, \$2: table, \$3: built-in chain, \$4: our chain
  \$1 -w -t \$2 -C \$3 -j \$4 2>/dev/null || \$1 -w -t \$2 -I \$3 1 -j \$4
}
load() { # \$1: iptables or ip6tables, \$2: its rules file
  [ -s "\$2" ] || return 1
  \$1-restore -w --noflush <"\$2" || return 1
  jump \$1 filter FORWARD $FWD && jump \$1 filter INPUT $INP && jump \$1 nat POSTROUTING $NAT
}
unrules() {
  local T=\$1
  while \$T -w -D FORWARD -j $FWD 2>/dev/null; do :; done
  while \$T -w -D INPUT -j $INP 2>/dev/null; do :; done
  \$T -w -F $FWD 2>/dev/null; \$T -w -X $FWD 2>/dev/null
  \$T -w -F $INP 2>/dev/null; \$T -w -X $INP 2>/dev/null
  while \$T -w -t nat -D POSTROUTING -j $NAT 2>/dev/null; do :; done
  \$T -w -t nat -F $NAT 2>/dev/null; \$T -w -t nat -X $NAT 2>/dev/null
  return 0
}
case "\${1:-up}" in
  up)
    load iptables "$RULES4" || closed ipv4_rules
    if [ "\$HAS6" = yes ]; then
      load ip6tables "$RULES6" || closed ipv6_rules
      # Forwarding makes the kernel ignore router advertisements unless accept_ra=2 (EC2 IPv6).
      $( [ -n "$EGRESS_IFACE" ] && echo "setting net/ipv6/conf/$EGRESS_IFACE/accept_ra 2" || echo ":" )
      setting net/ipv6/conf/all/forwarding 1 || closed ipv6_forwarding
    fi
    setting net/ipv4/ip_forward 1 || closed ipv4_forwarding
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
# Rules before the interface exists (they match it by name), forwarding on only after them.
"$FIREWALL" up || fail firewall

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
