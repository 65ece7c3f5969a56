// My account → Security: password, two-factor authentication, active sessions, recent activity.
import {
  api,
  ApiError,
  messageOf,
  showError,
  showSuccess,
  clearMessage,
  busy,
  markInvalid,
  wireRevealButtons,
  hidePasswords,
  passwordRules,
  renderChecklist,
  initialsOf,
  copyText,
} from '/api.js';

const $ = (id) => document.getElementById(id);
const state = { user: null, twoFactorEnabled: false, recoveryCodes: [] };

/** Thrown when the person closes the password dialog: nothing to show, nothing happened. */
class Cancelled extends Error {}

// ---------- words for times, places and devices ----------

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
let regionNames = null;
try {
  regionNames = new Intl.DisplayNames(undefined, { type: 'region' });
} catch {
  regionNames = null;
}

const isTime = (t) => typeof t === 'number' && Number.isFinite(t) && t > 0;

function fullDate(seconds) {
  return dateFormat.format(new Date(seconds * 1000));
}

function ago(seconds) {
  const diff = Math.round(seconds - Date.now() / 1000);
  const abs = Math.abs(diff);
  if (abs < 60) return 'just now';
  const units = [
    ['year', 31536000],
    ['month', 2592000],
    ['week', 604800],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (abs >= size) return relativeFormat.format(Math.round(diff / size), unit);
  }
  return 'just now';
}

/** A <time> element: relative words, the exact moment in `datetime` and as a tooltip. */
function timeElement(seconds, words) {
  const el = document.createElement('time');
  const date = new Date(seconds * 1000);
  el.dateTime = date.toISOString();
  el.title = fullDate(seconds);
  el.textContent = words ?? ago(seconds);
  return el;
}

function countryName(code) {
  if (typeof code !== 'string' || !code || code === 'XX' || code === 'T1') return null;
  try {
    return regionNames?.of(code.toUpperCase()) || code;
  } catch {
    return code;
  }
}

function placeOf(item) {
  const parts = [typeof item.city === 'string' ? item.city : null, countryName(item.country)].filter(Boolean);
  return parts.length ? parts.join(', ') : 'Unknown location';
}

const KNOWN_DEVICES = new Set(['desktop', 'mobile', 'tablet']);

function deviceKind(device) {
  const kind = typeof device === 'string' ? device : device?.kind;
  return KNOWN_DEVICES.has(kind) ? kind : 'unknown';
}

/** "Chrome on Linux", from a session or an event (whose device may be a string or an object). */
function browserOnOs(item) {
  if (typeof item.device === 'string' && !KNOWN_DEVICES.has(item.device) && item.device !== 'unknown' && !item.browser) {
    // Events describe the device in words already ("Chrome on Linux").
    const words = item.device.replace(/ on Unknown OS$/, '').trim();
    return !words || words.startsWith('Unknown browser') ? 'Unknown device' : words;
  }
  const source = item.device && typeof item.device === 'object' ? item.device : item;
  const browser = typeof source.browser === 'string' && source.browser ? source.browser : 'Unknown browser';
  const os = typeof source.os === 'string' && source.os ? source.os : null;
  if (browser.startsWith('Unknown') && (!os || os.startsWith('Unknown'))) {
    return typeof item.device === 'string' && KNOWN_DEVICES.has(item.device)
      ? `Unknown browser on a ${item.device}`
      : 'Unknown device';
  }
  return os && !os.startsWith('Unknown') ? `${browser} on ${os}` : browser;
}

function signInMethod(method) {
  if (typeof method !== 'string') return null;
  if (/recovery/.test(method)) return 'password and a recovery code';
  if (/totp|two|code|2fa/.test(method)) return 'password and authenticator code';
  if (method === 'password') return 'password';
  return method.replace(/_/g, ' ');
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------- calling the API from this page ----------

/** Signed out (elsewhere, or the session ended): go to the sign-in page and come back here after. */
let leaving = false;
function toSignIn() {
  // Several requests in flight can all come back 401: navigate once, or each replace aborts the last.
  if (leaving) return;
  leaving = true;
  location.replace(`/login?expired=1&next=${encodeURIComponent('/account/security')}`);
}

/**
 * Runs an action that may need a fresh password: when the API answers `reauth_required`, the
 * dialog asks for it (and a code when 2FA is on), confirms, and the action runs again once.
 */
async function withSudo(action) {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'reauth_required') throw err;
    const confirmed = await askToConfirm(err.message);
    if (!confirmed) throw new Cancelled();
    return action();
  }
}

