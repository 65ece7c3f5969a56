// The Recent security activity card knows every event type the server can write, and no other:
// the page's words (EVENT_WORDS of public/js/security/activity.js) are held to the enum of the
// event `type` in openapi.json, the contract the worker's own tests hold the server to, and to the
// worker's own list (`EventType::as_str` in src/storage/events.rs). It also words the details the
// server writes with failed attempts, locks, used recovery codes, passkeys, e-mail changes and
// the mails it sent. Pure Node: no browser, no worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { EVENT_WORDS, eventDetail, eventTitle, eventHeading } from '../../public/js/security/activity.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const openapi = JSON.parse(readFileSync(path.join(ROOT, 'public', 'api', 'openapi.json'), 'utf8'));

/** The `type` enum of the security event schema: the schema whose `type` lists `account_created`. */
function serverEventTypes() {
  const found = Object.entries(openapi.components.schemas).filter(([, schema]) =>
    schema?.properties?.type?.enum?.includes('account_created'),
  );
  assert.equal(found.length, 1, `one event schema in openapi.json (found: ${found.map(([name]) => name)})`);
  return found[0][1].properties.type.enum;
}

test('the activity card has words for every event type the server writes, and for no other', () => {
  const server = [...serverEventTypes()].sort();
  const page = Object.keys(EVENT_WORDS).sort();
  assert.deepEqual(
    { missingOnThePage: server.filter((t) => !page.includes(t)), unknownToTheServer: page.filter((t) => !server.includes(t)) },
    { missingOnThePage: [], unknownToTheServer: [] },
  );
  for (const type of server) {
    assert.match(eventTitle(type), /^[A-Z][^_]*[a-z]$/, `${type}: a title in words`);
  }
  assert.equal(new Set(Object.values(EVENT_WORDS)).size, page.length, 'no two types share their words');
});

/** The names `EventType::as_str` gives (src/storage/events.rs): what the worker writes. */
function rustEventTypes() {
  const source = readFileSync(path.join(ROOT, 'src', 'storage', 'events.rs'), 'utf8');
  const from = source.slice(source.indexOf('fn as_str'));
  const body = from.slice(0, from.indexOf('\n    }\n'));
  return [...body.matchAll(/Self::\w+\s*=>\s*"([a-z_]+)"/g)].map((m) => m[1]);
}

test('the activity card has words for every event type the worker writes (src/storage/events.rs)', () => {
  const worker = [...rustEventTypes()].sort();
  assert.ok(worker.includes('account_created') && worker.includes('sign_in'), `the list was read: ${worker}`);
  assert.deepEqual(worker, Object.keys(EVENT_WORDS).sort());
  assert.deepEqual(worker, [...serverEventTypes()].sort(), 'openapi.json documents the same types');
});

test('the activity card words the e-mail events and the mails sent about the others', () => {
  const detail = (type, d) => eventDetail({ type, detail: d });
  assert.equal(eventTitle('reported_not_me'), "You reported a sign-in that wasn't you");
  assert.equal(detail('email_verified', { email: 'ada@example.com' }), 'ada@example.com');
  assert.equal(detail('email_change_requested', { to: 'new@example.com' }), 'To new@example.com');
  assert.equal(detail('email_changed', { from: 'old@example.com', to: 'new@example.com' }), 'From old@example.com to new@example.com');
  assert.equal(detail('alerts_changed', { new_sign_in: false }), 'New sign-in alerts turned off');
  assert.equal(detail('alerts_changed', { new_sign_in: true }), 'New sign-in alerts turned on');
  assert.equal(detail('password_reset', {}), 'Every session was signed out');
  const heading = (type, d) => eventHeading({ type, detail: d });
  assert.equal(heading('alert_sent', { alert: 'sign_in' }), 'We e-mailed you about: a new sign-in');
  assert.equal(heading('alert_sent', { alert: 'password_reset_requested' }), 'We e-mailed you about: resetting your password');
  assert.equal(heading('alert_sent', { alert: 'account_created' }), 'We e-mailed you about: verifying your e-mail address');
  assert.equal(heading('alert_failed', { alert: 'passkey_added' }), 'We could not e-mail you about: a passkey being added');
  // Every type that may mail has words for its mail; a type the page does not know falls back.
  for (const type of ['email_verification_requested', 'email_change_requested', 'email_changed', 'password_changed', 'password_reset', 'two_factor_disabled', 'recovery_codes_regenerated', 'recovery_code_used', 'passkey_removed']) {
    assert.match(heading('alert_sent', { alert: type }), /^We e-mailed you about: [a-z]/, type);
  }
  assert.equal(heading('alert_sent', { alert: 'something_new' }), 'We e-mailed you');
  assert.equal(heading('alert_sent', null), 'We e-mailed you');
  assert.equal(heading('sign_in', { alert: 'sign_in' }), 'Signed in');
});

