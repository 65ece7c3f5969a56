// The Recent security activity card (SPEC §5.9): the account's latest security events, newest
// first, each as words with its details, device, place and time; the mails sent about them too
// (`alert_sent`, docs/email.md). `EVENT_WORDS` names every event
// type the server writes, and no other (tests/e2e/event-types.test.mjs holds it to openapi.json).
import { api, humanSeconds } from '../api.js';
import { clearMessage } from '../messages.js';
import { isTime, timeElement, placeOf, browserOnOs, signInMethod, plural, unfamiliarWords } from './words.js';
import { report } from './page.js';

const $ = (id) => document.getElementById(id);

/** Every event type the server writes, as the title of its row. */
export const EVENT_WORDS = {
  account_created: 'Account created',
  sign_in: 'Signed in',
  sign_in_failed: 'Failed sign-in attempt',
  sign_out: 'Signed out',
  password_changed: 'Password changed',
  two_factor_enabled: 'Two-factor authentication turned on',
  two_factor_disabled: 'Two-factor authentication turned off',
  recovery_codes_regenerated: 'New recovery codes created',
  recovery_code_used: 'Recovery code used',
  session_revoked: 'A session was signed out',
  other_sessions_revoked: 'All other sessions were signed out',
  locked_out: 'Sign-in paused after too many failed attempts',
  passkey_added: 'Passkey added',
  passkey_removed: 'Passkey removed',
  passkey_clone_warning: 'A passkey may have been copied',
  trusted_device_forgotten: 'Trusted device forgotten',
  session_bound: 'Session bound to this device',
  email_verification_requested: 'New verification link requested',
  email_verified: 'E-mail address verified',
  email_change_requested: 'E-mail address change requested',
  email_changed: 'E-mail address changed',
  password_reset_requested: 'Password reset link requested',
  password_reset: 'Password reset with an e-mailed link',
  reported_not_me: "You reported a sign-in that wasn't you",
  alerts_changed: 'E-mail alerts changed',
  alert_sent: 'We e-mailed you',
  alert_failed: 'An e-mail to you could not be sent',
  password_breached: 'Your password was found in a data breach',
};
const WARNING_EVENTS = new Set([
  'sign_in_failed',
  'locked_out',
  'two_factor_disabled',
  'recovery_code_used',
  'passkey_clone_warning',
  'reported_not_me',
  'alert_failed',
  'password_breached',
]);

/** What a mail was about (`detail.alert` of `alert_sent` / `alert_failed`: the event that mailed). */
const MAILED_ABOUT = {
  account_created: 'verifying your e-mail address',
  email_verification_requested: 'verifying your e-mail address',
  email_change_requested: 'confirming your new e-mail address',
  email_changed: 'your e-mail address being changed',
  password_reset_requested: 'resetting your password',
  sign_in: 'a new sign-in',
  password_changed: 'your password being changed',
  password_reset: 'your password being changed',
  two_factor_disabled: 'two-factor authentication being turned off',
  recovery_codes_regenerated: 'new recovery codes',
  recovery_code_used: 'your recovery codes running low',
  passkey_added: 'a passkey being added',
  passkey_removed: 'a passkey being removed',
  password_breached: 'your password being found in a data breach',
};

/** The subject of a mail, from the event type it was about; null when the page cannot tell. */
function mailedAbout(alert) {
  if (typeof alert !== 'string' || !alert) return null;
  if (Object.hasOwn(MAILED_ABOUT, alert)) return MAILED_ABOUT[alert];
  return Object.hasOwn(EVENT_WORDS, alert) ? EVENT_WORDS[alert].toLowerCase() : null;
}

/** What a failed attempt got wrong (`detail.factor`). */
const WRONG = {
  password: 'Wrong password',
  totp: 'Wrong authenticator code',
  recovery_code: 'Wrong recovery code',
  passkey: 'Passkey not accepted',
};

/** Where a failed attempt was made (`detail.action`); a plain sign-in needs no words. */
const WHILE = {
  confirm: "while confirming it's you",
  change_password: 'while changing the password',
  enable_two_factor: 'while turning on two-factor authentication',
  disable_two_factor: 'while turning off two-factor authentication',
};

/** Whose attempts a lock holds back (`detail.client`, the failure run it locked). */
const LOCKED_CLIENT = {
  account: 'for browsers new to this account',
  device: 'for one known device',
  session: 'for one signed-in session',
};

/** Faster than this from the sign-in before is "impossible travel" (src/domain/unfamiliar.rs). */
const IMPOSSIBLE_KMH = 1000;

const count = (n) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
const text = (value) => (typeof value === 'string' && value ? value : null);

/** Why a sign-in was unfamiliar (`detail.new_country`, …, `travel_kmh`), in the API's reason names. */
function unfamiliarReasons(detail) {
  const reasons = ['new_country', 'new_network', 'new_device'].filter((flag) => detail[flag] === true);
  if (count(detail.travel_kmh) && detail.travel_kmh > IMPOSSIBLE_KMH) reasons.push('impossible_travel');
  return reasons;
}

/** A sign-in's words: how it was made, then what was new about it, and whether the owner said it was them. */
function signInDetail(event, detail) {
  const method = signInMethod(detail.method);
  const words = method ? [`With ${method}`] : [];
  const reasons = unfamiliarReasons(detail);
  words.push(...unfamiliarWords(reasons, event, detail.travel_kmh, { short: true }));
  if (reasons.length && detail.reviewed === true) words.push('You said this was you');
  return words.length ? words.join(' · ') : null;
}

function failedDetail({ factor, action }) {
  if (!factor) return null;
  const wrong = WRONG[factor] || 'Wrong code';
  return WHILE[action] ? `${wrong} ${WHILE[action]}` : wrong;
}

