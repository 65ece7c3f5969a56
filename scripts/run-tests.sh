#!/usr/bin/env bash
# Starts the prebuilt worker once, in real workerd with fresh local D1 and KV, and runs the API
# tests, the API fuzzing and then the browser tests against it over HTTP. The worker's log is
# checked for panics. First, the bench report's unit test (no worker); last, the SECRET_KEY
# rotation phase (the worker restarted three times over one state, tests/rotation/), the
# wrong-key phase (key A, a wrong key, A again; tests/api/wrong_key.rs) and the mail-outage phase
# (a send_email binding that refuses every send). Env:
# TEST_PORT (default 8790), API_TEST_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/worker.sh

PORT="${TEST_PORT:-8790}"
STATE="$PWD/target/test-state-$PORT"
LOG="$PWD/target/test-worker-$PORT.log"
RUN_DIR="$PWD/target/test-run-$PORT"
BASE_URL="http://127.0.0.1:$PORT"

# Every suite runs even if an earlier one failed; the script fails if any did.
failed=()
node --test bench/report.test.mjs || failed+=("bench report unit test")

worker_prepare "$RUN_DIR"
worker_migrate "$RUN_DIR/wrangler.toml" "$STATE"
trap worker_stop EXIT
# Short cookies of device-bound sessions last 5 s (600 in production): the tests see one run out.
worker_start "$RUN_DIR/wrangler.toml" "$PORT" "$STATE" "$LOG" --test-scheduled --var BOUND_COOKIE_SECONDS:5
worker_wait "$PORT" 401 120
echo "==> worker up on $BASE_URL"

