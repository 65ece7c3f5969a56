#!/usr/bin/env bash
# `make bench` (SPEC §7): the release worker in local workerd (`wrangler dev`, prebuilt build/) on
# port 8795 with fresh state, users and sessions seeded through the API, load from `wrk` on
# loopback at concurrency 1 and 16. Prints one table and writes it into BENCHMARKS.md between the
# bench markers (the notes around them are kept). The worker is started, awaited and stopped by
# scripts/lib/worker.sh; facts, requests through the API and wrk rows by scripts/bench/lib.sh;
# rows, verdicts and the table come from bench/report.mjs, which reads what this script leaves in
# target/bench/ (rows.tsv, ops.tsv, facts.txt, worker-1.log).
# Env: BENCH_SECONDS (per row, default 5);
# BENCH_TIMING_ROUNDS (rounds per sign-in timing row, default 8), BENCH_TIMING_ACCOUNTS (accounts
# seeded for the known-e-mail row, default 200), BENCH_SIGNIN_BASELINE (ms; default: the pinned
# "Sign-in baseline:" line of BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/worker.sh
source scripts/bench/lib.sh
export PATH="$HOME/.cargo/bin:$PATH"

command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup.sh test"; exit 1; }

# The bench runs a snapshot of the prebuilt build/ with a config without [build] (others edit the
# sources and rebuild concurrently; wrangler dev would restart the worker), in OUT.
worker_prepare "$OUT"
# The sign-in baseline is read from the BENCHMARKS.md this run starts with (it is rewritten at the end).
[ ! -f BENCHMARKS.md ] || cp BENCHMARKS.md "$OUT/BENCHMARKS.previous.md"
: >"$FACTS"
: >"$ROWS"
trap worker_stop EXIT

MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
fact machine "$MACHINE"
fact load_before "$LOAD_BEFORE"
fact seconds_per_row "$SECONDS_PER_ROW"
step "machine: $MACHINE; load average $LOAD_BEFORE"

step "fresh local D1, worker on $BASE"
worker_migrate "$CONFIG" "$STATE"
start_worker

step "seeding users and sessions through the API"
TOKEN_ONE=$(signup "one-$RUN@example.com" "$PASSWORD")
FIFTY_EMAIL="fifty-$RUN@example.com"
TOKEN_FIFTY=$(signup "$FIFTY_EMAIL" "$PASSWORD")
for _ in $(seq 2 50); do login "$FIFTY_EMAIL" "$PASSWORD" >/dev/null; done
SIGNIN_EMAIL="signin-$RUN@example.com"
SIGNIN_EMAILS="$OUT/signin-emails.txt" # one account per wrk thread (c=1: only the first)
: >"$SIGNIN_EMAILS"
for i in $(seq 1 16); do
  email=$SIGNIN_EMAIL
  [ "$i" = 1 ] || email="signin$i-$RUN@example.com"
  signup "$email" "$PASSWORD" >/dev/null
  echo "$email" >>"$SIGNIN_EMAILS"
done
# One user per wrk thread, and other users for the c=1 row than for the c=16 row: a row may end
# with a change applied whose answer wrk never read, and the next row would start from the
# wrong password.
USERS="$OUT/password-users.txt"
USERS_ONE="$OUT/password-user-c1.txt"
: >"$USERS"
for i in $(seq 1 16); do
  echo "$(signup "pw$i-$RUN@example.com" "$PASSWORD") $PASSWORD" >>"$USERS"
