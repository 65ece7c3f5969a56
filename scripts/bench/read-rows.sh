# read_rows: the wrk rows of reads at c=1 and c=16: the static floor (a file from public/), the
# worker floor (a 404 under /api/, no storage) and the GET rows of /api/me, /api/security and the
# session list with 1 and 50 sessions (SPEC §7 ratios). Sets STATIC_PATH; writes rows.tsv lines
# and the static_row fact into target/bench/.

read_rows() {
  # The static floor: a file from public/ (a stylesheet if there is one, else the sign-in page).
  STATIC_PATH=$(cd public && { ls -1 ./*.css ./*/*.css 2>/dev/null || true; } | head -1 | sed 's|^\.||')
  [ -n "$STATIC_PATH" ] || { [ -f public/login.html ] && STATIC_PATH=/login; } || STATIC_PATH=/
  fact static_row "static asset $STATIC_PATH"
  step "load: $SECONDS_PER_ROW s per row, c=1 and c=16 (static floor: $STATIC_PATH)"

  BENCH_PATH_OF_ROW=$STATIC_PATH measure "static asset $STATIC_PATH"
  # The worker floor (SPEC §7): a 404 under /api/, which the worker answers without storage.
  BENCH_EXPECT_STATUS=404 BENCH_PATH_OF_ROW=/api/no-such-route measure "worker floor (404 under /api/)"
  BENCH_PATH_OF_ROW=/api/me measure "GET /api/me" BENCH_COOKIE="$TOKEN_ONE"
  BENCH_PATH_OF_ROW=/api/me measure "GET /api/me (bound session)" BENCH_COOKIE="$COOKIE_BOUND"
  BENCH_PATH_OF_ROW=/api/security measure "GET /api/security" BENCH_COOKIE="$TOKEN_ONE"
  if has_route GET /api/security/sessions; then
    BENCH_PATH_OF_ROW=/api/security/sessions measure "GET /api/security/sessions (1)" BENCH_COOKIE="$TOKEN_ONE"
    BENCH_PATH_OF_ROW=/api/security/sessions measure "GET /api/security/sessions (50)" BENCH_COOKIE="$TOKEN_FIFTY"
  else
    not_yet "GET /api/security/sessions (1)"
    not_yet "GET /api/security/sessions (50)"
  fi
}
