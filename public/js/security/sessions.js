// The Active sessions card (SPEC §5.8): every signed-in device with its browser, system, place,
// address and last activity, "This device" first; "Sign out" per row, "Sign out all other
// sessions", and "Refresh". A session whose sign-in was unfamiliar and not yet reviewed (issue 24:
// a new place, network or device, or impossible travel) is flagged, with why in words, "This was
// me" (the flag goes) and "Not me" (another session is ended; then, as for this one, the Password
// card's form opens: whoever signed in may know the password).
import { api, ApiError } from '../api.js';
import { showError, showSuccess, clearMessage } from '../messages.js';
import { busy } from '../form.js';
import { isTime, dayOf, timeElement, placeOf, browserOnOs, signInMethod, plural, unfamiliarWords } from './words.js';
import { loadList, reload, signOut, run, onClick, currentFirst, deviceRow } from './page.js';
import { sudo } from './reauth.js';
import { openChange } from './password.js';
import * as checkup from './checkup.js';

const $ = (id) => document.getElementById(id);

function whereOf(session, place) {
  const where = document.createElement('p');
  where.className = 'session-meta';
  where.append(place);
  if (typeof session.ip === 'string' && session.ip) {
    where.append(' · ');
    const ip = document.createElement('span');
    ip.className = 'ip';
    ip.textContent = `IP ${session.ip}`;
    where.append(ip);
  }
  return where;
}

function whenOf(session) {
  const when = document.createElement('p');
  when.className = 'session-meta';
  if (session.current) when.append('Active now');
  else if (isTime(session.last_active_at)) when.append('Last active ', timeElement(session.last_active_at));
  if (isTime(session.created_at)) {
    if (when.childNodes.length) when.append(' · ');
    const method = signInMethod(session.sign_in_method);
    when.append(method ? `Signed in with ${method} on ` : 'Signed in on ', timeElement(session.created_at, dayOf(session.created_at)));
  }
  return when;
}

const unfamiliar = (session) => Boolean(session.unfamiliar && typeof session.unfamiliar === 'object');

