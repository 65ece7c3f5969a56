// The sign-in page: sign in, create an account, and the second-factor step.
import {
  api,
  ApiError,
  showError,
  showSuccess,
  clearMessage,
  busy,
  markInvalid,
  wireRevealButtons,
  hidePasswords,
  passwordRules,
  renderChecklist,
  safeNext,
} from '/api.js';

const $ = (id) => document.getElementById(id);
const views = { signin: $('signin-view'), signup: $('signup-view'), 'two-factor': $('two-factor-view') };
const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next'));

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

/** Client-side check that each required field has something; returns the first empty one. */
function firstEmpty(form) {
  let first = null;
  for (const input of form.querySelectorAll('input[required]')) {
    const empty = !input.value.trim();
    markInvalid(input, empty);
    if (empty && !first) first = input;
  }
  return first;
}

function requiredMessage(input) {
  const label = form_label(input);
  return new ApiError(400, 'invalid_input', `Enter your ${label.toLowerCase()}.`);
}

function form_label(input) {
  const label = document.querySelector(`label[for="${input.id}"]`);
  return label ? label.textContent.trim().replace(/^Your /, '') : 'details';
}

// ---------- sign in ----------

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('signin-error');
  clearMessage(error);
  const empty = firstEmpty(form);
  if (empty) {
    showError(error, requiredMessage(empty));
    empty.focus();
    return;
  }
  const done = busy(form.querySelector('button[type="submit"]'), 'Signing in…');
  try {
    const answer = await api('/api/auth/login', {
      method: 'POST',
      body: { email: form.email.value.trim(), password: form.password.value },
    });
    if (answer && answer.two_factor_required) {
      done();
      form.password.value = '';
      hidePasswords(form);
      startTwoFactor();
      return;
    }
    goOn();
  } catch (err) {
    done();
    showError(error, err);
    if (err instanceof ApiError && err.code === 'invalid_credentials') {
      markInvalid(form.password, true);
      form.password.select();
    }
    form.password.focus();
  }
});

// ---------- create an account ----------

const signupForm = $('signup-form');
function updateSignupRules() {
  renderChecklist(
    $('signup-rules'),
    passwordRules(signupForm.password.value, { email: signupForm.email.value, name: $('signup-name').value }),
  );
}
for (const input of [signupForm.password, signupForm.email, $('signup-name')]) {
  input.addEventListener('input', updateSignupRules);
}
updateSignupRules();

signupForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('signup-error');
  clearMessage(error);
  const empty = firstEmpty(form);
  if (empty) {
    showError(error, requiredMessage(empty));
    empty.focus();
    return;
  }
  const done = busy(form.querySelector('button[type="submit"]'), 'Creating your account…');
  try {
    await api('/api/auth/signup', {
      method: 'POST',
      body: { name: $('signup-name').value.trim(), email: form.email.value.trim(), password: form.password.value },
    });
    goOn();
  } catch (err) {
    done();
    showError(error, err);
    if (err instanceof ApiError && err.problems.length) {
      markInvalid(form.password, true);
      form.password.focus();
    } else if (err instanceof ApiError && err.code === 'email_taken') {
      markInvalid(form.email, true);
      form.email.focus();
    }
  }
});

// ---------- second factor ----------

let useRecovery = false;

function renderFactor() {
  $('code-group').hidden = useRecovery;
  $('recovery-group').hidden = !useRecovery;
  $('use-recovery').textContent = useRecovery ? 'Use your authenticator app instead' : 'Use a recovery code';
  clearMessage($('two-factor-error'));
}

function startTwoFactor() {
  useRecovery = false;
  $('two-factor-form').reset();
  renderFactor();
  clearMessage($('notice'));
  show('two-factor');
}

$('use-recovery').addEventListener('click', () => {
  useRecovery = !useRecovery;
  renderFactor();
  (useRecovery ? $('two-factor-recovery') : $('two-factor-code')).focus();
});

$('back-to-signin').addEventListener('click', () => {
  show('signin');
});

$('two-factor-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('two-factor-error');
  clearMessage(error);
  const input = useRecovery ? $('two-factor-recovery') : $('two-factor-code');
  const value = useRecovery ? input.value.trim().toLowerCase() : input.value.replace(/\s+/g, '');
  if (!value) {
    markInvalid(input, true);
    showError(error, new ApiError(400, 'invalid_input', useRecovery ? 'Enter one of your recovery codes.' : 'Enter the 6-digit code from your authenticator app.'));
    input.focus();
    return;
  }
  if (!useRecovery && !/^\d{6}$/.test(value)) {
    markInvalid(input, true);
    showError(error, new ApiError(400, 'invalid_input', 'The code has 6 digits. Check your authenticator app and try again.'));
    input.focus();
    return;
  }
  markInvalid(input, false);
  const done = busy(event.currentTarget.querySelector('button[type="submit"]'), 'Verifying…');
  try {
    await api('/api/auth/login/two-factor', {
      method: 'POST',
      body: useRecovery ? { recovery_code: value } : { code: value },
    });
    goOn();
  } catch (err) {
    done();
    if (err instanceof ApiError && err.code === 'unauthenticated') {
      // The pending sign-in expired (5 minutes) or was used up: start again with the password.
      show('signin');
      showError($('signin-error'), new ApiError(401, 'unauthenticated', 'Your sign-in took too long and has expired. Enter your password again.'));
      return;
    }
    showError(error, err);
    markInvalid(input, true);
    input.select();
    input.focus();
  }
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
