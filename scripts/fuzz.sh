#!/usr/bin/env bash
# API fuzzing with Schemathesis against the worker's own OpenAPI document (/api/openapi.json),
# signed in, with the worker's Origin. Checks: no server error, every response conforms to its
# documented schema, every status is a documented one. Bounded: a few minutes on 2 cores.
#   scripts/fuzz.sh http://127.0.0.1:8790
# Two runs, each with its own fresh account and session:
#   1. every operation that leaves the session alive;
#   2. each one that may end its session (sign-out, ending sessions, password change, turning
#      2FA off) on its own, with a throwaway account, so no run goes on signed out.
# Every request comes from a client address of its own (scripts/fuzz_hooks.py): the worker's
# per-address limits would otherwise answer most generated sign-ups and passkey options 429.
# Exits non-zero on any failure; reports go to target/fuzz-<port>/.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_URL="${1:?usage: scripts/fuzz.sh BASE_URL}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
REPORT_DIR="$PWD/target/fuzz-${BASE_URL##*:}"
rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"

command -v schemathesis >/dev/null || { echo "schemathesis is not installed: scripts/setup.sh test"; exit 1; }
export SCHEMATHESIS_HOOKS="$PWD/scripts/fuzz_hooks.py"

# Signs up a fresh account (from an address of its own) and prints its session token.
session_token() {
  local tag body headers
  tag="$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  body=$(printf '{"email":"fuzz.%s@example.com","password":"Blue-Harbor-%s-7!","name":"Schema Tester"}' "$tag" "$tag")
  headers="$(curl -sS -o /dev/null -D - -X POST "$BASE_URL/api/auth/signup" \
    -H "Origin: $BASE_URL" -H 'Content-Type: application/json' \
    -H "CF-Connecting-IP: 10.255.$((RANDOM % 256)).$((RANDOM % 254 + 1))" --data "$body")"
  printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: __Host-session=\([^;]*\);.*/\1/p' | head -n 1
}

# Operations that can end the session they run with.
ENDING='^(POST /api/auth/logout|DELETE /api/security/sessions/\{id\}|POST /api/security/sessions/revoke-others|PUT /api/security/password|POST /api/security/two-factor/disable)$'

run() {
  local name="$1" token="$2"
  shift 2
  [ -n "$token" ] || { echo "fuzz: could not sign up a user on $BASE_URL"; exit 1; }
  local log="$REPORT_DIR/$name.log"
  mkdir -p "$REPORT_DIR"
  for attempt in 1 2; do
    echo "==> schemathesis ($name): $MAX_EXAMPLES examples per operation"
    if schemathesis run "$BASE_URL/api/openapi.json" \
      --url "$BASE_URL" \
      --checks not_a_server_error,response_schema_conformance,status_code_conformance \
      --header "Origin: $BASE_URL" \
      --header "Cookie: __Host-session=$token" \
      --max-examples "$MAX_EXAMPLES" \
      --request-timeout 20 \
      --workers 2 \
      --seed "${FUZZ_SEED:-20260501}" \
      --no-color \
      --report junit --report-dir "$REPORT_DIR/$name" \
      "$@" 2>&1 | tee "$log"; then
      return 0
    fi
    # Schemathesis' own crash (a "Runtime Error" in its generator) is not a finding about the
    # worker: run once more. Any real finding fails at once.
    if [ "$attempt" = 1 ] && grep -q "Runtime Error" "$log" &&
      ! grep -qE "Server error|Response violates schema|Undocumented HTTP status|API rejected schema-compliant" "$log"; then
      echo "==> schemathesis crashed internally (no finding); running $name once more"
      continue
    fi
    return 1
  done
  return 1
}

run signed-in "$(session_token)" --exclude-name-regex "$ENDING"
for operation in "POST /api/auth/logout" "DELETE /api/security/sessions/{id}" \
  "POST /api/security/sessions/revoke-others" "PUT /api/security/password" "POST /api/security/two-factor/disable"; do
  run "$(printf '%s' "$operation" | tr -c 'a-zA-Z0-9\n' '-')" "$(session_token)" --include-name "$operation"
done
echo "==> schemathesis: no server error, no schema or status violation"
