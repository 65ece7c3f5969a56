// /verify-email#token=…: the link of the "Verify your e-mail address" and "Confirm your new e-mail
// address" mails (docs/email.md). The token is taken from the fragment and dropped from the
// address bar, then used once, by a POST from this page (POST /api/auth/verify-email), which
// answers the address it verified. When it also names the account (`user: {id, name}`), the
// browser's password manager is told the new address, so passkeys show it (Signal API; the
// Security page tells it too, each time it opens).
import { api, ApiError, messageOf } from './js/api.js';
import { showError } from './js/messages.js';
import { run } from './js/form.js';
import { takeToken, viewsOf } from './js/link.js';
import { signalCurrentUserDetails } from './js/webauthn.js';

const $ = (id) => document.getElementById(id);

const token = takeToken();
const show = viewsOf({
  checking: 'Verify your e-mail address',
  invalid: 'This link cannot be used',
  done: 'E-mail address verified',
});

const again = $('check-again');
const verifySteps = () => ({
  region: $('check-error'),
  busyLabel: 'Verifying…',
  send: () => api('/api/auth/verify-email', { method: 'POST', body: { token } }),
  done: (answer) => {
    if (typeof answer?.email !== 'string') {
      throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    }
    $('verified-email').textContent = answer.email;
    show('done');
    if (answer.user) signalCurrentUserDetails({ ...answer.user, email: answer.email });
  },
  handled: (err) => {
    if (!(err instanceof ApiError && err.code === 'invalid_token')) return false;
    show('invalid');
    return true;
  },
  failed: () => {
    // Not the link's fault (no connection, too many tries, our side): it can be tried again.
    $('checking-text').hidden = true;
    again.hidden = false;
    again.focus();
  },
});
again.addEventListener('click', () => run(again, verifySteps()));

window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError($('notice'), new Error(messageOf(event.reason)));
});

if (token) run(again, verifySteps());
else show('invalid', { focus: false });