/** Why the session's sign-in is to be reviewed, in words (a reason this page does not know: in general words). */
function flagsOf(session) {
  const words = unfamiliarWords(session.unfamiliar.reasons, session, session.unfamiliar.travel_kmh);
  return words.length ? words : ['Not like your usual sign-ins'];
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The flag of an unfamiliar sign-in: a badge by the name, why, "This was me" and "Not me". */
function flag(row, session, name, words) {
  // The buttons name the session as "Sign out" does; why it is flagged is their description.
  const which = session.current ? `this device (${name})` : `${name}, ${placeOf(session)}`;
  const why = element('p', 'unfamiliar-reasons', words.join(' · '));
  why.id = `unfamiliar-${session.id}`;
  const button = (text, className, act) => {
    const el = element('button', `button button-small ${className}`, text);
    el.type = 'button';
    el.setAttribute('aria-label', `${text}: ${which}`);
    el.setAttribute('aria-describedby', why.id);
    el.addEventListener('click', () => act(el));
    return el;
  };
  const actions = element('div', 'unfamiliar-actions');
  actions.append(
    element('span', 'unfamiliar-question', 'Was this you?'),
    button('This was me', 'button-secondary', (el) => familiar(session, name, el)),
    button('Not me', 'button-danger-outline', (el) => notMe(session, name, el)),
  );
  const box = element('div', 'unfamiliar');
  box.append(why, actions);
  row.classList.add('session-unfamiliar');
  row.querySelector('.session-title').append(' ', element('span', 'badge badge-warn', 'Unfamiliar sign-in'));
  row.querySelector('.session-body').append(box);
}

/** A session the browser bound to a key it keeps on the device (DBSC, issue 25). */
function boundLine() {
  const line = element('p', 'session-meta session-bound', 'Bound to this device');
  line.title = 'Its sign-in cookie, copied to another computer, stops working there within minutes.';
  line.append(element('span', 'visually-hidden', ': a copy of its sign-in cookie stops working elsewhere within minutes'));
  return line;
}

function sessionRow(session) {
  const name = browserOnOs(session);
  const place = placeOf(session);
  const lines = [whereOf(session, place), whenOf(session)];
  if (session.bound_to_device === true) lines.push(boundLine());
  const row = deviceRow(session, name, lines, {
    text: 'Sign out',
    label: session.current ? `Sign out this device (${name})` : `Sign out ${name}, ${place}`,
    act: (button) => (session.current ? signOut() : revoke(session, name, button)),
  });
  row.dataset.sessionId = String(session.id ?? '');
  if (unfamiliar(session)) flag(row, session, name, flagsOf(session));
  return row;
}

/** Loads the list; resolves true when it is up to date. */
export function load() {
  const list = $('sessions-list');
  return loadList(list, $('sessions-message'), '/api/security/sessions', (answer) => {
    const sessions = currentFirst(answer?.sessions);
    list.replaceChildren(...sessions.map(sessionRow));
    const others = sessions.filter((s) => !s.current).length;
    $('revoke-others').hidden = others === 0;
    $('only-session').hidden = others !== 0;
    checkup.update({ sessionsActive: sessions.length, sessionsUnfamiliar: sessions.filter(unfamiliar).length });
  });
}

/** After a session ended: the list again, then the words, focus on Refresh, and the activity (and
 * what else the change touched, e.g. the trusted devices after signing out all others). */
async function ended(words, ...alsoChanged) {
  await load();
  showSuccess($('sessions-message'), words);
  $('refresh-sessions').focus();
  // The checkup counts unfamiliar sessions: one signed out may have been one.
  reload('overview', 'activity', ...alsoChanged);
}

function revoke(session, name, button) {
  const message = $('sessions-message');
  return run(button, {
    region: message,
    busyLabel: 'Signing out…',
    send: () => sudo(`/api/security/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' }),
    // The row, and the busy button with it, is drawn again.
    stay: true,
    done: () => ended(`${name} was signed out.`),
    handled: alreadyEnded,
  });
}

/** A session ended meanwhile (404): said, and the list drawn again. */
function alreadyEnded(err) {
  if (!(err instanceof ApiError && err.code === 'not_found')) return false;
  showError($('sessions-message'), new ApiError(404, 'not_found', 'That session has already ended.'));
  load();
  return true;
}

/** "This was me": the flag goes, the checkup counts one fewer; focus stays on the session's row. */
function familiar(session, name, button) {
  const message = $('sessions-message');
  return run(button, {
    region: message,
    busyLabel: 'Saving…',
    send: () => api(`/api/security/sessions/${encodeURIComponent(session.id)}/familiar`, { method: 'POST' }),
    stay: true,
    done: async () => {
      await load();
      const which = session.current ? 'The sign-in on this device' : `The sign-in on ${name}`;
      showSuccess(message, `Thanks. ${which} is no longer marked as unfamiliar.`);
      const row = [...$('sessions-list').children].find((li) => li.dataset.sessionId === String(session.id));
      (row?.querySelector('button') || $('sessions-title')).focus();
      reload('overview', 'activity');
    },
    handled: alreadyEnded,
  });
}

/**
 * "Not me": another session is ended (through "Confirm it's you" if asked), then the Password
 * card's form opens. This device's is not signed out (the person is using it): the form opens.
 */
function notMe(session, name, button) {
  if (session.current) {
    openChange('If someone else signed in to your account, change your password now. Keep “Sign out of other sessions” checked.');
    return undefined;
  }
  return run(button, {
    region: $('sessions-message'),
    busyLabel: 'Signing out…',
    send: () => sudo(`/api/security/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' }),
    stay: true,
    done: async () => {
      await load();
      reload('overview', 'activity');
      openChange(`Session ended: ${name} was signed out. Change your password now, so whoever signed in cannot sign in again.`);
    },
    handled: (err) => {
      if (!alreadyEnded(err)) return false;
      openChange('That session had already ended. If it was not you, change your password now.');
      return true;
    },
  });
}

/** Wires the card's buttons (once, at start). */
export function init() {
  onClick($('revoke-others'), () => ({
    region: $('sessions-message'),
    busyLabel: 'Signing out other sessions…',
    send: () => sudo('/api/security/sessions/revoke-others', { method: 'POST' }),
    done: (answer) => {
      const revoked = typeof answer?.revoked === 'number' ? answer.revoked : null;
      return ended(
        revoked === null ? 'All other sessions were signed out.' : `${plural(revoked, 'other session was', 'other sessions were')} signed out.`,
        'devices',
      );
    },
  }));

  $('refresh-sessions').addEventListener('click', async (event) => {
    clearMessage($('sessions-message'));
    const release = busy(event.currentTarget, 'Refreshing…');
    const ok = await load();
    release();
    if (ok) showSuccess($('sessions-message'), 'The list of sessions is up to date.');
    reload('activity');
  });
}
