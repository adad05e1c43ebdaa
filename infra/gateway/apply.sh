#!/bin/bash
# wg-ingress gateway apply (body of the apply SSM Command document; the local runner runs the same text).
# The document's first step (aws:downloadContent, S3 source, the instance's own role) has put the
# peer set at $STATE_DIR/.peer-set-$IFACE-$GENERATION (infra/ssm/documents.ts PEER_SET_DOWNLOAD_PATH);
# no URL and no credential reaches this script. It removes that file when it ends, whatever happened.
# Every SSM parameter placeholder is matched by an allowedPattern that excludes quotes, so assigning it inside
# single quotes is the only place it touches shell syntax; below this block only the variables are used.
IFACE='{{ interfaceName }}'
GENERATION='{{ generation }}'
PEER_SET_SHA256='{{ peerSetSha256 }}'
STATE_DIR='{{ stateDir }}'

# SSM may start the file with sh; everything below is bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
umask 077
# The standard folders after the caller's (SSM's PATH may lack the sbin ones).
export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LC_ALL=C

DOWNLOADED="$STATE_DIR/.peer-set-$IFACE-$GENERATION"
WORK=""
CHECKERS=""
# The downloaded set holds preshared keys: it and the work folder are gone when this script ends,
# skipped or failed alike. The peer set's readers are stopped first (a file one writes must not
# outlive the folder); the firewall reload is waited for, never killed (it may be switching
# forwarding off), so its own reason reaches stderr too.
cleanup() {
  if [ -n "$CHECKERS" ]; then kill $CHECKERS 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ -n "$WORK" ]; then rm -rf -- "$WORK" || true; fi
  rm -f -- "$DOWNLOADED" || true
}
trap cleanup EXIT

fail() { echo "WG_INGRESS_APPLY_FAILED generation=$GENERATION reason=$1" >&2; exit "${2:-1}"; }

# The only lines a peer set may hold (functions/domain/peer-set.ts renders exactly these): the
# grammar's PEER_LINE_PATTERN (functions/domain/grammar.ts), which infra/ssm/documents.ts writes in
# for the marker when it reads this file (for the SSM document and the local runner alike).
PEER_LINE_RE='%%PEER_LINE_PATTERN%%'
# This file run as is still holds the marker: refuse rather than check nothing.
case "$PEER_LINE_RE" in %%*) fail script_not_built ;; esac

[[ "$GENERATION" =~ ^[0-9]+$ ]] || fail bad_generation
CONF="$STATE_DIR/$IFACE.conf"
INTERFACE_FILE="$STATE_DIR/$IFACE.interface"
PEERS_FILE="$STATE_DIR/$IFACE.peers"
GENERATION_FILE="$STATE_DIR/$IFACE.generation"
[ -s "$INTERFACE_FILE" ] || fail not_initialised

# One init or apply at a time per interface (daemon starters get `9>&-`, see init).
exec 9>"$STATE_DIR/$IFACE.lock"
flock -w 300 9 || fail lock_timeout

# Every apply, skipped ones included, re-asserts the firewall init wrote: the same restore files
# again (each family's chains replaced at once) and any jump into them that went missing (a
# flushed FORWARD, INPUT or POSTROUTING); a failure switches forwarding off and fails the apply.
# It runs while the peer set is checked below and is waited for before the peers change (and
# before a skipped apply answers): no peer is added before the firewall is back in place.
FIREWALL="$STATE_DIR/$IFACE-firewall.sh"
[ -x "$FIREWALL" ] || fail not_initialised
"$FIREWALL" up >&2 &
FIREWALL_PID=$!
firewall_up() { wait "$FIREWALL_PID" || fail firewall; }

# Builtins where a command would only cost a process: read, [[ ]], the sysfs link check.
APPLIED=0
if [ -f "$GENERATION_FILE" ]; then
  read -r APPLIED <"$GENERATION_FILE" || true
  [[ "$APPLIED" =~ ^[0-9]+$ ]] || APPLIED=0
