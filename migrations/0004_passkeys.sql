-- Passkeys (issue 14, SPEC §5.11). A passkey is a WebAuthn credential of one user: its id and
-- COSE public key are not secrets (but are never logged); the sign counter guards against cloned
-- authenticators; the backup flags say whether it is synced; the AAGUID names the authenticator.
CREATE TABLE passkeys (
  credential_id   TEXT PRIMARY KEY,            -- base64url, as the browser reports it
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_key      TEXT NOT NULL,               -- the COSE_Key, base64url
  algorithm       INTEGER NOT NULL,            -- COSE: -7 ES256, -8 EdDSA
  sign_count      INTEGER NOT NULL DEFAULT 0,
  backup_eligible INTEGER NOT NULL DEFAULT 0,
  backed_up       INTEGER NOT NULL DEFAULT 0,
  aaguid          TEXT NOT NULL,               -- 32 hex characters
  transports      TEXT NOT NULL DEFAULT '[]',   -- JSON array, hints for the browser
  name            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER
);
CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at);

-- WebAuthn challenges live in KV (TTL 300 s, bound to what they were made for); this table makes
-- each one single-use even across edges: the ceremony that answers a challenge inserts it here
-- in the same transaction as everything it decides, and a second answer finds it spent.
CREATE TABLE spent_challenges (
  challenge  TEXT PRIMARY KEY,
  spent_by   TEXT NOT NULL,                    -- a random id of the request that spent it
  expires_at INTEGER NOT NULL
);
CREATE INDEX spent_challenges_by_expiry ON spent_challenges (expires_at);
