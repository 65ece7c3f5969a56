-- Breached passwords (issue 24): how often the account's current password was seen in data
-- breaches (Pwned Passwords), as found at a sign-in; NULL: not found (or not checked). A new
-- password is checked before it is set, so setting one clears it.
ALTER TABLE users ADD COLUMN password_breached_count INTEGER;
