# The sign-in rows (rows.tsv lines in target/bench/): the password sign-in under wrk at c=1 and c=16
# (argon2id), and the steps wrk cannot loop, timed call by call: the TOTP second step
# (bench/totp-sign-in.mjs, 20 accounts) and the passkey ceremony (bench/passkey-sign-in.mjs, 30).
# The unknown vs known e-mail rows: signin-timing.sh.

# argon2 rows: at c=16 one round of requests takes seconds on 2 cores, so these rows run 3× longer.
# Each wrk connection signs in its own account (at c=1 the one it always was): parallel sign-ins
# of one account are refused by design (SPEC §5.7: the attempt is counted before the check).
signin_password_rows() {
  ROW_SECONDS=$((SECONDS_PER_ROW * 3)) BENCH_PATH_OF_ROW=/api/auth/login measure "sign-in (password)" BENCH_METHOD=POST \
    BENCH_EMAILS="$SIGNIN_EMAILS" BENCH_BODY="{\"email\":\"{email}\",\"password\":\"$PASSWORD\"}"
}

# A TOTP code is accepted once per 30 s step and account (SPEC §5.4): not loadable with wrk, so
# 20 accounts with two-factor on sign in once each; the code step is timed (bench/totp-sign-in.mjs).
signin_totp_row() {
  if has_route POST /api/auth/login/two-factor; then
    step "sign-in second step (TOTP), 20 accounts"
    node bench/totp-sign-in.mjs "$BASE" 20 | node bench/report.mjs calls-row "sign-in second step (TOTP code)" |
      tee -a "$ROWS" >&2
  else
    not_yet "sign-in second step (TOTP)"
  fi
}

# A passkey sign-in: options, then the assertion (its challenge serves once, so not a wrk row).
signin_passkey_row() {
  if has_route POST /api/auth/passkey/login; then
    step "passkey sign-in (options + assertion), 30 ceremonies one at a time"
    node bench/passkey-sign-in.mjs "$BASE" 30 | node bench/report.mjs calls-row "sign-in (passkey: options + assertion)" |
      tee -a "$ROWS" >&2
  fi
}
