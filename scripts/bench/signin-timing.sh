# signin_timing_rows: same time, same answer (SPEC §5.7): a wrong password for an unknown e-mail
# and for a known one, at c=1, in short wrk rounds alternating in ABBA order. Writes into
# target/bench/ timing-unknown.us and timing-known.us (one latency in µs per answer), the
# timing_* facts (rounds, statuses per kind) and the two rows.tsv lines made from them.

# An unknown e-mail is a never-registered address per request; a known one the seeded accounts of
# timing-emails.txt (seed.sh), the next one per request. ABBA order makes machine noise and drift
# hit both rows alike; medians over all rounds' samples (bench/wrk/login-timing.lua). Each account
# gets at most LOCKOUT_THRESHOLD − 2 wrong passwords in the whole row (a lock answers 429 without
# password work); each request has its own CF-Connecting-IP, so a per-IP limit of failed sign-ins
# cannot answer 429 either. Any answer but 401 fails the verdict.
signin_timing_rows() {
  local per_account lockout_threshold r kind
  TIMING_ROUNDS="${BENCH_TIMING_ROUNDS:-8}" # rounds per row
  TIMING_ROUND_SECONDS=$(((SECONDS_PER_ROW * 3 + TIMING_ROUNDS - 1) / TIMING_ROUNDS))
  lockout_threshold=$(sed -n 's/^LOCKOUT_THRESHOLD = "\([0-9]*\)".*/\1/p' "$CONFIG" | head -1)
  per_account=$((${lockout_threshold:-5} - 2))
  [ "$per_account" -ge 1 ] || per_account=1
  TIMING_MAX=$(($(wc -l <"$TIMING_EMAILS") * per_account / TIMING_ROUNDS)) # requests per round, both rows
  [ "$TIMING_MAX" -ge 1 ] || TIMING_MAX=1
  WRONG_PASSWORD="Wrong-Lantern-42-c-$RUN!"
  step "sign-in timing: unknown vs known e-mail, wrong password, c=1: $TIMING_ROUNDS rounds of ${TIMING_ROUND_SECONDS} s per row (≤ $TIMING_MAX requests a round, ≤ $per_account per account)"
  : >"$OUT/timing-unknown.us"
  : >"$OUT/timing-known.us"
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
}

# Per kind over the rounds: the next request's index, the answers counted; wrk's clock (ffi or not).
declare -gA T_SEQ=([unknown]=0 [known]=0) T_401=([unknown]=0 [known]=0) T_429=([unknown]=0 [known]=0) \
  T_OTHER=([unknown]="" [known]="") T_SOCK=([unknown]=0 [known]=0)
T_CLOCK=""
timing_round() { # timing_round KIND: one round, appends samples to timing-KIND.us and counts
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
