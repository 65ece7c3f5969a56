# count_ops: storage operations per request. The same worker behind bench/count-ops.mjs, which
# counts D1/KV calls at the binding boundary and answers them in X-Storage-Ops; one request at a
# time, on the state seeded before. Writes target/bench/ops.tsv ("request (status)", counts) and
# worker-N.log of its own start; ops-headers is the last request's headers.
OPS="$OUT/ops.tsv"

count_ops() {
  local email="ops-$RUN@example.com" token confirm_token
  step "storage operations per request (bench/count-ops.mjs)"
  start_entry count-ops ops
  : >"$OPS"
  ops "static asset $STATIC_PATH" "$BASE$STATIC_PATH"
  ops "sign-up" -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$PASSWORD\",\"name\":\"Bench Person\"}" "$BASE/api/auth/signup"
  ops "sign-in (password)" -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$PASSWORD\"}" "$BASE/api/auth/login"
  ops "sign-in, wrong password" -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"Wrong-$PASSWORD\"}" "$BASE/api/auth/login"
  ops "sign-in, unknown e-mail" -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"nobody-ops-$RUN@example.com\",\"password\":\"Wrong-$PASSWORD\"}" "$BASE/api/auth/login"
  ops "GET /api/me" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/me"
  ops "GET /api/security" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security"
  ops "GET /api/security/sessions (1)" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security/sessions"
  for _ in $(seq 2 50); do login "$FIFTY_EMAIL" "$PASSWORD" >/dev/null; done
  TOKEN_FIFTY=$(login "$FIFTY_EMAIL" "$PASSWORD") # revoke-others before ended the earlier ones
  ops "GET /api/security/sessions (50)" -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions"
  if has_route GET /api/security/events; then
    ops "GET /api/security/events" -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/events"
  fi
  token=$(login "$email" "$PASSWORD")
  ops "password change (signs out 2 others)" -X PUT -H 'Content-Type: application/json' -H "Cookie: __Host-session=$token" \
    -d "{\"current_password\":\"$PASSWORD\",\"new_password\":\"${PASSWORD/-a-/-b-}\"}" "$BASE/api/security/password"
  if has_route POST /api/security/sessions/revoke-others; then
    ops "revoke-others (50 sessions)" -X POST -H "Cookie: __Host-session=$TOKEN_FIFTY" "$BASE/api/security/sessions/revoke-others"
  fi
  if has_route POST /api/auth/passkey/login; then node bench/passkey-sign-in.mjs "$BASE" 1 --ops | tee -a "$OPS" >&2; fi
  if has_route POST /api/auth/login/two-factor; then node bench/totp-sign-in.mjs "$BASE" 1 --ops | tee -a "$OPS" >&2; fi
  if has_route GET /api/security/passkeys; then
    ops "GET /api/security/passkeys" -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/security/passkeys"
  fi
  confirm_token=$(login "one-$RUN@example.com" "$PASSWORD")
  ops "confirm it's you (password)" -X POST -H 'Content-Type: application/json' \
    -H "Cookie: __Host-session=$confirm_token" -d "{\"password\":\"$PASSWORD\"}" "$BASE/api/auth/confirm"
  ops "sign-out" -X POST -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/auth/logout"
  worker_stop
}

ops() { # ops NAME curl-args...: one line of ops.tsv
  local name=$1 header status
  shift
  curl -s -D "$OUT/ops-headers" -o /dev/null -H "Origin: $BASE" "$@"
  header=$(tr -d '\r' <"$OUT/ops-headers" | sed -n 's/^[Xx]-[Ss]torage-[Oo]ps: //p')
  read -r _ status _ <"$OUT/ops-headers" || true
  printf '%s (%s)\t%s\n' "$name" "$status" "${header:-served by static assets, the worker does not run}" | tee -a "$OPS" >&2
}