/** Shows what went wrong in a card's live region; a signed-out answer leaves the page instead. */
function report(region, err) {
  if (err instanceof Cancelled) return;
  if (err instanceof ApiError && err.status === 401) {
    toSignIn();
    return;
  }
  showError(region, err);
}

// ---------- "Confirm it's you" ----------

const dialog = $('reauth-dialog');
let settleDialog = null;
// Where focus goes back to after the dialog: a busy (disabled) button has lost focus already.
let lastFocused = null;
document.addEventListener('focusin', (event) => {
  if (!dialog.contains(event.target)) lastFocused = event.target;
});

function askToConfirm(reason) {
  const form = $('reauth-form');
  form.reset();
  hidePasswords(form);
  clearMessage($('reauth-error'));
  $('reauth-code-field').hidden = !state.twoFactorEnabled;
  $('reauth-text').textContent =
    (reason && !/^\s*$/.test(reason) ? reason : 'For your security, confirm your password to continue.') +
    (state.twoFactorEnabled ? ' You will also need a code from your authenticator app.' : '');
  markInvalid($('reauth-password'), false);
  markInvalid($('reauth-code'), false);
  const opener = lastFocused;
  dialog.showModal();
  $('reauth-password').focus();
  return new Promise((resolve) => {
    settleDialog = (ok) => {
      settleDialog = null;
      if (dialog.open) dialog.close();
      // The button that opened the dialog is busy (disabled) until the action settles.
      if (opener && typeof opener.focus === 'function') setTimeout(() => opener.focus(), 0);
      resolve(ok);
    };
  });
}

dialog.addEventListener('cancel', (event) => {
  event.preventDefault();
  settleDialog?.(false);
});
$('reauth-cancel').addEventListener('click', () => settleDialog?.(false));

$('reauth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('reauth-error');
  clearMessage(error);
  const password = $('reauth-password');
  const code = $('reauth-code');
  if (!password.value) {
    markInvalid(password, true);
    showError(error, new ApiError(400, 'invalid_input', 'Enter your password.'));
    password.focus();
    return;
  }
  const body = { password: password.value };
  if (state.twoFactorEnabled) {
    const digits = code.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(digits)) {
      markInvalid(code, true);
      showError(error, new ApiError(400, 'invalid_input', 'Enter the 6-digit code from your authenticator app.'));
      code.focus();
      return;
    }
    body.code = digits;
  }
  const done = busy(event.currentTarget.querySelector('button[type="submit"]'), 'Confirming…');
  try {
    await api('/api/auth/confirm', { method: 'POST', body });
    done();
    settleDialog?.(true);
  } catch (err) {
    done();
    if (err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated') {
      settleDialog?.(false);
      toSignIn();
      return;
    }
    showError(error, err);
    const target = err instanceof ApiError && err.code === 'invalid_code' ? code : password;
    markInvalid(target, true);
    target.select();
    target.focus();
  }
});

// ---------- top bar: initials and the account menu ----------

const menuButton = $('account-button');
const menu = $('account-menu');
const menuItems = () => [...menu.querySelectorAll('[role="menuitem"]')];

function openMenu(focusLast = false) {
  menu.hidden = false;
  menuButton.setAttribute('aria-expanded', 'true');
  const items = menuItems();
  (focusLast ? items[items.length - 1] : items[0]).focus();
}

function closeMenu(focusButton = true) {
  if (menu.hidden) return;
  menu.hidden = true;
  menuButton.setAttribute('aria-expanded', 'false');
  if (focusButton) menuButton.focus();
}

menuButton.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu()));
menuButton.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    openMenu(event.key === 'ArrowUp');
  }
});
menu.addEventListener('keydown', (event) => {
  const items = menuItems();
  const index = items.indexOf(document.activeElement);
  if (event.key === 'Escape') {
    event.preventDefault();
    closeMenu();
  } else if (event.key === 'ArrowDown') {
    event.preventDefault();
    items[(index + 1) % items.length].focus();
  } else if (event.key === 'ArrowUp') {
    event.preventDefault();
    items[(index - 1 + items.length) % items.length].focus();
  } else if (event.key === 'Home') {
    event.preventDefault();
    items[0].focus();
  } else if (event.key === 'End') {
    event.preventDefault();
    items[items.length - 1].focus();
  } else if (event.key === 'Tab') {
    closeMenu(false);
  }
});
document.addEventListener('click', (event) => {
  if (!menu.hidden && !menu.contains(event.target) && !menuButton.contains(event.target)) closeMenu(false);
});

