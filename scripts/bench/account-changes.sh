# The rows of account changes (rows.tsv lines in target/bench/): the password change under wrk at
# c=1 and c=16 (each wrk thread changes its own user's password back and forth; users from
# seed.sh), and revoke-others with 50 sessions, timed call by call (9 calls).

password_change_rows() {
  local c users
  for c in 1 16; do
    users=$USERS
    [ "$c" = 1 ] && users=$USERS_ONE
    ROW_SECONDS=$((SECONDS_PER_ROW * 3)) BENCH_PATH_OF_ROW=/api/security/password \
      row "password change" "$c" BENCH_METHOD=PUT BENCH_USERS="$users"
  done
}

# revoke-others with 50 sessions: each call leaves 0 others, so it is timed call by call, with 50
# fresh sessions (and a fresh "sudo" sign-in) before each.
revoke_others_row() {
  local samples=() token
  if has_route POST /api/security/sessions/revoke-others; then
    step "revoke-others with 50 sessions, 9 calls"
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
}
