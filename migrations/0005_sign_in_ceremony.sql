-- Attack resistance, round 2 (issue 21).

-- Addresses held back after too many failed sign-ins across accounts (SPEC §5.7). The Rate
-- Limiting binding counts the failures; once it says "over", the address is held here until
-- `until`. In D1 (not KV) so that the sign-in's own reservation can check it in the same
-- transaction: a held request counts nothing, for known and unknown e-mails alike, and a hold
-- is seen at every edge at once. `address` is the counted key (IPv6 per /64).
CREATE TABLE held_addresses (
  address TEXT PRIMARY KEY,
  until   INTEGER NOT NULL
);
CREATE INDEX held_addresses_by_expiry ON held_addresses (until);

-- A session re-issued on a new token (confirm it's you, a password change, sign out other
-- sessions) is revoked with the id of its successor, in the same transaction that checks it
-- was not revoked before: ending a session also ends what it became, so a revocation that
-- races a re-issue always wins.
ALTER TABLE revoked_sessions ADD COLUMN successor_id TEXT;