async function signOut() {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } catch {
    // Signed out already, or the network failed: the cookie may still be there; try the page anyway.
  }
  location.assign('/login?signed_out=1');
}
$('menu-signout').addEventListener('click', () => {
  closeMenu(false);
  signOut();
});

function renderUser(user) {
  state.user = user;
  $('avatar-initials').textContent = initialsOf(user.name, user.email);
  menuButton.setAttribute('aria-label', `Account menu for ${user.name || user.email}`);
  $('menu-name').textContent = user.name || '';
  $('menu-email').textContent = user.email || '';
  $('setup-account').textContent = user.email || '';
}

// ---------- overview (GET /api/security) ----------

async function loadOverview() {
  try {
    const overview = await api('/api/security');
    const changed = overview?.password?.changed_at;
    $('overview-password').textContent = isTime(changed) ? `Changed ${ago(changed)}` : 'Set';
    const changedLine = $('password-changed');
    changedLine.replaceChildren();
    if (isTime(changed)) {
      changedLine.append('Last changed ', timeElement(changed, dayFormat.format(new Date(changed * 1000))), '.');
    } else {
      changedLine.textContent = 'Change your account password at any time.';
    }
    renderTwoFactor(overview?.two_factor || {});
    const active = overview?.sessions?.active;
    if (typeof active === 'number') $('overview-sessions').textContent = plural(active, 'device', 'devices');
  } catch (err) {
    report($('page-error'), err);
  }
}

// ---------- password ----------

const passwordForm = $('password-form');

function updatePasswordRules() {
  renderChecklist(
    $('new-password-rules'),
    passwordRules($('new-password').value, { email: state.user?.email || '', name: state.user?.name || '' }),
  );
}
$('new-password').addEventListener('input', updatePasswordRules);

passwordForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = $('password-message');
  clearMessage(message);
  const current = $('current-password');
  const next = $('new-password');
  markInvalid(current, false);
  markInvalid(next, false);
  if (!current.value) {
    markInvalid(current, true);
    showError(message, new ApiError(400, 'invalid_input', 'Enter your current password.'));
    current.focus();
    return;
  }
  if (!next.value) {
    markInvalid(next, true);
    showError(message, new ApiError(400, 'invalid_input', 'Enter a new password.'));
    next.focus();
    return;
  }
  const signOutOthers = $('sign-out-others').checked;
  const done = busy(passwordForm.querySelector('button[type="submit"]'), 'Changing password…');
  try {
    const answer = await withSudo(() =>
      api('/api/security/password', {
        method: 'PUT',
        body: { current_password: current.value, new_password: next.value, sign_out_other_sessions: signOutOthers },
      }),
    );
    done();
    passwordForm.reset();
    hidePasswords(passwordForm);
    updatePasswordRules();
    const count = typeof answer?.signed_out_sessions === 'number' ? answer.signed_out_sessions : 0;
    showSuccess(
      message,
      signOutOthers
        ? `Your password was changed. ${count ? `${plural(count, 'other session was', 'other sessions were')} signed out.` : 'No other sessions were signed in.'}`
        : 'Your password was changed.',
    );
    refreshAll();
  } catch (err) {
    done();
    report(message, err);
    if (err instanceof ApiError && err.code === 'wrong_password') {
      markInvalid(current, true);
      current.focus();
    } else if (err instanceof ApiError && err.problems.length) {
      markInvalid(next, true);
      next.focus();
    }
  }
});

// ---------- two-factor authentication ----------

function showTwoFactorPart(part) {
  for (const id of ['two-factor-off', 'two-factor-setup-panel', 'recovery-panel', 'two-factor-on']) {
    $(id).hidden = id !== part;
  }
}

