// The sign-in page: sign in, create an account, and the second-factor step.
import { api, ApiError } from './js/api.js';
import { showError, showSuccess, clearMessage } from './js/messages.js';
import { onSubmit, markInvalid, blame } from './js/form.js';
import { wireRevealButtons, hidePasswords } from './js/reveal.js';
import { liveChecklist } from './js/password-rules.js';
import { factorSwitch, factorProblem } from './js/second-factor.js';

const $ = (id) => document.getElementById(id);
const views = { signin: $('signin-view'), signup: $('signup-view'), 'two-factor': $('two-factor-view') };
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
  document.title = { signin: 'Sign in', signup: 'Create your account', 'two-factor': 'Two-factor authentication' }[name] + ' – WEMASY';
  if (!focus) return;
  if (name === 'two-factor') $('two-factor-code').focus();
  else views[name].querySelector('input').focus();
}

function viewFromHash() {
  return location.hash === '#signup' ? 'signup' : 'signin';
}

function notice(text) {
  const region = $('notice');
  if (text) showSuccess(region, text);
  else clearMessage(region);
  region.classList.add('message-info');
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

const factor = factorSwitch({
  button: $('use-recovery'),
  codeField: $('code-group'),
  recoveryField: $('recovery-group'),
  codeInput: $('two-factor-code'),
  recoveryInput: $('two-factor-recovery'),
  onSwitch: () => clearMessage($('two-factor-error')),
});

function startTwoFactor() {
  $('two-factor-form').reset();
  factor.reset();
  clearMessage($('notice'));
  show('two-factor');
}

$('back-to-signin').addEventListener('click', () => {
  show('signin');
});

onSubmit($('two-factor-form'), () => {
  const typed = factor.current();
  return {
    region: $('two-factor-error'),
    check: () => factorProblem(typed, 'The code has 6 digits. Check your authenticator app and try again.'),
    busyLabel: 'Verifying…',
    send: () => api('/api/auth/login/two-factor', { method: 'POST', body: typed.body }),
    stay: true,
    done: goOn,
    handled: (err) => {
      if (!isApiError(err, 'unauthenticated')) return false;
      // The pending sign-in expired (5 minutes) or was used up: start again with the password.
      show('signin');
      showError($('signin-error'), new ApiError(401, 'unauthenticated', 'Your sign-in took too long and has expired. Enter your password again.'));
      return true;
    },
    failed: () => blame(typed.input, { select: true }),
  };
});

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
show(viewFromHash(), { focus: false });
if (params.get('signed_out') === '1') notice('You have signed out.');
else if (params.get('expired') === '1') notice('Your session has ended. Sign in again to continue.');
