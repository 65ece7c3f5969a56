-- Device-bound sessions (issue 25, DBSC): the key a browser bound a session to. While a session
-- has a row here, every request of it needs the short-lived `__Host-bound` cookie besides the
-- session token, and only a proof signed by this key renews that cookie. The session check reads
-- the row with the user (one round trip); a session that ends ends its binding with it (its
-- refresh answers `{"continue": false}`), and the daily run drops rows past the session's end.
CREATE TABLE session_bindings (
  session_id   TEXT PRIMARY KEY,               -- SHA-256 of the session token, as KV keys it
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  dbsc_id      TEXT NOT NULL UNIQUE,           -- the session identifier the browser names it by
  public_key   TEXT NOT NULL,                  -- the P-256 key as a JWK (RFC 7638 members)
  thumbprint   TEXT NOT NULL,                  -- RFC 7638, base64url
  bound_at     INTEGER NOT NULL,
  refreshed_at INTEGER,
  expires_at   INTEGER NOT NULL                -- the session's absolute end
);
CREATE INDEX session_bindings_by_user ON session_bindings (user_id);
CREATE INDEX session_bindings_by_expiry ON session_bindings (expires_at);