function renderTwoFactor(info) {
  state.twoFactorEnabled = Boolean(info.enabled);
  const badge = $('two-factor-status');
  badge.textContent = state.twoFactorEnabled ? 'On' : 'Off';
  badge.classList.toggle('badge-on', state.twoFactorEnabled);
  badge.classList.toggle('badge-off', !state.twoFactorEnabled);
  $('overview-two-factor').textContent = state.twoFactorEnabled ? 'On' : 'Off';
  if (state.twoFactorEnabled) {
    const since = isTime(info.enabled_at) ? ` since ${dayFormat.format(new Date(info.enabled_at * 1000))}` : '';
    $('two-factor-on-text').textContent = `Two-factor authentication is on${since}. When you sign in, you will be asked for a code from your authenticator app.`;
    const remaining = info.recovery_codes_remaining;
    $('recovery-remaining').textContent =
      typeof remaining === 'number'
        ? `${plural(remaining, 'recovery code', 'recovery codes')} left.${remaining <= 3 ? ' Regenerate them soon so you are not locked out.' : ''}`
        : '';
  }
  // Do not hide a setup or recovery-code panel that is in use.
  const busyPart = !$('two-factor-setup-panel').hidden || !$('recovery-panel').hidden;
  if (!busyPart) showTwoFactorPart(state.twoFactorEnabled ? 'two-factor-on' : 'two-factor-off');
}

/** An SVG string as an image (never as markup in this page). */
function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

function groupKey(secret) {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

let setupSecret = '';

$('two-factor-setup').addEventListener('click', async (event) => {
  const message = $('two-factor-message');
  clearMessage(message);
  const done = busy(event.currentTarget, 'Preparing…');
  try {
    const setup = await withSudo(() => api('/api/security/two-factor/setup', { method: 'POST' }));
    done();
    if (!setup || typeof setup.secret !== 'string' || typeof setup.qr_svg !== 'string') {
      throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    }
    setupSecret = setup.secret;
    $('setup-qr').src = svgDataUrl(setup.qr_svg);
    $('setup-key').textContent = groupKey(setup.secret);
    $('two-factor-enable-form').reset();
    clearMessage($('enable-error'));
    showTwoFactorPart('two-factor-setup-panel');
    $('setup-title').focus();
  } catch (err) {
    done();
    report(message, err);
  }
});

$('copy-setup-key').addEventListener('click', async () => {
  const ok = await copyText(setupSecret);
  const message = $('two-factor-message');
  if (ok) showSuccess(message, 'Setup key copied.');
  else showError(message, new ApiError(0, 'copy_failed', 'Copying is not allowed here. Select the setup key and copy it by hand.'));
});

$('cancel-setup').addEventListener('click', () => {
  setupSecret = '';
  $('setup-qr').removeAttribute('src');
  $('setup-key').textContent = '';
  showTwoFactorPart('two-factor-off');
  clearMessage($('two-factor-message'));
  $('two-factor-setup').focus();
});

$('two-factor-enable-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('enable-error');
  clearMessage(error);
  const input = $('enable-code');
  const code = input.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    markInvalid(input, true);
    showError(error, new ApiError(400, 'invalid_input', 'Enter the 6-digit code your authenticator app shows.'));
    input.focus();
    return;
  }
  markInvalid(input, false);
  const done = busy(event.currentTarget.querySelector('button[type="submit"]'), 'Verifying…');
  try {
    const answer = await withSudo(() => api('/api/security/two-factor/enable', { method: 'POST', body: { code } }));
    done();
    setupSecret = '';
    $('setup-qr').removeAttribute('src');
    $('setup-key').textContent = '';
    state.twoFactorEnabled = true;
    showRecoveryCodes(answer?.recovery_codes, 'Two-factor authentication is on.');
    loadOverview();
    loadActivity();
  } catch (err) {
    done();
    report(error, err);
    if (!(err instanceof Cancelled)) {
      markInvalid(input, true);
      input.select();
      input.focus();
    }
  }
});

function showRecoveryCodes(codes, heading) {
  state.recoveryCodes = Array.isArray(codes) ? codes.filter((c) => typeof c === 'string') : [];
  const list = $('recovery-codes');
  list.replaceChildren();
  for (const code of state.recoveryCodes) {
    const item = document.createElement('li');
    const text = document.createElement('code');
    text.textContent = code;
    item.append(text);
    list.append(item);
  }
  clearMessage($('codes-message'));
  showTwoFactorPart('recovery-panel');
  showSuccess($('two-factor-message'), `${heading} Save your recovery codes now: they are shown only once.`);
  $('recovery-title').focus();
}

