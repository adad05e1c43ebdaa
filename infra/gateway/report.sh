#!/bin/bash
# wg-ingress gateway report (body of the report SSM Command document; the local runner runs the same text).
# Sent by the worker's report schedule to every ready gateway instance (a command per instance); the
# SSM agent writes this script's stdout to the stack's bucket under reports/ with the instance's own
# role, and the worker reads it at its next run. For every interface this control plane initialised
# in the state folder (a <iface>.interface file), it prints whether the interface is up and one line
# per peer from one `wg show <iface> dump`: public key, endpoint, latest handshake, bytes received
# and sent. The dump's first line (the interface's private key) and every peer's preshared key are
# dropped here, on the gateway: nothing secret ever reaches the output.
# Every SSM parameter placeholder is matched by an allowedPattern that excludes quotes.
STATE_DIR='{{ stateDir }}'

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
umask 077
export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LC_ALL=C

fail() { echo "WG_INGRESS_REPORT_FAILED reason=$1" >&2; exit "${2:-1}"; }

# Interface names come from file names here: only the grammar's INTERFACE_NAME
# (functions/domain/grammar.ts, written in for the marker by infra/ssm/documents.ts) is used.
IFACE_RE='%%INTERFACE_NAME_PATTERN%%'
case "$IFACE_RE" in %%*) fail script_not_built ;; esac
case "$STATE_DIR" in /*) ;; *) fail bad_state_dir ;; esac
command -v wg >/dev/null 2>&1 || fail no_wg

echo "WG_INGRESS_REPORT v=1 at=$(date +%s)"
shopt -s nullglob
for file in "$STATE_DIR"/*.interface; do
  IFACE="$(basename -- "$file" .interface)"
  [[ "$IFACE" =~ $IFACE_RE ]] || continue
  UP=0
  LINK="$(ip -o link show dev "$IFACE" 2>/dev/null || true)"
  [[ "$LINK" =~ [\<,]UP[,\>] ]] && UP=1
  # One dump: every peer's counters come from the same instant. Columns of a peer line: public
  # key, preshared key, endpoint, allowed IPs, latest handshake, rx, tx, keepalive.
  DUMP="$(wg show "$IFACE" dump 2>/dev/null || true)"
  [ -n "$DUMP" ] || UP=0
  PEERS="$(printf '%s\n' "$DUMP" | awk -F'\t' 'NR > 1 && NF >= 8 { print $1 "\t" $3 "\t" $5 "\t" $6 "\t" $7 }')"
  COUNT=0
  [ -n "$PEERS" ] && COUNT="$(printf '%s\n' "$PEERS" | wc -l | tr -d ' ')"
  echo "WG_INGRESS_INTERFACE name=$IFACE up=$UP"
  [ -n "$PEERS" ] && printf '%s\n' "$PEERS"
  echo "WG_INGRESS_INTERFACE_END name=$IFACE peers=$COUNT"
done
echo "WG_INGRESS_REPORT_END"