done
echo "$(signup "pw0-$RUN@example.com" "$PASSWORD") $PASSWORD" >"$USERS_ONE"
[ -n "$TOKEN_ONE" ] && [ -n "$TOKEN_FIFTY" ] || { echo "seeding failed (no session cookie)"; exit 1; }
# Accounts for the known-e-mail timing row (a wrong password each; rotated so none gets locked).
# Only those whose sign-up answered 201 are used: a missing one would be an unknown e-mail.
TIMING_ACCOUNTS="${BENCH_TIMING_ACCOUNTS:-200}"
TIMING_EMAILS="$OUT/timing-emails.txt"
step "seeding $TIMING_ACCOUNTS accounts for the sign-in timing rows"
# The n-th account signs up from the IPv6 /64 2001:db8:66:n::/64 (n is decimal digits: valid hex).
seq 1 "$TIMING_ACCOUNTS" |
  xargs -P 2 -I{} curl -s -o /dev/null -w "known{}-$RUN@example.com %{http_code}\n" -X POST \
    -H 'Content-Type: application/json' -H "Origin: $BASE" -H "CF-Connecting-IP: 2001:db8:66:{}::1" \
    -d "{\"email\":\"known{}-$RUN@example.com\",\"password\":\"$PASSWORD\",\"name\":\"Bench Person\"}" "$BASE/api/auth/signup" |
  sed -n 's/ 201$//p' >"$TIMING_EMAILS"
