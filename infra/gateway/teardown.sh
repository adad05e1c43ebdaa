#!/bin/bash
# wg-ingress gateway teardown (body of the teardown SSM Command document; the local runner runs the
# same text). Sent when a gateway is deleted: the interface goes down, its firewall chains and NAT
# (forward, input and NAT) go with it (the wg-quick PostDown hook init wrote), the reboot unit is disabled, and the state
# folder's files of this interface, the private key among them, are removed. Idempotent.
# Every SSM parameter placeholder is matched by an allowedPattern that excludes quotes.
IFACE='{{ interfaceName }}'
STATE_DIR='{{ stateDir }}'

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
umask 077
export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LC_ALL=C

fail() { echo "WG_INGRESS_TEARDOWN_FAILED reason=$1" >&2; exit "${2:-1}"; }
log() { echo "wg-ingress: $*" >&2; }

case "$STATE_DIR" in /*) ;; *) fail bad_state_dir ;; esac
CONF="$STATE_DIR/$IFACE.conf"
FIREWALL="$STATE_DIR/$IFACE-firewall.sh"

if [ -d "$STATE_DIR" ]; then
  exec 9>"$STATE_DIR/$IFACE.lock"
  flock -w 300 9 || fail lock_timeout
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now "wg-quick@$IFACE" >&2 2>/dev/null || true
  rm -rf "/etc/systemd/system/wg-quick@$IFACE.service.d"
  systemctl daemon-reload >&2 || true
fi

if ip link show dev "$IFACE" >/dev/null 2>&1; then
  if [ -f "$CONF" ]; then
    wg-quick down "$CONF" >&2 9>&- || ip link del dev "$IFACE" || fail interface_down
  else
    ip link del dev "$IFACE" || fail interface_down
  fi
fi
# The chains go even when the interface was already gone (PostDown did not run then).
if [ -x "$FIREWALL" ]; then "$FIREWALL" down >&2 || log "firewall rules of $IFACE were already gone"; fi

rm -f "$CONF" "$STATE_DIR/$IFACE.key" "$STATE_DIR/$IFACE.interface" "$STATE_DIR/$IFACE.peers" \
  "$STATE_DIR/$IFACE.generation" "$FIREWALL" "$STATE_DIR/$IFACE.rules4" "$STATE_DIR/$IFACE.rules6" \
  "$STATE_DIR/$IFACE.lock"

echo "WG_INGRESS_TEARDOWN_OK interface=$IFACE"
