-- Accounts, second factors, revocations and the security activity log (SPEC §3).
-- All times are Unix seconds, UTC.

CREATE TABLE users (
  id                   TEXT PRIMARY KEY,
  email                TEXT NOT NULL UNIQUE,
  name                 TEXT NOT NULL,
  password_hash        TEXT NOT NULL,
  password_changed_at  INTEGER NOT NULL,
  totp_secret          TEXT,
  totp_pending_secret  TEXT,
  totp_enabled_at      INTEGER,
  totp_last_step       INTEGER NOT NULL DEFAULT 0,
  failed_attempts      INTEGER NOT NULL DEFAULT 0,
  locked_until         INTEGER NOT NULL DEFAULT 0,
  sessions_valid_after INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE revoked_sessions (
  session_id TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at);

CREATE TABLE security_events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    TEXT NOT NULL,
  type       TEXT NOT NULL,
  at         INTEGER NOT NULL,
  ip         TEXT,
  country    TEXT,
  city       TEXT,
  user_agent TEXT,
  detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_by_user ON security_events (user_id, at DESC, id DESC);
CREATE INDEX security_events_by_age ON security_events (at);
