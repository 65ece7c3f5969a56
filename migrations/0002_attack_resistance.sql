-- Attack resistance (SPEC §5.7, §5.8): generations decide which sessions are valid, and failure
-- budgets of their own for known devices and signed-in sessions, so strangers who guess a
-- password lock out unknown clients only.

-- A password change bumps password_generation; "sign out other sessions" (and a password change
-- that signs them out) bumps session_generation. Sessions and pending sign-ins record both.
ALTER TABLE users ADD COLUMN password_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;

-- Failure runs of scopes other than the account's unknown clients (users.failed_attempts):
-- 'device:<id>' (a browser holding a valid __Host-device cookie of the user) and
-- 'session:<id>' (a signed-in session confirming its password or changing it).
CREATE TABLE attempt_budgets (
  scope           TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until    INTEGER NOT NULL DEFAULT 0,
  expires_at      INTEGER NOT NULL
);
CREATE INDEX attempt_budgets_by_expiry ON attempt_budgets (expires_at);
