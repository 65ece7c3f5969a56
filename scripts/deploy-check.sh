#!/usr/bin/env bash
# Checks that the worker is ready for `wrangler deploy`, without a Cloudflare account (offline):
#   - `wrangler deploy --dry-run` bundles the default and the production environment, and the
#     production environment has both bindings, the mail ones, every [vars] entry (envs inherit
#     neither) and never TEST_PLACES (the tests' stand-in for request.cf's place);
#   - the bundled .wasm, gzip'd, is under the Free plan's 3 MB limit (sizes printed);
#   - `wrangler d1 migrations list` sees every file in migrations/ (default and production);
#   - the migrations apply to an empty local D1, and applying again is a no-op;
#   - forward-only: data written under the first migration survives all later ones;
#   - scripts/check-secret-key.mjs (make dev, README Deploy) passes for the SECRET_KEY a local
#     state's data keys were made under (or with it as SECRET_KEY_PREVIOUS) and fails for another.
# Runs on the worker that `make build` made (WEMASY_PREBUILT=1: the [build] step is a no-op).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export WEMASY_PREBUILT=1

FREE_PLAN_GZIP_LIMIT=$((3 * 1000 * 1000)) # Cloudflare: 3 MB after compression on Free (10 MB Paid)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wemasy-deploy-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); printf '  ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
# Runs a command, keeping its output in $WORK/out; prints the output when the command fails.
run() {
  if "$@" >"$WORK/out" 2>&1; then return 0; fi
  sed 's/^/        | /' "$WORK/out" | tail -30
  return 1
}

