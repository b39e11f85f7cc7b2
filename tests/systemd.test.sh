#!/bin/sh
# The systemd unit verifies cleanly and its sandbox exposure stays at 2.0 or
# lower (systemd-analyze security, offline).
. "$top_srcdir/tests/lib.sh"

unit="$T/pprofd.service"
sed -e "s|@sbindir@|$top_builddir/src|g" -e "s|@sysconfdir@|/etc|g" \
  "$top_srcdir/systemd/pprofd.service.in" > "$unit"
grep -q '@[a-z]*@' "$unit" && fail "unsubstituted placeholder in the unit"
systemd-analyze verify --man=no "$unit" >"$T/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.log")"
[ -s "$T/verify.log" ] && fail "systemd-analyze verify warned: $(cat "$T/verify.log")"
pass "systemd-analyze verify is clean"

for key in Type=notify ExecReload= StateDirectory=pprofd ConfigurationDirectory=pprofd \
  NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
  'CapabilityBoundingSet=$' RestrictAddressFamilies= SystemCallFilter=@system-service \
  MemoryDenyWriteExecute=yes WatchdogSec= User=pprofd; do
  grep -q "^$key" "$unit" || fail "unit lacks $key"
done
pass "unit has the required hardening"

systemd-analyze security --offline=yes "$unit" >"$T/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for pprofd.service: \([0-9.]*\).*/\1/p' "$T/security.log")
[ -n "$score" ] || fail "no exposure score: $(tail -3 "$T/security.log")"
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" || fail "exposure $score > 2.0"
pass "systemd-analyze security exposure $score"
