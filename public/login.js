// The sign-in page: sign in (with the password, or a passkey: its button or the e-mail field's
// autofill), create an account, the second-factor step (a code, a recovery code or a passkey:
// js/second-step.js), and "Forgot your password?" (a reset link by e-mail, docs/email.md).
import { api, ApiError } from './js/api.js';
import { showError, showInfo, showSuccess, clearMessage } from './js/messages.js';
import { run, onClick, onSubmit, markInvalid, blame } from './js/form.js';
import { wireRevealButtons, hidePasswords } from './js/reveal.js';
import { liveChecklist } from './js/password-rules.js';
import { secondStep } from './js/second-step.js';
import { passkeysSupported, autofillAvailable, usePasskey, PasskeyCancelled, forgetIfUnknown } from './js/webauthn.js';
import { passwordSignedIn, forgetPasswordSignIn } from './js/auto-passkey.js';

const $ = (id) => document.getElementById(id);
const views = {
  signin: $('signin-view'),
  signup: $('signup-view'),
  'two-factor': $('two-factor-view'),
  forgot: $('forgot-view'),
};
const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next'));

/** A path on this site to go to after signing in; anything else falls back to the Security page. */
function safeNext(value) {
  if (typeof value === 'string' && /^\/(?![/\\])[\w\-./?=&%#]*$/.test(value) && !value.startsWith('/login')) {
    return value;
  }
  return '/account/security';
}

function show(name, { focus = true } = {}) {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
  // The address typed for signing in is most likely the one whose password was forgotten.
  if (name === 'forgot' && !$('forgot-email').value) $('forgot-email').value = $('signin-email').value.trim();
  // Passkey autofill belongs to the sign-in form's e-mail field: offered only while it is shown.
  if (name === 'signin') startAutofill();
  else stopAutofill();
  const titles = { signin: 'Sign in', signup: 'Create your account', 'two-factor': 'Two-factor authentication', forgot: 'Reset your password' };
  document.title = `${titles[name]} – WEMASY`;
  if (!focus) return;
  if (name === 'two-factor') $('two-factor-code').focus();
  else views[name].querySelector('input').focus();
}

function viewFromHash() {
  return { '#signup': 'signup', '#forgot': 'forgot' }[location.hash] || 'signin';
}

function notice(text) {
  const region = $('notice');
  if (text) showInfo(region, text);
  else clearMessage(region);
}

function goOn() {
  location.assign(next);
}

/** Every empty required field is marked; the first one is the problem ("Enter your e-mail address."). */
function firstEmpty(form) {
  let first = null;
  for (const input of form.querySelectorAll('input[required]')) {
    const empty = !input.value.trim();
    markInvalid(input, empty);
    if (empty && !first) first = input;
  }
  return first && { field: first, message: `Enter your ${labelOf(first).toLowerCase()}.` };
}

function labelOf(input) {
  const label = document.querySelector(`label[for="${input.id}"]`);
  return label ? label.textContent.trim().replace(/^Your /, '') : 'details';
}

const isApiError = (err, code) => err instanceof ApiError && err.code === code;

/** The person closed the browser's passkey prompt: a calm word, no error. */
function noPasskeyUsed(err, text) {
  if (!(err instanceof PasskeyCancelled)) return false;
  notice(text);
  return true;
}

// ---------- sign in ----------

const signinForm = $('signin-form');
onSubmit(signinForm, () => ({
  region: $('signin-error'),
  check: () => firstEmpty(signinForm),
  busyLabel: 'Signing in…',
  send: () =>
    api('/api/auth/login', {
      method: 'POST',
      body: { email: signinForm.email.value.trim(), password: signinForm.password.value },
    }),
  stay: true,
  done: (answer, release) => {
    // The password was right: the Security page may ask the password manager for a passkey.
    passwordSignedIn();
    if (!answer?.two_factor_required) return goOn();
    release();
    signinForm.password.value = '';
    hidePasswords(signinForm);
    startTwoFactor();
  },
  failed: (err) => {
    if (isApiError(err, 'invalid_credentials')) blame(signinForm.password, { select: true });
    else signinForm.password.focus();
  },
}));

// ---------- sign in with a passkey: the button, or the e-mail field's autofill ----------

// A challenge lives 300 s: the waiting autofill request asks for a new one before it runs out.
const AUTOFILL_REFRESH_MS = 240000;
let autofill = null; // the AbortController of the waiting autofill request

/** A passkey the worker does not know (removed from the account) is dropped by the password manager. */
async function signInWithPasskey(credential) {
  try {
    return await api('/api/auth/passkey/login', { method: 'POST', body: { credential } });
  } catch (err) {
    forgetIfUnknown(err, credential);
    throw err;
  }
}

/**
 * Offers the account's passkeys in the e-mail field's autofill (conditional mediation) and waits
 * in the background for the person to pick one. Anything going wrong before that stays silent:
 * the password and the passkey button still work.
 */
function startAutofill() {
  if (autofill || !passkeysSupported()) return;
  const controller = new AbortController();
  autofill = controller;
  waitForAutofill(controller).finally(() => {
    if (autofill === controller) autofill = null;
  });
}

function stopAutofill() {
  autofill?.abort();
  autofill = null;
}

async function waitForAutofill(controller) {
  const { signal } = controller;
  if (!(await autofillAvailable()) || signal.aborted) return;
  const refresh = setTimeout(() => {
    if (autofill !== controller) return;
    stopAutofill();
    startAutofill();
  }, AUTOFILL_REFRESH_MS);
  let credential;
  try {
    const options = await api('/api/auth/passkey/options', { method: 'POST' });
    if (signal.aborted) return;
    credential = await usePasskey(options, { mediation: 'conditional', signal });
  } catch {
    return;
  } finally {
    clearTimeout(refresh);
  }
  if (autofill === controller) autofill = null;
  // A passkey was picked in the autofill: the sign-in button shows the sign-in going on.
  await run(signinForm.querySelector('button[type="submit"]'), {
    region: $('signin-error'),
    busyLabel: 'Signing in…',
    send: () => signInWithPasskey(credential),
    stay: true,
    done: goOn,
    failed: () => startAutofill(),
  });
}

const passkeyButton = $('passkey-button');
$('passkey-signin').hidden = !passkeysSupported();
onClick(passkeyButton, () => ({
  region: $('signin-error'),
  busyLabel: 'Waiting for your passkey…',
  send: async () => {
    // One WebAuthn request at a time: the waiting autofill request makes way for this one.
    stopAutofill();
    clearMessage($('notice'));
    const options = await api('/api/auth/passkey/options', { method: 'POST' });
    return signInWithPasskey(await usePasskey(options));
  },
  stay: true,
  done: goOn,
  handled: (err) => {
    const cancelled = noPasskeyUsed(err, 'No passkey was used. Sign in with your password, or try your passkey again.');
    if (cancelled) startAutofill();
    return cancelled;
  },
  failed: () => startAutofill(),
}));

// ---------- create an account ----------

const signupForm = $('signup-form');
liveChecklist(
  $('signup-rules'),
  signupForm.password,
  () => ({ email: signupForm.email.value, name: $('signup-name').value }),
  [signupForm.email, $('signup-name')],
);

onSubmit(signupForm, () => ({
  region: $('signup-error'),
  check: () => firstEmpty(signupForm),
  busyLabel: 'Creating your account…',
  send: () =>
    api('/api/auth/signup', {
      method: 'POST',
      body: { name: $('signup-name').value.trim(), email: signupForm.email.value.trim(), password: signupForm.password.value },
    }),
  stay: true,
  done: goOn,
  failed: (err) => {
    if (err instanceof ApiError && err.problems.length) blame(signupForm.password);
    else if (isApiError(err, 'email_taken')) blame(signupForm.email);
  },
}));

// ---------- second factor ----------

const twoFactor = secondStep({ done: goOn, ended: pendingEnded, notice: $('notice') });

function startTwoFactor() {
  clearMessage($('notice'));
  twoFactor.start();
  show('two-factor');
}

/** The pending sign-in expired (5 minutes) or was used up: start again with the password. */
function pendingEnded(err) {
  if (!isApiError(err, 'unauthenticated')) return false;
  show('signin');
  showError($('signin-error'), new ApiError(401, 'unauthenticated', 'Your sign-in took too long and has expired. Enter your password again.'));
  return true;
}

$('back-to-signin').addEventListener('click', () => {
  show('signin');
});

// ---------- forgot your password ----------

const forgotForm = $('forgot-form');
const RESET_SENT =
  "If an account uses that address, we've sent a link to reset its password. It works for 30 minutes.";

onSubmit(forgotForm, () => ({
  region: $('forgot-error'),
  check: () => {
    clearMessage($('forgot-message'));
    return firstEmpty(forgotForm);
  },
  busyLabel: 'Sending…',
  send: () => api('/api/auth/password-reset', { method: 'POST', body: { email: forgotForm.email.value.trim() } }),
  // The same words for every address: whether it has an account is not told here.
  done: () => showSuccess($('forgot-message'), RESET_SENT),
  failed: () => forgotForm.email.focus(),
}));

// ---------- switching views ----------

for (const link of document.querySelectorAll('a[data-view]')) {
  link.addEventListener('click', (event) => {
    event.preventDefault();
    history.replaceState(null, '', `${location.pathname}${location.search}#${link.dataset.view}`);
    show(link.dataset.view);
  });
}
window.addEventListener('hashchange', () => show(viewFromHash()));

wireRevealButtons();
forgetPasswordSignIn();
show(viewFromHash(), { focus: false });
if (params.get('signed_out') === '1') notice('You have signed out.');
else if (params.get('expired') === '1') notice('Your session has ended. Sign in again to continue.');