test('the activity card words the details of failed attempts, locks, used recovery codes and passkeys', () => {
  const detail = (type, d) => eventDetail({ type, detail: d });
  assert.equal(detail('sign_in_failed', { factor: 'password', client: 'account' }), 'Wrong password');
  assert.equal(detail('sign_in_failed', { factor: 'totp', action: 'sign_in', client: 'device' }), 'Wrong authenticator code');
  assert.equal(detail('sign_in_failed', { factor: 'recovery_code', action: 'sign_in', client: 'account' }), 'Wrong recovery code');
  assert.equal(
    detail('sign_in_failed', { factor: 'password', action: 'change_password', client: 'session' }),
    'Wrong password while changing the password',
  );
  assert.equal(
    detail('sign_in_failed', { factor: 'totp', action: 'confirm', client: 'session' }),
    "Wrong authenticator code while confirming it's you",
  );
  assert.equal(
    detail('locked_out', { after_failures: 5, client: 'account', retry_after: 30 }),
    'Locked for 30 seconds after 5 wrong attempts in a row, for browsers new to this account',
  );
  assert.match(detail('locked_out', { after_failures: 5, client: 'device', retry_after: 900 }), /^Locked for 15 minutes .*known device$/);
  assert.match(detail('locked_out', { after_failures: 5, client: 'session', retry_after: 60 }), /^Locked for a minute .*signed-in session$/);
  assert.equal(detail('recovery_code_used', { remaining: 3 }), '3 codes left');
  assert.equal(detail('recovery_code_used', { remaining: 1 }), '1 code left');
  assert.equal(detail('recovery_code_used', { remaining: 0 }), 'No codes left');
  assert.equal(detail('sign_in', { method: 'password+totp' }), 'With password and authenticator code');
  assert.equal(detail('sign_in', { method: 'passkey' }), 'With a passkey');
  assert.equal(detail('sign_in', { method: 'password+passkey' }), 'With password and a passkey');
  // What was new about a sign-in (issue 24); a speed up to 1,000 km/h is travel, not a flag.
  const signIn = (d) => eventDetail({ type: 'sign_in', city: 'Lisbon', country: 'PT', detail: d });
  assert.equal(signIn({ method: 'password', new_device: false, new_country: false, new_network: false, travel_kmh: 3 }), 'With password');
  assert.equal(
    signIn({ method: 'password', new_country: true, new_network: true, new_device: true, travel_kmh: 1000 }),
    'With password · New place: Lisbon, Portugal · New network · New device',
  );
  assert.match(signIn({ method: 'passkey', new_device: true, travel_kmh: 2400 }), /^With a passkey · New device · Impossible travel \(2[,.\s\u202f]?400 km\/h\)$/);
  assert.equal(
    signIn({ method: 'password', new_network: true, reviewed: true }),
    'With password · New network · You said this was you',
  );
  assert.equal(
    eventDetail({ type: 'sign_in', city: null, country: null, detail: { method: 'password', new_country: true } }),
    'With password · New country',
  );
  assert.equal(
    detail('sign_in_failed', { factor: 'passkey', action: 'confirm', reason: 'wrong_signature', client: 'session' }),
    "Passkey not accepted while confirming it's you",
  );
  assert.equal(detail('sign_in_failed', { factor: 'passkey', action: 'sign_in', client: 'account' }), 'Passkey not accepted');
  assert.equal(detail('passkey_added', { name: 'Work laptop' }), '“Work laptop”');
  assert.equal(detail('passkey_removed', { name: 'iCloud Keychain' }), '“iCloud Keychain”');
  assert.match(detail('passkey_clone_warning', { action: 'sign_in' }), /^Refused at sign-in: it answered like a copy of your passkey\. /);
  assert.match(detail('passkey_clone_warning', { action: 'confirm' }), /^Refused while confirming it's you: /);
  assert.equal(detail('password_changed', { signed_out_sessions: 2 }), '2 sessions signed out');
  assert.equal(detail('other_sessions_revoked', { revoked: 1 }), '1 session signed out');
  assert.equal(detail('session_revoked', { device: 'desktop', browser: 'Firefox', os: 'Windows', current: false }), 'Ended: Firefox on Windows');
  assert.equal(
    detail('trusted_device_forgotten', { device: 'mobile', browser: 'Safari', os: 'iOS', current: false }),
    'Forgotten: Safari on iOS',
  );
  // Details the page cannot read say nothing rather than something wrong.
  for (const type of Object.keys(EVENT_WORDS)) {
    for (const odd of [null, {}, { factor: 42, remaining: 'x', retry_after: -1 }]) {
      const words = eventDetail({ type, detail: odd });
      assert.ok(words === null || !/undefined|null|NaN|\[object/.test(words), `${type} with ${JSON.stringify(odd)}: ${words}`);
    }
  }
});
