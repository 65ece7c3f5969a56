// What the cards of the Security page share: who is signed in, whether two-factor authentication
// is on, how many passkeys the account has, how a card asks the others to load again after a change, and how an error is said —
// a signed-out answer (401) leaves for the sign-in page instead (the form helper as the cards use it);
// and the row of a device, as the Active sessions and Trusted devices lists draw it.
import { api, ApiError } from '../api.js';
import { showError } from '../messages.js';
import * as form from '../form.js';
import { deviceKind } from './words.js';

export const state = { user: null, twoFactorEnabled: false, passkeyCount: 0 };

const loaders = {};

/** The page entry names how each part loads: `overview`, `passkeys`, `sessions`, `devices`, `activity`. */
export function setLoaders(named) {
  Object.assign(loaders, named);
}

/** Loads the named parts again (after a change one card made that others show). */
export function reload(...names) {
  return Promise.all(names.map((name) => loaders[name]()));
}

/** Signed out (elsewhere, or the session ended): go to the sign-in page and come back here after. */
let leaving = false;
export function toSignIn() {
  // Several requests in flight can all come back 401: navigate once, or each replace aborts the last.
  if (leaving) return;
  leaving = true;
  location.replace(`/login?expired=1&next=${encodeURIComponent('/account/security')}`);
}

/** Shows what went wrong in a card's live region; a signed-out answer leaves the page instead. */
export function report(region, err) {
  if (err instanceof ApiError && err.status === 401) {
    toSignIn();
    return;
  }
  showError(region, err);
}

/**
 * Loads a card's list: marked busy meanwhile, GET `path`, its answer to `draw`; an error is said in
 * `region`. Resolves true when the list is up to date.
 */
export async function loadList(list, region, path, draw) {
  list.setAttribute('aria-busy', 'true');
  try {
    draw(await api(path));
    return true;
  } catch (err) {
    report(region, err);
    return false;
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

/** The form helper with this page's way of saying an error (`report`). */
const reporting = (steps) => ({ show: report, ...steps });
export const run = (button, steps) => form.run(button, reporting(steps));
export const onClick = (button, stepsOf) => form.onClick(button, () => reporting(stepsOf()));
export const onSubmit = (element, stepsOf) => form.onSubmit(element, () => reporting(stepsOf()));

/** Signs this browser out (the account menu, or "Sign out" on this device's row). */
export async function signOut() {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } catch {
    // Signed out already, or the network failed: the cookie may still be there; try the page anyway.
  }
  location.assign('/login?signed_out=1');
}

/** A list answer's items, this browser's (`current`) first. */
export function currentFirst(items) {
  return (Array.isArray(items) ? items : []).sort((a, b) => Number(Boolean(b.current)) - Number(Boolean(a.current)));
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * A row of the Active sessions and Trusted devices lists. `item` is a session or a trusted device
 * as the API answers it: the picture of its kind, `name` as the title (its kind for screen readers,
 * "This device" when it is this browser), the `lines` under it, and one action button saying
 * `text`, labelled `label`, running `act(button)`.
 */
export function deviceRow(item, name, lines, { text, label, act }) {
  const row = element('li', item.current ? 'session session-current' : 'session');
  const icon = element('img', 'session-icon');
  icon.src = `/icons/${deviceKind(item.device)}.svg`;
  icon.alt = '';
  icon.width = 24;
  icon.height = 24;
  const title = element('p', 'session-title');
  title.append(element('span', '', name));
  const kind = deviceKind(item.device);
  if (kind !== 'unknown') title.append(element('span', 'visually-hidden', ` (${kind})`));
  if (item.current) title.append(' ', element('span', 'badge badge-on', 'This device'));
  const body = element('div', 'session-body');
  body.append(title, ...lines);
  const button = element('button', 'button button-secondary button-small', text);
  button.type = 'button';
  button.setAttribute('aria-label', label);
  button.addEventListener('click', () => act(button));
  row.append(icon, body, button);
  return row;
}
