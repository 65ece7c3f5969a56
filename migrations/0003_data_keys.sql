-- Envelope keys (issue 16): one random data key per purpose encrypts TOTP secrets ('totp'),
-- hashes recovery codes ('recovery') and signs device cookies ('device'). D1 holds a data key
-- only wrapped (AES-256-GCM) under a key derived from SECRET_KEY, whose key id is `wrapped_by`;
-- rotating SECRET_KEY re-wraps these few rows and never touches user data. `kid` is the data
-- key's own id (8 hex characters), which every TOTP ciphertext and recovery-code hash names.
-- A retired key (rotated after a suspected compromise) is kept until nothing uses it.
CREATE TABLE data_keys (
  kid        TEXT PRIMARY KEY,
  purpose    TEXT NOT NULL CHECK (purpose IN ('totp', 'recovery', 'device')),
  wrapped    TEXT NOT NULL,
  wrapped_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);

-- At most one active key per purpose: isolates that create the first one at once race on this
-- index, one wins, and every isolate then uses the winner's.
CREATE UNIQUE INDEX data_keys_one_active_per_purpose ON data_keys (purpose) WHERE retired_at IS NULL;