[ -s "$TIMING_EMAILS" ] || { echo "seeding the timing accounts failed (no 201)"; exit 1; }
step "$(wc -l <"$TIMING_EMAILS") timing accounts"
count=$(curl -s -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions" | grep -o '"id"' | wc -l)
step "user with 50 sessions lists $count"

# The static floor: a file from public/ (a stylesheet if there is one, else the sign-in page).
STATIC_PATH=$(cd public && { ls -1 ./*.css ./*/*.css 2>/dev/null || true; } | head -1 | sed 's|^\.||')
[ -n "$STATIC_PATH" ] || { [ -f public/login.html ] && STATIC_PATH=/login; } || STATIC_PATH=/
fact static_row "static asset $STATIC_PATH"
step "load: $SECONDS_PER_ROW s per row, c=1 and c=16 (static floor: $STATIC_PATH)"

BENCH_PATH_OF_ROW=$STATIC_PATH measure "static asset $STATIC_PATH"
# The worker floor (SPEC §7): a request the worker answers itself without storage (404 under /api/).
BENCH_EXPECT_STATUS=404 BENCH_PATH_OF_ROW=/api/no-such-route measure "worker floor (404 under /api/)"
BENCH_PATH_OF_ROW=/api/me measure "GET /api/me" BENCH_COOKIE="$TOKEN_ONE"
BENCH_PATH_OF_ROW=/api/security measure "GET /api/security" BENCH_COOKIE="$TOKEN_ONE"
if has_route GET /api/security/sessions; then
  BENCH_PATH_OF_ROW=/api/security/sessions measure "GET /api/security/sessions (1)" BENCH_COOKIE="$TOKEN_ONE"
  BENCH_PATH_OF_ROW=/api/security/sessions measure "GET /api/security/sessions (50)" BENCH_COOKIE="$TOKEN_FIFTY"
else
  not_yet "GET /api/security/sessions (1)"
  not_yet "GET /api/security/sessions (50)"
fi
# What the storage calls of those rows cost alone on this machine: bench/storage-alone.mjs answers
# them in plain JS on the same bindings and state (KV get ∥ D1 query; ∥ KV list and D1 batch),
# and its own 404, so the rows above can be read against the local simulators' share.
step "storage alone (bench/storage-alone.mjs), c=1"
worker_stop
cp bench/storage-alone.mjs "$OUT/build/storage-alone.mjs"
sed 's|^main = .*|main = "build/storage-alone.mjs"|' "$CONFIG" >"$OUT/wrangler-storage-alone.toml"
start_worker "$OUT/wrangler-storage-alone.toml"
curl -s -o /dev/null -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/bench/storage/me"
BENCH_EXPECT_STATUS=404 BENCH_PATH_OF_ROW=/bench/storage/floor row "storage alone (JS): no storage, 404" 1
BENCH_PATH_OF_ROW=/bench/storage/me row "storage alone (JS): KV get ∥ D1 query, as GET /api/me" 1 \
  BENCH_COOKIE="$TOKEN_ONE"
BENCH_PATH_OF_ROW=/bench/storage/list row "storage alone (JS): KV get ∥ KV list ∥ D1 batch, as the session list (1)" 1 \
  BENCH_COOKIE="$TOKEN_ONE"
BENCH_PATH_OF_ROW=/bench/storage/list row "storage alone (JS): KV get ∥ KV list ∥ D1 batch, as the session list (50)" 1 \
  BENCH_COOKIE="$TOKEN_FIFTY"
worker_stop
start_worker
curl -s -o /dev/null -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/me"

# argon2 rows: at c=16 one round of requests takes seconds on 2 cores, so these rows run 3× longer.
# Each wrk connection signs in its own account (at c=1 the one it always was): parallel sign-ins
# of one account are refused by design (SPEC §5.7: the attempt is counted before the check).
ROW_SECONDS=$((SECONDS_PER_ROW * 3)) BENCH_PATH_OF_ROW=/api/auth/login measure "sign-in (password)" BENCH_METHOD=POST \
  BENCH_EMAILS="$SIGNIN_EMAILS" BENCH_BODY="{\"email\":\"{email}\",\"password\":\"$PASSWORD\"}"

# Same time, same answer (SPEC §5.7): a wrong password for an unknown e-mail (a never-registered
# address per request) and for a known one (the seeded accounts, the next one per request), at c=1,
# in short rounds that alternate unknown/known in ABBA order so machine noise and drift hit both
# rows alike; medians over all rounds' samples (bench/wrk/login-timing.lua). Each account gets at
# most LOCKOUT_THRESHOLD − 2 wrong passwords in the whole row (a lock answers 429 without password
# work); each request has its own CF-Connecting-IP, so a per-IP limit of failed sign-ins cannot
# answer 429 either. Any answer but 401 fails the verdict.
TIMING_ROUNDS="${BENCH_TIMING_ROUNDS:-8}" # rounds per row
TIMING_ROUND_SECONDS=$(((SECONDS_PER_ROW * 3 + TIMING_ROUNDS - 1) / TIMING_ROUNDS))
LOCKOUT_THRESHOLD=$(sed -n 's/^LOCKOUT_THRESHOLD = "\([0-9]*\)".*/\1/p' "$CONFIG" | head -1)
PER_ACCOUNT=$((${LOCKOUT_THRESHOLD:-5} - 2))
[ "$PER_ACCOUNT" -ge 1 ] || PER_ACCOUNT=1
TIMING_MAX=$(($(wc -l <"$TIMING_EMAILS") * PER_ACCOUNT / TIMING_ROUNDS)) # requests per round, both rows
[ "$TIMING_MAX" -ge 1 ] || TIMING_MAX=1
WRONG_PASSWORD="Wrong-Lantern-42-c-$RUN!"
step "sign-in timing: unknown vs known e-mail, wrong password, c=1: $TIMING_ROUNDS rounds of ${TIMING_ROUND_SECONDS} s per row (≤ $TIMING_MAX requests a round, ≤ $PER_ACCOUNT per account)"
: >"$OUT/timing-unknown.us"
: >"$OUT/timing-known.us"
declare -A T_SEQ=([unknown]=0 [known]=0) T_401=([unknown]=0 [known]=0) T_429=([unknown]=0 [known]=0) \
  T_OTHER=([unknown]="" [known]="") T_SOCK=([unknown]=0 [known]=0)
T_CLOCK=""
timing_round() { # timing_round KIND: one round, appends samples and counts
  local kind=$1 ip_base=0 result issued answered s401 s429 other sock nsamples clock
  [ "$kind" = known ] && ip_base=$((1 << 20))
  result=$(BENCH_KIND="$kind" BENCH_EMAILS="$TIMING_EMAILS" BENCH_SEQ="${T_SEQ[$kind]}" BENCH_IP_BASE=$ip_base \
    BENCH_MAX="$TIMING_MAX" BENCH_PASSWORD="$WRONG_PASSWORD" BENCH_RUN="$RUN" BENCH_ORIGIN="$BASE" \
    BENCH_SAMPLES="$OUT/timing-$kind.us" wrk -t 1 -c 1 -d "${TIMING_ROUND_SECONDS}s" --timeout 10s \
    -s bench/wrk/login-timing.lua "$BASE/api/auth/login" | grep '^RESULT' || true)
  [ -n "$result" ] || { echo "sign-in timing: wrk printed no RESULT ($kind round)" >&2; return 1; }
  read -r issued answered s401 s429 other sock nsamples clock < <(sed -E 's/[a-z_0-9]+=//g; s/RESULT //' <<<"$result")
  T_SEQ[$kind]=$((T_SEQ[$kind] + issued))
  T_401[$kind]=$((T_401[$kind] + s401))
  T_429[$kind]=$((T_429[$kind] + s429))
  [ "$other" = none ] || T_OTHER[$kind]="${T_OTHER[$kind]:+${T_OTHER[$kind]},}$other"
  T_SOCK[$kind]=$((T_SOCK[$kind] + sock))
  T_CLOCK=$clock
  printf '    %-7s answered %3d (401: %d, 429: %d, other: %s), samples %d\n' "$kind" "$answered" "$s401" "$s429" "$other" "$nsamples" >&2
}
sleep 3 # the c=16 row's last requests may still be running in workerd
for r in $(seq 1 "$TIMING_ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then timing_round unknown; timing_round known; else timing_round known; timing_round unknown; fi
done
[ "$T_CLOCK" = ffi ] || step "note: wrk's Lua has no ffi: the timing rows use wrk's own (corrected) latency histogram"
fact timing_rounds "$TIMING_ROUNDS"
fact timing_round_seconds "$TIMING_ROUND_SECONDS"
for kind in unknown known; do # other statuses are "STATUSxCOUNT,..." as login-timing.lua prints them
  fact "timing_${kind}_401" "${T_401[$kind]}"
  fact "timing_${kind}_429" "${T_429[$kind]}"
  fact "timing_${kind}_other" "${T_OTHER[$kind]}"
  fact "timing_${kind}_sock" "${T_SOCK[$kind]}"
  node bench/report.mjs timing-row "$kind" "$OUT" | tee -a "$ROWS" >&2 # from all rounds' samples
done

# A TOTP code is accepted once per 30 s step and account (SPEC §5.4): not loadable with wrk, so
# 20 accounts with two-factor on sign in once each; the code step is timed (bench/totp-sign-in.mjs).
if has_route POST /api/auth/login/two-factor; then
  step "sign-in second step (TOTP), 20 accounts"
  node bench/totp-sign-in.mjs "$BASE" 20 | node bench/report.mjs calls-row "sign-in second step (TOTP code)" |
    tee -a "$ROWS" >&2
else
  not_yet "sign-in second step (TOTP)"
fi
for c in 1 16; do
  users=$USERS
  [ "$c" = 1 ] && users=$USERS_ONE
  ROW_SECONDS=$((SECONDS_PER_ROW * 3)) BENCH_PATH_OF_ROW=/api/security/password \
    row "password change" "$c" BENCH_METHOD=PUT BENCH_USERS="$users"
done

# revoke-others with 50 sessions: each call leaves 0 others, so it is timed call by call, with 50
# fresh sessions (and a fresh "sudo" sign-in) before each.
if has_route POST /api/security/sessions/revoke-others; then
  step "revoke-others with 50 sessions, 9 calls"
  samples=()
  for _ in $(seq 1 9); do
    token=$(login "$FIFTY_EMAIL" "$PASSWORD")
    for _ in $(seq 2 50); do login "$FIFTY_EMAIL" "$PASSWORD" >/dev/null; done
    samples+=("$(curl -s -o "$OUT/revoke.json" -w '%{http_code} %{time_total}' -X POST -H "Origin: $BASE" \
      -H "Cookie: __Host-session=$token" "$BASE/api/security/sessions/revoke-others")")
  done
  printf '%s\n' "${samples[@]}" | node bench/report.mjs calls-row "revoke-others (50 sessions)" | tee -a "$ROWS" >&2
  tail -c 200 "$OUT/revoke.json" >&2; echo >&2
else
  printf 'revoke-others (50 sessions)\t1\tnot yet\t\t\t\n' >>"$ROWS"
fi

# A passkey sign-in: options, then the assertion (its challenge serves once, so not a wrk row).
if has_route POST /api/auth/passkey/login; then
  step "passkey sign-in (options + assertion), 30 ceremonies one at a time"
  node bench/passkey-sign-in.mjs "$BASE" 30 | node bench/report.mjs calls-row "sign-in (passkey: options + assertion)" |
    tee -a "$ROWS" >&2
fi

# Its log (worker-1.log) has the worker's own duration_ms for sign-ins and the statuses it answered.
worker_stop

# --- storage operations per request, counted ------------------------------------------------------
# The same worker behind bench/count-ops.mjs, which counts D1/KV calls at the binding boundary and
# answers them in X-Storage-Ops; one request at a time, on the state seeded above.
step "storage operations per request (bench/count-ops.mjs)"
cp bench/count-ops.mjs "$OUT/build/count-ops.mjs"
sed 's|^main = .*|main = "build/count-ops.mjs"|' "$CONFIG" >"$OUT/wrangler-ops.toml"
start_worker "$OUT/wrangler-ops.toml"
OPS="$OUT/ops.tsv"
: >"$OPS"
ops() { # ops NAME curl-args...
  local name=$1 header status
  shift
  curl -s -D "$OUT/ops-headers" -o /dev/null -H "Origin: $BASE" "$@"
  header=$(tr -d '\r' <"$OUT/ops-headers" | sed -n 's/^[Xx]-[Ss]torage-[Oo]ps: //p')
  read -r _ status _ <"$OUT/ops-headers" || true
  printf '%s (%s)\t%s\n' "$name" "$status" "${header:-served by static assets, the worker does not run}" | tee -a "$OPS" >&2
}
ops "static asset $STATIC_PATH" "$BASE$STATIC_PATH"
OPS_EMAIL="ops-$RUN@example.com"
ops "sign-up" -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$OPS_EMAIL\",\"password\":\"$PASSWORD\",\"name\":\"Bench Person\"}" "$BASE/api/auth/signup"
ops "sign-in (password)" -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$OPS_EMAIL\",\"password\":\"$PASSWORD\"}" "$BASE/api/auth/login"
ops "sign-in, wrong password" -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$OPS_EMAIL\",\"password\":\"Wrong-$PASSWORD\"}" "$BASE/api/auth/login"
ops "sign-in, unknown e-mail" -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"nobody-ops-$RUN@example.com\",\"password\":\"Wrong-$PASSWORD\"}" "$BASE/api/auth/login"
ops "GET /api/me" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/me"
ops "GET /api/security" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security"
ops "GET /api/security/sessions (1)" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security/sessions"
for _ in $(seq 2 50); do login "$FIFTY_EMAIL" "$PASSWORD" >/dev/null; done
TOKEN_FIFTY=$(login "$FIFTY_EMAIL" "$PASSWORD") # revoke-others above ended the earlier ones
ops "GET /api/security/sessions (50)" -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions"
has_route GET /api/security/events &&
  ops "GET /api/security/events" -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/events"
OPS_TOKEN=$(login "$OPS_EMAIL" "$PASSWORD")
ops "password change (signs out 2 others)" -X PUT -H 'Content-Type: application/json' -H "Cookie: __Host-session=$OPS_TOKEN" \
  -d "{\"current_password\":\"$PASSWORD\",\"new_password\":\"${PASSWORD/-a-/-b-}\"}" "$BASE/api/security/password"
has_route POST /api/security/sessions/revoke-others &&
  ops "revoke-others (50 sessions)" -X POST -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions/revoke-others"
has_route POST /api/auth/passkey/login && node bench/passkey-sign-in.mjs "$BASE" 1 --ops | tee -a "$OPS" >&2
has_route POST /api/auth/login/two-factor && node bench/totp-sign-in.mjs "$BASE" 1 --ops | tee -a "$OPS" >&2
has_route GET /api/security/passkeys &&
  ops "GET /api/security/passkeys" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security/passkeys"
CONFIRM_TOKEN=$(login "one-$RUN@example.com" "$PASSWORD")
ops "confirm it's you (password)" -X POST -H 'Content-Type: application/json' \
  -H "Cookie: __Host-session=$CONFIRM_TOKEN" -d "{\"password\":\"$PASSWORD\"}" "$BASE/api/auth/confirm"
ops "sign-out" -X POST -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/auth/logout"
worker_stop

# --- cold start ------------------------------------------------------------------------------------
step "cold start: launch of wrangler dev to first answer, 3 runs each"
cold() { # cold [CONFIG]: median launch-to-first-answer ms (COLD_MS) and first request ms (FIRST_MEDIAN)
  local runs=() firsts=()
  for _ in 1 2 3; do
    rm -rf "$STATE"
    mkdir -p "$STATE"
    start_worker "$@"
    runs+=("$STARTUP_MS")
    firsts+=("${FIRST_MS:-0}")
    worker_stop
  done
  COLD_MS=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  FIRST_MEDIAN=$(printf '%s\n' "${firsts[@]}" | sort -n | sed -n 2p)
}
cold
fact cold_worker "$COLD_MS"
fact first_worker "$FIRST_MEDIAN"
# The static-only worker, over the same snapshot of public/ as the worker (OUT/public).
mkdir -p "$OUT/static-worker"
cp bench/static-worker/index.js "$OUT/static-worker/"
sed 's|^directory = .*|directory = "../public"|' bench/static-worker/wrangler.toml >"$OUT/static-worker/wrangler.toml"
cold "$OUT/static-worker/wrangler.toml"
fact cold_static "$COLD_MS"
fact first_static "$FIRST_MEDIAN"

# --- argon2id alone in workerd ----------------------------------------------------------------------
# The argon2 crate as bench/argon2-wasm builds it (opt-level 3, as the worker's argon2), in a worker
# that only hashes: 15 sequential requests after a warm-up; report.mjs subtracts the worker floor.
step "argon2id alone in workerd (bench/argon2-wasm/worker), 15 requests"
(cd bench/argon2-wasm && CARGO_TARGET_DIR="$OUT/argon2-wasm" cargo build -q --release --target wasm32-unknown-unknown)
mkdir -p "$OUT/argon2-worker"
cp bench/argon2-wasm/worker/index.js bench/argon2-wasm/worker/wrangler.toml "$OUT/argon2-worker/"
cp "$OUT/argon2-wasm/wasm32-unknown-unknown/release/argon2_wasm_bench.wasm" "$OUT/argon2-worker/argon2.wasm"
rm -rf "$STATE"
mkdir -p "$STATE"
start_worker "$OUT/argon2-worker/wrangler.toml"
curl -s -o /dev/null "$BASE/" # warm-up: V8 tiers the hash up
fact argon2_workerd_ms "$(for _ in $(seq 1 15); do curl -s -o /dev/null -w '%{time_total}\n' "$BASE/"; done |
  sort -n | sed -n 8p | awk '{ printf "%.2f", $1 * 1000 }')"
worker_stop

# --- sizes, native argon2 ----------------------------------------------------------------------
fact wasm_raw "$(stat -c %s "$OUT/build/index_bg.wasm")"
fact wasm_gz "$(gzip -9 -c "$OUT/build/index_bg.wasm" | wc -c)"
step "native argon2id (cargo run --release --example argon2_native)"
fact native_ms "$(cargo run -q --release --example argon2_native 2>/dev/null | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')"

# --- report: bench/report.mjs judges the targets, prints the table and writes it into ------------
# BENCHMARKS.md between the markers (created with them if missing).
fact measured_at "$(date -u '+%Y-%m-%d %H:%M UTC')"
fact commit "$(git rev-parse --short HEAD)"
fact dirty "$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock && echo 0 || echo 1)"
fact load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
echo
node bench/report.mjs report "$OUT" BENCHMARKS.md
step "written into BENCHMARKS.md"
