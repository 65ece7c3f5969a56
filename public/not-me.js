// /not-me#token=…: the "This wasn't me" link of an alert mail (docs/email.md). The token is taken
// from the fragment and dropped from the address bar; opening the page does nothing else (a mail
// scanner following the link must not sign anyone out). "Secure my account" sends it
// (POST /api/auth/not-me): every session ends, no device is trusted any more, and the answer's
// reset token goes on to "Choose a new password" on /reset-password (its fragment, as a mailed
// reset link would carry it; `secured` says why the page opened).
import { api, ApiError, messageOf } from './js/api.js';
import { showError } from './js/messages.js';
import { onClick } from './js/form.js';
import { takeToken, viewsOf } from './js/link.js';
import { isInvalidToken } from './js/reset.js';

const $ = (id) => document.getElementById(id);

let token = takeToken();
const show = viewsOf({
  ask: 'Secure your account',
  invalid: 'This link cannot be used',
});
const notice = $('notice');

onClick($('secure-button'), () => ({
  region: $('ask-error'),
  busyLabel: 'Securing your account…',
  send: () => api('/api/auth/not-me', { method: 'POST', body: { token } }),
  stay: true,
  done: (answer, release) => {
    release();
    token = null;
    if (typeof answer?.reset_token !== 'string') {
      throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    }
    location.replace(`/reset-password#token=${encodeURIComponent(answer.reset_token)}&secured=1`);
  },
  handled: (err) => {
    if (!isInvalidToken(err)) return false;
    token = null;
    show('invalid');
    return true;
  },
}));

window.addEventListener('unhandledrejection', (event) => {
  // Every step reports its own errors; anything left is shown rather than lost.
  event.preventDefault();
  showError(notice, new Error(messageOf(event.reason)));
});

if (!token) show('invalid', { focus: false });
