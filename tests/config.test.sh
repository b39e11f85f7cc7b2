#!/bin/sh
# pprofd -n: the shipped example config validates; a broken one is refused
# with FILE:LINE:COLUMN and exit status 1; -v prints the resolved config
# without secrets.
. "$top_srcdir/tests/lib.sh"

out=$("$PPROFD" -n -c "$top_srcdir/etc/pprofd.yaml") || fail "the shipped example config is invalid"
echo "$out" | grep -q "configuration OK" || fail "no summary: $out"
pass "etc/pprofd.yaml validates: $out"

printf 'defaults:\n  interval: soon\ntargets:\n  - name: api\n    url: http://127.0.0.1:6060\n' > "$T/bad.yaml"
rc=0
err=$("$PPROFD" -n -c "$T/bad.yaml" 2>&1 >/dev/null) || rc=$?
[ "$rc" = 1 ] || fail "invalid config: exit status $rc, expected 1"
echo "$err" | grep -q "^$T/bad.yaml:2:13: invalid duration 'soon'" || fail "unexpected message: $err"
pass "invalid config refused: $err"

rc=0
"$PPROFD" -c "$T/bad.yaml" >/dev/null 2>"$T/start.err" || rc=$?
[ "$rc" = 1 ] || fail "the daemon started on an invalid config (status $rc)"
grep -q "bad.yaml:2:13" "$T/start.err" || fail "daemon start error lacks the position"
pass "the daemon does not start on an invalid config"

printf 's3cr3t-token-value\n' > "$T/token"
cat > "$T/secret.yaml" <<EOF2
storage: {path: $T/db}
targets:
  - name: api
    url: https://127.0.0.1:6060
    bearer_token_file: $T/token
EOF2
"$PPROFD" -n -v -c "$T/secret.yaml" > "$T/dump" || fail "secret config rejected"
grep -q "redacted" "$T/dump" || fail "the dump does not mark the secret as redacted"
grep -q "s3cr3t" "$T/dump" && fail "the dump prints the secret"
pass "-n -v prints the resolved config with secrets redacted"

rc=0
"$PPROFD" --no-such-flag >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "usage error: status $rc, expected 2"
pass "usage errors exit 2"