function codesText() {
  const email = state.user?.email || '';
  return [
    `WEMASY recovery codes${email ? ` for ${email}` : ''}`,
    `Created ${fullDate(Date.now() / 1000)}`,
    'Each code can be used once to sign in when you cannot use your authenticator app.',
    '',
    ...state.recoveryCodes,
    '',
  ].join('\n');
}

$('copy-codes').addEventListener('click', async () => {
  const ok = await copyText(codesText());
  if (ok) showSuccess($('codes-message'), 'Recovery codes copied.');
  else showError($('codes-message'), new ApiError(0, 'copy_failed', 'Copying is not allowed here. Download the codes instead, or select them and copy them by hand.'));
});

$('download-codes').addEventListener('click', () => {
  const blob = new Blob([codesText()], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = 'wemasy-recovery-codes.txt';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  showSuccess($('codes-message'), 'Recovery codes downloaded as wemasy-recovery-codes.txt.');
});

$('codes-done').addEventListener('click', () => {
  state.recoveryCodes = [];
  $('recovery-codes').replaceChildren();
  clearMessage($('codes-message'));
  clearMessage($('two-factor-message'));
  showTwoFactorPart(state.twoFactorEnabled ? 'two-factor-on' : 'two-factor-off');
  loadOverview();
  $('two-factor-title').scrollIntoView({ block: 'nearest' });
  (state.twoFactorEnabled ? $('regenerate-codes') : $('two-factor-setup')).focus();
});

$('regenerate-codes').addEventListener('click', async (event) => {
  const message = $('two-factor-message');
  clearMessage(message);
  const done = busy(event.currentTarget, 'Creating new codes…');
  try {
    const answer = await withSudo(() => api('/api/security/two-factor/recovery-codes', { method: 'POST' }));
    done();
    showRecoveryCodes(answer?.recovery_codes, 'New recovery codes were created and your old ones no longer work.');
    loadActivity();
  } catch (err) {
    done();
    report(message, err);
  }
});

// Turning 2FA off: password and a code (or a recovery code).
let disableWithRecovery = false;
function renderDisableFactor() {
  $('disable-code-field').hidden = disableWithRecovery;
  $('disable-recovery-field').hidden = !disableWithRecovery;
  $('disable-use-recovery').textContent = disableWithRecovery ? 'Use your authenticator app instead' : 'Use a recovery code';
}

$('two-factor-disable').addEventListener('click', () => {
  const form = $('two-factor-disable-form');
  form.reset();
  hidePasswords(form);
  disableWithRecovery = false;
  renderDisableFactor();
  clearMessage($('disable-error'));
  clearMessage($('two-factor-message'));
  form.hidden = false;
  $('disable-password').focus();
});
$('disable-use-recovery').addEventListener('click', () => {
  disableWithRecovery = !disableWithRecovery;
  renderDisableFactor();
  (disableWithRecovery ? $('disable-recovery') : $('disable-code')).focus();
});
$('cancel-disable').addEventListener('click', () => {
  $('two-factor-disable-form').hidden = true;
  $('two-factor-disable').focus();
});

$('two-factor-disable-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('disable-error');
  clearMessage(error);
  const password = $('disable-password');
  const factor = disableWithRecovery ? $('disable-recovery') : $('disable-code');
  markInvalid(password, false);
  markInvalid(factor, false);
  if (!password.value) {
    markInvalid(password, true);
    showError(error, new ApiError(400, 'invalid_input', 'Enter your password.'));
    password.focus();
    return;
  }
  const value = disableWithRecovery ? factor.value.trim().toLowerCase() : factor.value.replace(/\s+/g, '');
  if (disableWithRecovery ? !value : !/^\d{6}$/.test(value)) {
    markInvalid(factor, true);
    showError(
      error,
      new ApiError(400, 'invalid_input', disableWithRecovery ? 'Enter one of your recovery codes.' : 'Enter the 6-digit code from your authenticator app.'),
    );
    factor.focus();
    return;
  }
  const body = disableWithRecovery ? { password: password.value, recovery_code: value } : { password: password.value, code: value };
  const done = busy(event.currentTarget.querySelector('button[type="submit"]'), 'Turning off…');
  try {
    await withSudo(() => api('/api/security/two-factor/disable', { method: 'POST', body }));
    done();
    $('two-factor-disable-form').reset();
    $('two-factor-disable-form').hidden = true;
    state.twoFactorEnabled = false;
    showTwoFactorPart('two-factor-off');
    showSuccess($('two-factor-message'), 'Two-factor authentication is off. We recommend turning it back on.');
    loadOverview();
    loadActivity();
    $('two-factor-setup').focus();
  } catch (err) {
    done();
    report(error, err);
    if (err instanceof ApiError && err.code === 'wrong_password') {
      markInvalid(password, true);
      password.focus();
    } else if (err instanceof ApiError && err.status !== 401) {
      markInvalid(factor, true);
      factor.focus();
    }
  }
});

