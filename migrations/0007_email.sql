-- E-mail (issue 23, docs/email.md): a verified address, alerts, link tokens.

-- When the address was verified (NULL: not yet; only the verification mail goes to it), and
-- whether a new sign-in from an unfamiliar device or place is mailed (the other alerts always are).
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
ALTER TABLE users ADD COLUMN new_sign_in_alerts INTEGER NOT NULL DEFAULT 1;

-- Every mail is an event's: `alert_id` (random) names the event in the queue message, and
-- `alert` is where its mail stands: 'pending', 'sending' (claimed at `alert_at`), 'sent',
-- 'skipped' (nothing to send: unverified address, alerts off, a familiar sign-in) or 'failed'.
-- `network` is the client's network (AS number), for "a place this account has not used".
ALTER TABLE security_events ADD COLUMN network TEXT;
ALTER TABLE security_events ADD COLUMN alert_id TEXT;
ALTER TABLE security_events ADD COLUMN alert TEXT;
ALTER TABLE security_events ADD COLUMN alert_at INTEGER;
CREATE UNIQUE INDEX security_events_by_alert ON security_events (alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX security_events_unsent ON security_events (alert_at) WHERE alert IN ('pending', 'sending');

-- The tokens of links in mails, by their SHA-256: what they do (`purpose`: verify, change,
-- reset, not_me), the address they were sent to, and whether (and by which request) they were used.
CREATE TABLE email_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose    TEXT NOT NULL,
  email      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  used_by    TEXT -- the request that used it (a random nonce), so its batch knows it was this one
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);
