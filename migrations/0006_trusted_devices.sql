-- Trusted devices (issue 21 point 8, SPEC §5.7): a browser that completed a sign-in holds a
-- signed __Host-device cookie, but the cookie alone no longer makes it a known device. It is one
-- only while its row here exists: a completed sign-in writes (or touches) the row in the same
-- transaction that completes it; a password change and "sign out other sessions" delete every
-- other row of the user in theirs; the owner can forget one from the Security page; rows unused
-- for 180 days go in the daily clean-up. A cookie issued before this migration has no row: it
-- counts as a stranger's until its next completed sign-in, which trusts the same device id.
CREATE TABLE trusted_devices (
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,                  -- the cookie's device id (22 base64url characters)
  created_at   INTEGER NOT NULL,               -- first completed sign-in
  last_used_at INTEGER NOT NULL,               -- latest completed sign-in
  device       TEXT NOT NULL,                  -- desktop, mobile, tablet or unknown
  browser      TEXT NOT NULL,                  -- as the session list names it
  os           TEXT NOT NULL,
  city         TEXT,                           -- where the latest sign-in came from
  country      TEXT,
  PRIMARY KEY (user_id, device_id)
);
CREATE INDEX trusted_devices_by_last_use ON trusted_devices (last_used_at);