// ---------- active sessions ----------

function sessionRow(session) {
  const item = document.createElement('li');
  item.className = 'session';
  item.dataset.sessionId = String(session.id ?? '');
  if (session.current) item.classList.add('session-current');

  const icon = document.createElement('img');
  icon.className = 'session-icon';
  icon.src = `/icons/${deviceKind(session.device)}.svg`;
  icon.alt = '';
  icon.width = 24;
  icon.height = 24;

  const body = document.createElement('div');
  body.className = 'session-body';

  const title = document.createElement('p');
  title.className = 'session-title';
  const name = browserOnOs(session);
  const nameEl = document.createElement('span');
  nameEl.textContent = name;
  title.append(nameEl);
  const kind = deviceKind(session.device);
  if (kind !== 'unknown') {
    const kindEl = document.createElement('span');
    kindEl.className = 'visually-hidden';
    kindEl.textContent = ` (${kind})`;
    title.append(kindEl);
  }
  if (session.current) {
    const badge = document.createElement('span');
    badge.className = 'badge badge-on';
    badge.textContent = 'This device';
    title.append(' ', badge);
  }

  const where = document.createElement('p');
  where.className = 'session-meta';
  const place = placeOf(session);
  where.append(place);
  if (typeof session.ip === 'string' && session.ip) {
    where.append(' · ');
    const ip = document.createElement('span');
    ip.className = 'ip';
    ip.textContent = `IP ${session.ip}`;
    where.append(ip);
  }

  const when = document.createElement('p');
  when.className = 'session-meta';
  if (session.current) when.append('Active now');
  else if (isTime(session.last_active_at)) when.append('Last active ', timeElement(session.last_active_at));
  if (isTime(session.created_at)) {
    if (when.childNodes.length) when.append(' · ');
    when.append('Signed in ', timeElement(session.created_at, dayFormat.format(new Date(session.created_at * 1000))));
    const method = signInMethod(session.sign_in_method);
    if (method) when.append(` with ${method}`);
  }

  body.append(title, where, when);

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button button-secondary button-small';
  button.textContent = 'Sign out';
  button.setAttribute(
    'aria-label',
    session.current ? `Sign out this device (${name})` : `Sign out ${name}, ${place}`,
  );
  button.addEventListener('click', () => (session.current ? signOut() : revokeSession(session, name, button)));

  item.append(icon, body, button);
  return item;
}