function lockedDetail({ retry_after: retryAfter, after_failures: failures, client }) {
  const words = [count(retryAfter) && retryAfter > 0 ? `Locked for ${humanSeconds(retryAfter)}` : 'Locked'];
  if (count(failures) && failures > 0) words.push(`after ${plural(failures, 'wrong attempt', 'wrong attempts')} in a row`);
  const text = words.join(' ');
  return LOCKED_CLIENT[client] ? `${text}, ${LOCKED_CLIENT[client]}` : text;
}

/** The words for an event's `detail`, or null when it says nothing worth showing. */
export function eventDetail(event) {
  const detail = event.detail && typeof event.detail === 'object' ? event.detail : {};
  switch (event.type) {
    case 'sign_in':
      return signInDetail(event, detail);
    case 'sign_in_failed':
      return failedDetail(detail);
    case 'locked_out':
      return lockedDetail(detail);
    case 'other_sessions_revoked':
    case 'password_changed': {
      const n = detail.revoked ?? detail.signed_out_sessions;
      return typeof n === 'number' && n > 0 ? `${plural(n, 'session', 'sessions')} signed out` : null;
    }
    case 'session_revoked':
      // The session that was ended (the row's device is the one that ended it).
      return detail.browser || detail.os ? `Ended: ${browserOnOs(detail)}` : null;
    case 'session_bound':
      return 'A copy of its sign-in cookie stops working on any other device within minutes.';
    case 'trusted_device_forgotten':
      // The device that was forgotten (the row's device is the one that forgot it).
      return detail.browser || detail.os ? `Forgotten: ${browserOnOs(detail)}` : null;
    case 'passkey_added':
    case 'passkey_removed':
      return typeof detail.name === 'string' && detail.name ? `“${detail.name}”` : null;
    case 'passkey_clone_warning':
      // Its signature counter went back, as when a copy of it was used: the attempt was refused.
      return `Refused ${WHILE[detail.action] || 'at sign-in'}: it answered like a copy of your passkey. If you did not expect this, remove it and add a new one.`;
    case 'recovery_code_used':
      if (!count(detail.remaining)) return null;
      return detail.remaining === 0 ? 'No codes left' : `${plural(detail.remaining, 'code', 'codes')} left`;
    case 'email_verified':
      return text(detail.email);
    case 'email_change_requested':
      return text(detail.to) ? `To ${detail.to}` : null;
    case 'email_changed':
      if (text(detail.from) && text(detail.to)) return `From ${detail.from} to ${detail.to}`;
      return text(detail.to) ? `To ${detail.to}` : null;
    case 'password_reset':
      return 'Every session was signed out';
    case 'reported_not_me':
      return 'Every session was signed out and no device is trusted any more';
    case 'alerts_changed':
      if (typeof detail.new_sign_in !== 'boolean') return null;
      return detail.new_sign_in ? 'New sign-in alerts turned on' : 'New sign-in alerts turned off';
    default:
      return null;
  }
}

/** The title of an event: its words, or for a type this page does not know, the type itself. */
export function eventTitle(type) {
  const name = typeof type === 'string' ? type : 'event';
  return Object.hasOwn(EVENT_WORDS, name) ? EVENT_WORDS[name] : name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** The heading of an event's row: its title, or for a mail, what the mail was about. */
export function eventHeading(event) {
  const about = event.type === 'alert_sent' || event.type === 'alert_failed' ? mailedAbout(event.detail?.alert) : null;
  if (!about) return eventTitle(event.type);
  return event.type === 'alert_sent' ? `We e-mailed you about: ${about}` : `We could not e-mail you about: ${about}`;
}

/** An unfamiliar sign-in the owner has not said was them: marked like the warnings. */
function unfamiliarSignIn(event) {
  const detail = event.detail && typeof event.detail === 'object' ? event.detail : null;
  return event.type === 'sign_in' && detail !== null && detail.reviewed !== true && unfamiliarReasons(detail).length > 0;
}

function eventRow(event) {
  const item = document.createElement('li');
  item.className = 'event';
  if (WARNING_EVENTS.has(event.type) || unfamiliarSignIn(event)) item.classList.add('event-warning');
  const title = document.createElement('p');
  title.className = 'event-title';
  title.textContent = eventHeading(event);
  const detail = eventDetail(event);
  const meta = document.createElement('p');
  meta.className = 'event-meta';
  const parts = [];
  if (detail) parts.push(detail);
  if (event.device) parts.push(browserOnOs(event));
  // Where, unless the detail said it already ("New place: Lisbon, Portugal").
  const place = placeOf(event);
  if (!detail?.includes(`New place: ${place}`)) parts.push(place);
  if (typeof event.ip === 'string' && event.ip) parts.push(`IP ${event.ip}`);
  meta.textContent = parts.join(' · ');
  const when = document.createElement('p');
  when.className = 'event-time';
  if (isTime(event.at)) when.append(timeElement(event.at));
  item.append(title, meta, when);
  return item;
}

export async function load() {
  const list = $('activity-list');
  const message = $('activity-message');
  list.setAttribute('aria-busy', 'true');
  try {
    const answer = await api('/api/security/events?limit=20');
    const events = Array.isArray(answer?.events) ? answer.events : [];
    clearMessage(message);
    if (!events.length) {
      const empty = document.createElement('li');
      empty.className = 'empty';
      empty.textContent = 'No security activity yet.';
      list.replaceChildren(empty);
    } else {
      list.replaceChildren(...events.map(eventRow));
    }
  } catch (err) {
    report(message, err);
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}