mapfile -t MIGRATIONS < <(cd migrations && ls -1 -- *.sql | sort)
[ ${#MIGRATIONS[@]} -gt 0 ] || { echo "no migrations in migrations/"; exit 1; }
# The top-level [vars] keys, which the production env must repeat.
mapfile -t VARS < <(awk '/^\[/{ in_vars = ($0 == "[vars]") } in_vars && /^[A-Z0-9_]+ *=/ { print $1 }' wrangler.toml)

step "wrangler deploy --dry-run (default and production)"
for env in default production; do
  out="$WORK/dry-$env"
  args=(deploy --dry-run --outdir "$out")
  [ "$env" = default ] || args+=(--env "$env")
  if ! run wrangler "${args[@]}"; then
    fail "dry run, $env env"
    continue
  fi
  ok "dry run, $env env"
  cp "$WORK/out" "$WORK/dry-$env.log"
  if [ "$env" = production ]; then
    missing=()
    for name in DB SESSIONS "${VARS[@]}"; do
      grep -q "env\.$name " "$WORK/dry-$env.log" || missing+=("$name")
    done
    if [ ${#missing[@]} -eq 0 ]; then
      ok "production env has DB, SESSIONS and all ${#VARS[@]} vars"
    else
      fail "production env lacks: ${missing[*]} (bindings and vars are not inherited by envs)"
    fi
    for name in MAILS EMAIL PASSWORD_RESETS; do
      grep -q "env\.$name\b" "$WORK/dry-$env.log" || fail "production env lacks the $name binding (docs/email.md)"
    done
    # The tests' stand-in for request.cf's place must never reach production.
    if grep -q "env\.TEST_PLACES" "$WORK/dry-$env.log"; then
      fail "production env sets TEST_PLACES (a test-only switch)"
    else
      ok "production env has the mail bindings and no TEST_PLACES"
    fi
  fi
done

step "bundle size"
wasm=$(find "$WORK/dry-default" -name '*.wasm' 2>/dev/null | head -1)
if [ -n "$wasm" ]; then
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  js=$(stat -c %s "$WORK/dry-default/index.js")
  js_gz=$(gzip -9 -c "$WORK/dry-default/index.js" | wc -c)
  printf '        wasm %d bytes raw, %d bytes gzip; index.js %d raw, %d gzip\n' "$raw" "$gz" "$js" "$js_gz"
  if [ $((gz + js_gz)) -lt $FREE_PLAN_GZIP_LIMIT ]; then
    ok "gzip'd worker $(((gz + js_gz) / 1024)) KiB < Free-plan limit 3 MB"
  else
    fail "gzip'd worker $((gz + js_gz)) bytes >= Free-plan limit $FREE_PLAN_GZIP_LIMIT"
  fi
else
  fail "no .wasm in the dry-run bundle"
fi

step "wrangler d1 migrations list sees ${#MIGRATIONS[@]} migration file(s)"
for env in default production; do
  args=(d1 migrations list DB --local --persist-to "$WORK/list-$env")
  [ "$env" = default ] || args+=(--env "$env")
  if run wrangler "${args[@]}"; then
    missing=()
    for m in "${MIGRATIONS[@]}"; do grep -qF "$m" "$WORK/out" || missing+=("$m"); done
    if [ ${#missing[@]} -eq 0 ]; then ok "migrations list, $env env: ${MIGRATIONS[*]}"; else fail "migrations list, $env env, misses: ${missing[*]}"; fi
  else
    fail "migrations list, $env env"
  fi
done

step "migrations on an empty local D1, then again"
if run wrangler d1 migrations apply DB --local --persist-to "$WORK/fresh"; then
  ok "apply to empty D1"
  if run wrangler d1 migrations apply DB --local --persist-to "$WORK/fresh" && grep -q "No migrations to apply" "$WORK/out"; then
    ok "second apply is a no-op"
  else
    fail "second apply is not a clean no-op"
  fi
else
  fail "apply to empty D1"
fi

step "forward-only: rows written under ${MIGRATIONS[0]} survive all ${#MIGRATIONS[@]} migration(s)"
# A copy of the config whose migrations_dir first holds only the first migration; wrangler records
# applied names in d1_migrations, so copying the rest in later applies exactly those.
FWD="$WORK/forward"
mkdir -p "$FWD/migrations"
cp "migrations/${MIGRATIONS[0]}" "$FWD/migrations/"
cat >"$FWD/wrangler.toml" <<'EOF'
name = "wemasy-security-deploy-check"
compatibility_date = "2026-05-01"
[[d1_databases]]
binding = "DB"
database_name = "wemasy-security"
database_id = "00000000-0000-0000-0000-000000000000"
migrations_dir = "migrations"
EOF
d1() { run wrangler d1 "$@" --local --persist-to "$FWD/state" -c "$FWD/wrangler.toml"; }
SEED="INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at)
        VALUES ('u-fwd', 'forward@example.com', 'Forward Check', '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2FsdA\$aGFzaA', 1700000000, 1700000000);
      INSERT INTO security_events (user_id, type, at, ip, detail) VALUES ('u-fwd', 'sign_in', 1700000001, '192.0.2.1', '{\"method\":\"password\"}');
      INSERT INTO recovery_codes (user_id, code_hash) VALUES ('u-fwd', 'hash-fwd');
      INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES ('s-fwd', 'u-fwd', 4000000000);"
CHECK="SELECT (SELECT count(*) FROM users WHERE id = 'u-fwd' AND email = 'forward@example.com' AND password_changed_at = 1700000000) AS users,
              (SELECT count(*) FROM security_events WHERE user_id = 'u-fwd' AND type = 'sign_in' AND at = 1700000001) AS events,
              (SELECT count(*) FROM recovery_codes WHERE user_id = 'u-fwd' AND code_hash = 'hash-fwd' AND used_at IS NULL) AS codes,
              (SELECT count(*) FROM revoked_sessions WHERE session_id = 's-fwd' AND expires_at = 4000000000) AS revoked"
if d1 migrations apply DB && d1 execute DB --command "$SEED"; then
  ok "first migration applied, a user, an event, a recovery code and a revoked session written"
  cp migrations/*.sql "$FWD/migrations/"
  if d1 migrations apply DB; then
    ok "remaining $((${#MIGRATIONS[@]} - 1)) migration(s) applied on top"
    if d1 execute DB --json --command "$CHECK" && tr -d ' \n' <"$WORK/out" | grep -q '"users":1,"events":1,"codes":1,"revoked":1'; then
      ok "all four rows still there, unchanged"
    else
      fail "rows lost or changed by a later migration: $(tr -d ' \n' <"$WORK/out" | grep -o '"users[^}]*')"
    fi
  else
    fail "later migrations do not apply on top of ${MIGRATIONS[0]}"
  fi
else
  fail "first migration or seed rows"
fi

step "SECRET_KEY check (scripts/check-secret-key.mjs, run by make dev and before a deploy)"
# Keys A and B with the ids src/domain/secrets.rs derives for them (its unit test
# key_ids_are_the_ones_scripts_check_secret_key_derives pins the same pairs).
KEY_A="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" KEY_A_ID="31602b26"
KEY_B="//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=" KEY_B_ID="0fa9749c"
KEYS="$WORK/keys"
vars() {
  printf 'SECRET_KEY="%s"\n' "$1" >"$KEYS/.dev.vars"
  if [ -n "${2:-}" ]; then printf 'SECRET_KEY_PREVIOUS="%s"\n' "$2" >>"$KEYS/.dev.vars"; fi
}
# Exit status of the checker for the keys of $KEYS/.dev.vars; its output in $WORK/out.
check_key() { node scripts/check-secret-key.mjs --persist-to "$KEYS/state" --vars "$KEYS/.dev.vars" >"$WORK/out" 2>&1; }
expect_key() {
  local want=$1 what=$2 got=0
  check_key || got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else fail "$what (exit $got, wanted $want)"; sed 's/^/        | /' "$WORK/out"; fi
}
mkdir -p "$KEYS"
if run wrangler d1 migrations apply DB --local --persist-to "$KEYS/state"; then
  vars "$KEY_B"
  expect_key 0 "no data keys yet: any key passes"
  # Data keys as a worker started with key A made them; a retired one under a lost key is ignored.
  if run wrangler d1 execute DB --local --persist-to "$KEYS/state" --command \
    "INSERT INTO data_keys (kid, purpose, wrapped, wrapped_by, created_at, retired_at) VALUES
       ('aaaa0001', 'totp', 'w', '$KEY_A_ID', 1, NULL), ('aaaa0002', 'recovery', 'w', '$KEY_A_ID', 1, NULL),
       ('aaaa0003', 'device', 'w', '$KEY_A_ID', 1, NULL), ('aaaa0000', 'totp', 'w', 'ffffffff', 1, 1)"; then
    vars "$KEY_A"
    expect_key 0 "data keys made under key A ($KEY_A_ID): key A passes"
    vars "$KEY_B"
    expect_key 1 "key B ($KEY_B_ID) over the same data fails"
    if grep -q "wrapped by key id $KEY_A_ID" "$WORK/out" && grep -q "key id $KEY_B_ID" "$WORK/out" && ! grep -qF "$KEY_B" "$WORK/out"; then
      ok "it names both key ids and no key"
    else
      fail "its explanation lacks a key id or holds a key"; sed 's/^/        | /' "$WORK/out"
    fi
    vars "$KEY_B" "$KEY_A"
    expect_key 0 "key B with key A as SECRET_KEY_PREVIOUS (a rotation) passes"
    vars "not-a-key"
    expect_key 2 "a malformed key cannot be checked"
  else
    fail "planting data keys"
  fi
else
  fail "migrations for the SECRET_KEY check"
fi

echo
echo "deploy-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