fi
if (( 10#$GENERATION <= 10#$APPLIED )); then
  firewall_up
  echo "WG_INGRESS_APPLY_SKIPPED generation=$GENERATION applied=$APPLIED"
  exit 0
fi

WORK="$(mktemp -d "$STATE_DIR/.apply-$IFACE.XXXXXX")"
FETCHED="$WORK/peers"

# --- take what the download step left (a regular file, not a link) ----------------------------------
[ -f "$DOWNLOADED" ] && [ ! -L "$DOWNLOADED" ] || fail fetch_failed
mv -f -- "$DOWNLOADED" "$FETCHED" || fail fetch_failed
chmod 600 "$FETCHED"

# --- verify: digest, every line, structure ----------------------------------------------------------
# Three readers of the same file at once (each to a file of its own in $WORK); their verdicts are
# taken in this order, so a set that fails several checks names the first as before. A check that
# cannot run (a reader's own error) fails the apply like a check that fails.
sha256sum "$FETCHED" >"$WORK/digest" &
DIGEST_PID=$!
# The first line outside the format, with its number (exit 1: there is none); -a: a NUL byte
# is a byte of its line (no binary-file mode that would split lines there).
grep -a -m1 -nvE "$PEER_LINE_RE" "$FETCHED" >"$WORK/bad-line" &
LINES_PID=$!
awk '
  $0 == "[Peer]" { if (inpeer && !pk) bad = 1; inpeer = 1; pk = 0; psk = 0; ips = 0; n++; next }
  $0 == "" { next }
  !inpeer { bad = 1 }
  $1 == "PublicKey" { if (pk || seen[$3]++) bad = 1; pk = 1 }
  $1 == "PresharedKey" { if (psk) bad = 1; psk = 1 }
  $1 == "AllowedIPs" { if (ips) bad = 1; ips = 1 }
  END { if (inpeer && !pk) bad = 1; if (bad) print "bad"; else print n + 0 }
' "$FETCHED" >"$WORK/structure" &
STRUCTURE_PID=$!
CHECKERS="$DIGEST_PID $LINES_PID $STRUCTURE_PID"
DIGEST_STATUS=0
wait "$DIGEST_PID" || DIGEST_STATUS=$?
LINES_STATUS=0
wait "$LINES_PID" || LINES_STATUS=$?
STRUCTURE_STATUS=0
wait "$STRUCTURE_PID" || STRUCTURE_STATUS=$?
CHECKERS="" # all three reaped: their ids may belong to other processes from here on
[ "$DIGEST_STATUS" -eq 0 ] || fail digest_mismatch 3
read -r ACTUAL_SHA256 _ <"$WORK/digest" || fail digest_mismatch 3
[ "$ACTUAL_SHA256" = "$PEER_SET_SHA256" ] || fail digest_mismatch 3
if [ "$LINES_STATUS" -eq 0 ]; then
  IFS=: read -r BAD_LINE _ <"$WORK/bad-line" || true
  fail "bad_line:$BAD_LINE" 4
fi
[ "$LINES_STATUS" -eq 1 ] || fail line_check_failed 4
# The last byte, in hex (a NUL is 00, not the empty string a $(…) would make of it).
if [ -s "$FETCHED" ]; then
  LAST_BYTE="$(tail -c1 "$FETCHED" | od -An -tx1)" || fail no_final_newline 4
  [ "${LAST_BYTE//[[:space:]]/}" = 0a ] || fail no_final_newline 4
fi
[ "$STRUCTURE_STATUS" -eq 0 ] || fail bad_structure 4
PEERS=""
read -r PEERS <"$WORK/structure" || true
[[ "$PEERS" =~ ^[0-9]+$ ]] || fail bad_structure 4

# --- apply: same interface section, new peers; wg syncconf keeps unchanged peers' sessions ---------
cat "$INTERFACE_FILE" "$FETCHED" >"$WORK/$IFACE.conf"
# What `wg-quick strip` makes of that file, without its per-line bash loop (seconds for 10,000
# peers): the wg settings of the interface section init wrote (its other keys are wg-quick's own),
# then the peer lines, which are wg's own keys only (checked above).
wg_settings() {
  grep -E '^(\[Interface\]$|PrivateKey = |ListenPort = |FwMark = )' "$INTERFACE_FILE"
  echo
  cat "$FETCHED"
}
firewall_up
# The interface's sysfs entry rather than `wg show`: the latter reads and prints every peer (0.1 s at 10,000).
if [ -e "/sys/class/net/$IFACE" ] || ip link show dev "$IFACE" >/dev/null 2>&1; then
  wg syncconf "$IFACE" <(wg_settings) || fail syncconf_failed
else
  # The interface is gone (e.g. the userspace daemon ended): bring it back with the new set.
  if [ -z "${WG_QUICK_USERSPACE_IMPLEMENTATION:-}" ] && ! ip link add dev wgiprobe$$ type wireguard >/dev/null 2>&1; then
    export WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
  else
    ip link del dev wgiprobe$$ >/dev/null 2>&1 || true
  fi
  wg-quick up "$WORK/$IFACE.conf" >&2 9>&- || fail interface_up
fi

# --- persist for reboot, then record the generation (each step an atomic rename) ----------------------
mv -f "$FETCHED" "$PEERS_FILE"
mv -f "$WORK/$IFACE.conf" "$CONF"
echo "$GENERATION" >"$WORK/generation"
mv -f "$WORK/generation" "$GENERATION_FILE"

echo "WG_INGRESS_APPLIED generation=$GENERATION peers=$PEERS"
