// The Active sessions card (SPEC §5.8): every signed-in device with its browser, system, place,
// address and last activity, "This device" first; "Sign out" per row, "Sign out all other
// sessions", and "Refresh".
import { ApiError } from '../api.js';
import { showError, showSuccess, clearMessage } from '../messages.js';
import { busy } from '../form.js';
import { isTime, dayOf, timeElement, placeOf, browserOnOs, signInMethod, plural } from './words.js';
import { loadList, reload, signOut, run, onClick, currentFirst, deviceRow } from './page.js';
import { sudo } from './reauth.js';

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

function sessionRow(session) {
  const name = browserOnOs(session);
  const place = placeOf(session);
  const row = deviceRow(session, name, [whereOf(session, place), whenOf(session)], {
    text: 'Sign out',
    label: session.current ? `Sign out this device (${name})` : `Sign out ${name}, ${place}`,
    act: (button) => (session.current ? signOut() : revoke(session, name, button)),
  });
  row.dataset.sessionId = String(session.id ?? '');
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
    $('overview-sessions').textContent = plural(sessions.length, 'device', 'devices');
  });
}

/** After a session ended: the list again, then the words, focus on Refresh, and the activity (and
 * what else the change touched, e.g. the trusted devices after signing out all others). */
async function ended(words, ...alsoChanged) {
  await load();
  showSuccess($('sessions-message'), words);
  $('refresh-sessions').focus();
  reload('activity', ...alsoChanged);
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
    handled: (err) => {
      if (!(err instanceof ApiError && err.code === 'not_found')) return false;
      showError(message, new ApiError(404, 'not_found', 'That session has already ended.'));
      load();
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
