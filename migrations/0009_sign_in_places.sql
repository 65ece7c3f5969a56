-- Where each event came from, as Cloudflare places the client (issue 24: "impossible travel"):
-- kept with the event, so for 90 days (the daily run drops older events); a session's flags are
-- in its sign-in event's detail (`new_country`, `new_network`, `new_device`, `travel_kmh`,
-- `reviewed`).
ALTER TABLE security_events ADD COLUMN latitude REAL;
ALTER TABLE security_events ADD COLUMN longitude REAL;