async function loadSessions() {
  const list = $('sessions-list');
  const message = $('sessions-message');
  list.setAttribute('aria-busy', 'true');
  try {
    const answer = await api('/api/security/sessions');
    const sessions = Array.isArray(answer?.sessions) ? answer.sessions : [];
    sessions.sort((a, b) => Number(Boolean(b.current)) - Number(Boolean(a.current)));
    list.replaceChildren(...sessions.map(sessionRow));
    const others = sessions.filter((s) => !s.current).length;
    $('revoke-others').hidden = others === 0;
    $('only-session').hidden = others !== 0;
    $('overview-sessions').textContent = plural(sessions.length, 'device', 'devices');
    return true;
  } catch (err) {
    report(message, err);
    return false;
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

async function revokeSession(session, name, button) {
  const message = $('sessions-message');
  clearMessage(message);
  const done = busy(button, 'Signing out…');
  try {
    await withSudo(() => api(`/api/security/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' }));
    await loadSessions();
    showSuccess(message, `${name} was signed out.`);
    $('refresh-sessions').focus();
    loadActivity();
  } catch (err) {
    done();
    if (err instanceof ApiError && err.code === 'not_found') {
      showError(message, new ApiError(404, 'not_found', 'That session has already ended.'));
      loadSessions();
      return;
    }
    report(message, err);
  }
}

$('revoke-others').addEventListener('click', async (event) => {
  const message = $('sessions-message');
  clearMessage(message);
  const button = event.currentTarget;
  const done = busy(button, 'Signing out other sessions…');
  try {
    const answer = await withSudo(() => api('/api/security/sessions/revoke-others', { method: 'POST' }));
    done();
    const revoked = typeof answer?.revoked === 'number' ? answer.revoked : null;
    await loadSessions();
    showSuccess(
      message,
      revoked === null ? 'All other sessions were signed out.' : `${plural(revoked, 'other session was', 'other sessions were')} signed out.`,
    );
    $('refresh-sessions').focus();
    loadActivity();
  } catch (err) {
    done();
    report(message, err);
  }
});

$('refresh-sessions').addEventListener('click', async (event) => {
  clearMessage($('sessions-message'));
  const done = busy(event.currentTarget, 'Refreshing…');
  const ok = await loadSessions();
  done();
  if (ok) showSuccess($('sessions-message'), 'The list of sessions is up to date.');
  loadActivity();
});

// ---------- recent security activity ----------

const EVENT_WORDS = {
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
};
const WARNING_EVENTS = new Set(['sign_in_failed', 'locked_out', 'two_factor_disabled', 'recovery_code_used']);

function eventDetail(event) {
  const detail = event.detail && typeof event.detail === 'object' ? event.detail : {};
  if (event.type === 'sign_in') {
    const method = signInMethod(detail.method);
    return method ? `With ${method}` : null;
  }
  if (event.type === 'sign_in_failed') {
    if (detail.factor === 'password') return 'Wrong password';
    if (detail.factor) return 'Wrong code';
    return null;
  }
  if (event.type === 'other_sessions_revoked' || event.type === 'password_changed') {
    const n = detail.revoked ?? detail.signed_out_sessions;
    return typeof n === 'number' && n > 0 ? `${plural(n, 'session', 'sessions')} signed out` : null;
  }
  if (event.type === 'recovery_code_used' && typeof detail.remaining === 'number') {
    return `${plural(detail.remaining, 'code', 'codes')} left`;
  }
  return null;
}

function eventRow(event) {
  const item = document.createElement('li');
  item.className = 'event';
  if (WARNING_EVENTS.has(event.type)) item.classList.add('event-warning');
  const title = document.createElement('p');
  title.className = 'event-title';
  const type = typeof event.type === 'string' ? event.type : 'event';
  title.textContent = EVENT_WORDS[type] || type.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  const detail = eventDetail(event);
  const meta = document.createElement('p');
  meta.className = 'event-meta';
  const parts = [];
  if (detail) parts.push(detail);
  if (event.device) parts.push(browserOnOs(event));
  parts.push(placeOf(event));
  if (typeof event.ip === 'string' && event.ip) parts.push(`IP ${event.ip}`);
  meta.textContent = parts.join(' · ');
  const when = document.createElement('p');
  when.className = 'event-time';
  if (isTime(event.at)) when.append(timeElement(event.at));
  item.append(title, meta, when);
  return item;
}

async function loadActivity() {
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

function refreshAll() {
  loadOverview();
  loadSessions();
  loadActivity();
}

// ---------- start ----------

async function start() {
  wireRevealButtons();
  try {
    const answer = await api('/api/me');
    if (!answer?.user) throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    renderUser(answer.user);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.replace(`/login?next=${encodeURIComponent('/account/security')}`);
      return;
    }
    document.body.classList.remove('is-loading');
    showError($('page-error'), err);
    return;
  }
  updatePasswordRules();
  document.body.classList.remove('is-loading');
  document.body.classList.add('is-ready');
  await Promise.all([loadOverview(), loadSessions(), loadActivity()]);
}

window.addEventListener('unhandledrejection', (event) => {
  // Every action above reports its own errors; anything left is shown rather than lost.
  event.preventDefault();
  showError($('page-error'), new Error(messageOf(event.reason)));
});

start();
