# seed: users and sessions through the API of the running worker, for the rows that follow.
# Sets TOKEN_ONE (1 session), FIFTY_EMAIL and TOKEN_FIFTY (50 sessions); writes into target/bench/
# signin-emails.txt (one sign-in account per wrk thread), password-users.txt and
# password-user-c1.txt ("token password" per wrk thread, c=16 and c=1) and timing-emails.txt
# (the accounts of the known-e-mail timing row). Measures nothing.
SIGNIN_EMAILS="$OUT/signin-emails.txt"
USERS="$OUT/password-users.txt"
USERS_ONE="$OUT/password-user-c1.txt"
TIMING_EMAILS="$OUT/timing-emails.txt"

seed() {
  local i email count
  step "seeding users and sessions through the API"
  TOKEN_ONE=$(signup "one-$RUN@example.com" "$PASSWORD")
  FIFTY_EMAIL="fifty-$RUN@example.com"
  TOKEN_FIFTY=$(signup "$FIFTY_EMAIL" "$PASSWORD")
  for _ in $(seq 2 50); do login "$FIFTY_EMAIL" "$PASSWORD" >/dev/null; done
  : >"$SIGNIN_EMAILS" # one account per wrk thread (c=1: only the first)
  for i in $(seq 1 16); do
    email="signin-$RUN@example.com"
    [ "$i" = 1 ] || email="signin$i-$RUN@example.com"
    signup "$email" "$PASSWORD" >/dev/null
    echo "$email" >>"$SIGNIN_EMAILS"
  done
  # One user per wrk thread, and other users for the c=1 row than for the c=16 row: a row may end
  # with a change applied whose answer wrk never read, and the next row would start from the
  # wrong password.
  : >"$USERS"
  for i in $(seq 1 16); do
    echo "$(signup "pw$i-$RUN@example.com" "$PASSWORD") $PASSWORD" >>"$USERS"
  done
  echo "$(signup "pw0-$RUN@example.com" "$PASSWORD") $PASSWORD" >"$USERS_ONE"
  [ -n "$TOKEN_ONE" ] && [ -n "$TOKEN_FIFTY" ] || { echo "seeding failed (no session cookie)"; exit 1; }
  # A session bound to a software device key (DBSC): "token; __Host-bound=…" (its short cookie
  # lasts BOUND_COOKIE_SECONDS, 600 s, longer than the read rows take).
  COOKIE_BOUND=$(node bench/dbsc-bind.mjs "$BASE" "bound-$RUN@example.com" "$PASSWORD")
  seed_timing_accounts
  count=$(curl -s -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions" | grep -o '"id"' | wc -l)
  step "user with 50 sessions lists $count"
}

# Accounts for the known-e-mail timing row (a wrong password each; rotated so none gets locked).
# Only those whose sign-up answered 201 are used: a missing one would be an unknown e-mail.
seed_timing_accounts() {
  local accounts="${BENCH_TIMING_ACCOUNTS:-200}"
  step "seeding $accounts accounts for the sign-in timing rows"
  # The n-th account signs up from the IPv6 /64 2001:db8:66:n::/64 (n is decimal digits: valid hex).
  seq 1 "$accounts" |
    xargs -P 2 -I{} curl -s -o /dev/null -w "known{}-$RUN@example.com %{http_code}\n" -X POST \
      -H 'Content-Type: application/json' -H "Origin: $BASE" -H "CF-Connecting-IP: 2001:db8:66:{}::1" \
      -d "{\"email\":\"known{}-$RUN@example.com\",\"password\":\"$PASSWORD\",\"name\":\"Bench Person\"}" "$BASE/api/auth/signup" |
    sed -n 's/ 201$//p' >"$TIMING_EMAILS"
  [ -s "$TIMING_EMAILS" ] || { echo "seeding the timing accounts failed (no 201)"; exit 1; }
  step "$(wc -l <"$TIMING_EMAILS") timing accounts"
}
