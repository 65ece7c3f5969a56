#!/usr/bin/env bash
# `make bench` (SPEC §7): the release worker in local workerd (`wrangler dev`, prebuilt build/) on
# port 8795 with fresh state, users and sessions seeded through the API, load from `wrk` on
# loopback at concurrency 1 and 16. Prints one table and writes it into BENCHMARKS.md between the
# bench markers (the notes around them are kept). This driver runs the jobs in order, each in a file
# of scripts/bench/ (helpers: scripts/bench/lib.sh; worker start and stop: scripts/lib/worker.sh);
# they leave what they measure in target/bench/ (rows.tsv, ops.tsv, facts.txt, worker-1.log, …),
# from which bench/report.mjs makes the table and its verdicts.
# Env: BENCH_SECONDS (per row, default 5);
# BENCH_TIMING_ROUNDS (rounds per sign-in timing row, default 8), BENCH_TIMING_ACCOUNTS (accounts
# seeded for the known-e-mail row, default 200), BENCH_SIGNIN_BASELINE (ms; default: the pinned
# "Sign-in baseline:" line of BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/worker.sh
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/bench/lib.sh
# The job files only define functions; the calls below run the jobs, in this order.
for job in run-facts seed read-rows storage-alone signin signin-timing account-changes ops startup argon2 sizes; do
  source "scripts/bench/$job.sh"
done
command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup.sh test"; exit 1; }

# The bench runs a snapshot of the prebuilt build/ with a config without [build] (others edit the
# sources and rebuild concurrently; wrangler dev would restart the worker), in OUT.
worker_prepare "$OUT"
# The sign-in baseline is read from the BENCHMARKS.md this run starts with (it is rewritten at the end).
[ ! -f BENCHMARKS.md ] || cp BENCHMARKS.md "$OUT/BENCHMARKS.previous.md"
: >"$FACTS"
: >"$ROWS"
trap worker_stop EXIT
facts_before

step "fresh local D1, worker on $BASE"
worker_migrate "$CONFIG" "$STATE"
start_worker # worker-1.log: the statuses the report counts (seeding and the read rows)
seed
read_rows
storage_alone_rows # stops the worker for bench/storage-alone.mjs, then starts it again
signin_password_rows
signin_timing_rows
signin_totp_row
password_change_rows
revoke_others_row
signin_passkey_row
worker_stop
count_ops
cold_start
argon2_in_workerd
sizes
argon2_native

# The report: bench/report.mjs judges the targets, prints the table and writes it into BENCHMARKS.md
# between the markers (created with them if missing).
facts_after
echo
node bench/report.mjs report "$OUT" BENCHMARKS.md
step "written into BENCHMARKS.md"
