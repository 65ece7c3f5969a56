// /reset-password#token=…: the link of the "Reset your password" mail (docs/email.md). The token
// is taken from the fragment and dropped from the address bar; the page checks it at once (the
// check does not use it up), then asks for the new password and, with two-factor authentication
// on, for the second factor (js/reset.js). "Secure my account" on /not-me opens it too, with the
// reset token its answer gave.
import { messageOf } from './js/api.js';
import { showError, showInfo } from './js/messages.js';
import { wireRevealButtons } from './js/reveal.js';
import { takeToken, viewsOf } from './js/link.js';
import { resetFlow } from './js/reset.js';

const $ = (id) => document.getElementById(id);

// Opened by "Secure my account" on /not-me (every session already ended), not by a mailed link.
const secured = new URLSearchParams(location.hash.slice(1)).has('secured');
const token = takeToken();
const show = viewsOf({
  checking: 'Reset your password',
  invalid: 'This link cannot be used',
  password: 'Choose a new password',
  'two-factor': 'Two-factor authentication',
  done: 'Your password is changed',
});

window.addEventListener('unhandledrejection', (event) => {
  // Every step reports its own errors; anything left is shown rather than lost.
  event.preventDefault();
  showError($('notice'), new Error(messageOf(event.reason)));
});

wireRevealButtons();
if (secured && token) {
  showInfo($('notice'), 'Every device was signed out and no device is trusted any more. Now choose a new password.');
}
resetFlow({ show, notice: $('notice') }).begin(token);
