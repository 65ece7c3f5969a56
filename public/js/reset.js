// Choosing a new password from a link (docs/email.md), on /reset-password (opened by a mailed
// reset link, or by "Secure my account" on /not-me with the reset token it was given): the token is checked (POST /api/auth/password-reset/check: whose
// account, whether two-factor authentication is on and whether it has a passkey), the new
// password is chosen under the password rules' checklist and sent (POST …/complete). With
// two-factor on, the second step follows, as at sign-in (js/second-step.js), and completes the
// reset. Then every session is signed out, and the person signs in with the new password.
// The page holds the views `checking`, `invalid`, `password`, `two-factor`, `done`.
import { api, ApiError } from './api.js';
import { clearMessage } from './messages.js';
import { run, onSubmit, blame } from './form.js';
import { hidePasswords } from './reveal.js';
import { liveChecklist } from './password-rules.js';
import { secondStep } from './second-step.js';

const $ = (id) => document.getElementById(id);

/** The link was unknown, used, expired or for something else: the server's one answer. */
export const isInvalidToken = (err) => err instanceof ApiError && err.code === 'invalid_token';

/**
 * Wires the reset views of a page (once). `show(name, options)` is the page's view switch
 * (js/link.js); `notice`, its calm status region. Returns `begin(token)`: checks the reset token
 * and asks for the new password (or says the link cannot be used).
 */
export function resetFlow({ show, notice }) {
  let token = null;
  let account = { email: '', twoFactor: false, passkeys: false };

  const form = $('password-form');
  const password = $('new-password');
  const updateRules = liveChecklist($('new-password-rules'), password, () => ({ email: account.email, name: '' }));

  /** "This link has expired or was already used…" (or `words`), with the way to a new one. */
  const expiredWords = $('invalid-text').textContent;
  function cannotUse(words) {
    token = null;
    $('invalid-text').textContent = words || expiredWords;
    show('invalid');
  }

  const linkEnded = (err) => {
    if (!isInvalidToken(err)) return false;
    cannotUse();
    return true;
  };

  function changed() {
    token = null;
    clearMessage(notice);
    show('done');
  }

  // ---------- the link: whose account ----------

  function chosen(answer) {
    if (!answer || typeof answer.email !== 'string') {
      throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    }
    account = { email: answer.email, twoFactor: answer.two_factor === true, passkeys: answer.passkeys === true };
    $('reset-for').textContent = account.email;
    form.reset();
    $('reset-email').value = account.email;
    hidePasswords(form);
    updateRules();
    clearMessage($('password-error'));
    show('password', { focus: password });
  }

  const again = $('check-again');
  const checkSteps = () => ({
    region: $('check-error'),
    busyLabel: 'Checking…',
    send: () => api('/api/auth/password-reset/check', { method: 'POST', body: { token } }),
    done: chosen,
    handled: linkEnded,
    failed: () => {
      // Not the link's fault (no connection, too many tries, our side): it can be tried again.
      $('checking-text').hidden = true;
      again.hidden = false;
      again.focus();
    },
  });
  again.addEventListener('click', () => run(again, checkSteps()));

  // ---------- the new password ----------

  onSubmit(form, () => ({
    region: $('password-error'),
    check: () => (password.value ? null : { field: password, message: 'Enter a new password.' }),
    busyLabel: 'Changing password…',
    send: () => api('/api/auth/password-reset/complete', { method: 'POST', body: { token, new_password: password.value } }),
    done: (answer) => {
      if (!answer?.two_factor_required) {
        changed();
        return;
      }
      // The new password waits on the server until the second factor is given.
      password.value = '';
      hidePasswords(form);
      updateRules();
      twoFactor.start({ passkeys: account.passkeys });
      show('two-factor', { focus: $('two-factor-code') });
    },
    handled: linkEnded,
    failed: (err) => {
      if (err instanceof ApiError && err.problems.length) blame(password);
      else password.focus();
    },
  }));

  // ---------- the second factor, when two-factor authentication is on ----------

  const twoFactor = secondStep({
    notice,
    // {"password_reset": true}: the reset is complete (no session is started).
    done: (answer, release) => {
      release();
      changed();
    },
    // The pending reset expired (5 minutes) or ended: the link was used up by then.
    ended: (err) => {
      if (isInvalidToken(err)) return linkEnded(err);
      if (!(err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated')) return false;
      cannotUse('Changing your password took too long and has expired. Ask for a new link and start again.');
      return true;
    },
  });

  return {
    /** Checks `resetToken`, then asks for the new password; no token: the link cannot be used. */
    begin(resetToken) {
      token = resetToken;
      if (!token) {
        cannotUse();
        return Promise.resolve();
      }
      $('checking-text').hidden = false;
      again.hidden = true;
      show('checking', { focus: false });
      return run(again, checkSteps());
    },
  };
}