export WEMASY_BASE_URL="$BASE_URL" WEMASY_STATE_DIR="$STATE" WEMASY_WORKER_LOG="$LOG"
cargo test --test api -- --test-threads "${API_TEST_THREADS:-2}" || failed+=("API tests")
scripts/fuzz.sh "$BASE_URL" || failed+=("API fuzzing")
# The browser tests, file by file. A file that fails is run once more, and only a second failure
# fails the suite: under load the dev proxy in front of workerd has held a response the worker
# had answered in 93 ms for 31 s (its log: `"duration_ms":93` for the request, wrangler's line
# `(31775ms)`), and a page then waits past its test's limits. Every such retry is printed, with
# the slow requests wrangler logged during the failed run.
browser_tests() {
  local file mark status=0
  for file in tests/e2e/*.test.mjs; do
    mark=$(wc -l <"$LOG")
    node --test --test-timeout=300000 "$file" && continue
    echo "==> $file failed; requests the dev proxy held for 10 s or more meanwhile:"
    tail -n "+$((mark + 1))" "$LOG" | grep -E '\([0-9]{5,}ms\)' || echo "(none)"
    echo "==> $file: running it once more"
    if node --test --test-timeout=300000 "$file"; then
      echo "==> RETRIED: $file passed on its second run (its first failure is above)"
    else
      status=1
    fi
  done
  return $status
}
if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  browser_tests || failed+=("browser tests")
fi

if grep -nE "panicked|RuntimeError|Uncaught" "$LOG"; then
  failed+=("worker log (panic or uncaught error)")
else
  echo "==> worker log clean"
fi
worker_stop

# Rotating SECRET_KEY (issue 16): the worker restarted over one local D1/KV state with key A,
# then SECRET_KEY=B + SECRET_KEY_PREVIOUS=A, then B alone; tests/rotation/ checks each stage.
rotation_phase() {
  local dir="$PWD/target/test-rotation-$PORT" state="$PWD/target/test-rotation-state-$PORT"
  local key_a key_b stage vars log
  key_a=$(head -c 32 /dev/urandom | base64)
  key_b=$(head -c 32 /dev/urandom | base64)
  worker_prepare "$dir" || return 1
  worker_migrate "$dir/wrangler.toml" "$state" || return 1
  rm -f "$dir/story.json"
  for stage in a b c; do
    case $stage in
      a) vars="SECRET_KEY=\"$key_a\"" ;;
      b) vars="SECRET_KEY=\"$key_b\"
SECRET_KEY_PREVIOUS=\"$key_a\"" ;;
      c) vars="SECRET_KEY=\"$key_b\"" ;;
    esac
    printf '%s\n' "$vars" >"$dir/.dev.vars"
    log="$PWD/target/test-rotation-worker-$PORT-$stage.log"
    worker_start "$dir/wrangler.toml" "$PORT" "$state" "$log" --test-scheduled
    worker_wait "$PORT" 401 120 || return 1
    echo "==> rotation stage $stage: worker up with $(cut -d= -f1 "$dir/.dev.vars" | tr '\n' ' ')"
    WEMASY_BASE_URL="http://127.0.0.1:$PORT" WEMASY_STATE_DIR="$state" WEMASY_WORKER_LOG="$log" ROTATION_STAGE=$stage ROTATION_STATE="$dir/story.json" \
      ROTATION_KEY_A="$key_a" cargo test --test rotation -- --nocapture || { worker_stop; return 1; }
    worker_stop
    if grep -nE '"status":5[0-9][0-9]|panicked|RuntimeError|Uncaught' "$log"; then
      echo "rotation stage $stage: the worker answered a 5xx or logged a panic (log: $log)" >&2
      return 1
    fi
  done
}
rotation_phase || failed+=("SECRET_KEY rotation end to end")

# A wrong SECRET_KEY (issue 21, point 7): the worker restarted over one local D1/KV state with key
# A, then with key C (which wraps none of the data keys), then with A again; the ignored API test
# attacks::a_wrong_secret_key_refuses_to_write_and_says_so checks each stage (tests/api/wrong_key.rs).
# Only under key C may the worker answer 5xx, and then only 503.
wrong_key_phase() {
  local dir="$PWD/target/test-wrong-key-$PORT" state="$PWD/target/test-wrong-key-state-$PORT"
  local key_a key_c stage log refused
  key_a=$(head -c 32 /dev/urandom | base64)
  key_c=$(head -c 32 /dev/urandom | base64)
  worker_prepare "$dir" || return 1
  worker_migrate "$dir/wrangler.toml" "$state" || return 1
  for stage in a wrong again; do
    if [ "$stage" = wrong ]; then
      printf 'SECRET_KEY="%s"\n' "$key_c" >"$dir/.dev.vars"
      refused='"status":50[0-24-9]'
    else
      printf 'SECRET_KEY="%s"\n' "$key_a" >"$dir/.dev.vars"
      refused='"status":5[0-9][0-9]'
    fi
    log="$PWD/target/test-wrong-key-worker-$PORT-$stage.log"
    worker_start "$dir/wrangler.toml" "$PORT" "$state" "$log" || return 1
    worker_wait "$PORT" 401 120 || return 1
    echo "==> wrong-key stage $stage: worker up"
    WEMASY_BASE_URL="http://127.0.0.1:$PORT" WEMASY_STATE_DIR="$state" WEMASY_WORKER_LOG="$log" \
      WRONG_KEY_STAGE=$stage WRONG_KEY_STATE="$dir/story.json" WRONG_KEY_A="$key_a" WRONG_KEY_C="$key_c" \
      cargo test --test api -- --ignored --exact attacks::a_wrong_secret_key_refuses_to_write_and_says_so --nocapture \
      || { worker_stop; return 1; }
    worker_stop
    if grep -nE "$refused|panicked|RuntimeError|Uncaught" "$log"; then
      echo "wrong-key stage $stage: the worker answered a 5xx it should not have or logged a panic (log: $log)" >&2
      return 1
    fi
  done
}
wrong_key_phase || failed+=("a wrong SECRET_KEY end to end")

# A mail outage (issue 23): the send_email binding refuses every address but one, as a binding
# error would; the ignored API test email::a_send_that_fails_is_retried_recorded_and_never_fails_the_request
# checks that the request succeeds, the send is retried twice and the dead letter is recorded.
mail_outage_phase() {
  local dir="$PWD/target/test-mail-outage-$PORT" state="$PWD/target/test-mail-outage-state-$PORT"
  local log="$PWD/target/test-mail-outage-worker-$PORT.log"
  worker_prepare "$dir" || return 1
  sed -i '0,/^name = "EMAIL"$/s//name = "EMAIL"\nallowed_destination_addresses = ["nobody@wemasy.invalid"]/' "$dir/wrangler.toml"
  grep -q 'allowed_destination_addresses' "$dir/wrangler.toml" || { echo "mail outage: config not restricted" >&2; return 1; }
  worker_migrate "$dir/wrangler.toml" "$state" || return 1
  worker_start "$dir/wrangler.toml" "$PORT" "$state" "$log" || return 1
  worker_wait "$PORT" 401 120 || return 1
  echo "==> mail-outage phase: worker up"
  WEMASY_BASE_URL="http://127.0.0.1:$PORT" WEMASY_STATE_DIR="$state" WEMASY_WORKER_LOG="$log" \
    cargo test --test api -- --ignored --exact email::a_send_that_fails_is_retried_recorded_and_never_fails_the_request \
    || { worker_stop; return 1; }
  worker_stop
  if grep -nE '"status":5[0-9][0-9]|panicked|RuntimeError|Uncaught' "$log"; then
    echo "mail-outage phase: a request failed or the worker panicked (log: $log)" >&2
    return 1
  fi
}
mail_outage_phase || failed+=("a mail outage end to end")
if [ ${#failed[@]} -gt 0 ]; then
  printf '==> FAILED: %s\n' "${failed[@]}"
  exit 1
fi
