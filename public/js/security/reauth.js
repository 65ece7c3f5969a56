// "Confirm it's you": a change that needs a fresh password (the API answers 403
// `reauth_required`) asks for it in a dialog, and for a code when 2FA is on, then runs again once.
// When the account has a passkey the dialog also offers "Use a passkey", which counts as both.
import { api, ApiError } from '../api.js';
import { clearMessage, showInfo } from '../messages.js';
import { onSubmit, run, markInvalid, blame, Cancelled } from '../form.js';
import { hidePasswords } from '../reveal.js';
import { SIX_DIGITS, digitsOf } from '../second-factor.js';
import { passkeysSupported, usePasskey, PasskeyCancelled } from '../webauthn.js';
import { state, toSignIn } from './page.js';

const $ = (id) => document.getElementById(id);
let settleDialog = null;

/**
 * Calls the API like `api`; when it answers `reauth_required`, the dialog confirms and the call
 * is made again, once. Closing the dialog rejects with `Cancelled` (nothing happened, nothing to
 * show).
 */
export async function sudo(path, options) {
  try {
    return await api(path, options);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'reauth_required') throw err;
    const confirmed = await askToConfirm(err.message);
    if (!confirmed) throw new Cancelled();
    return api(path, options);
  }
}

// Where focus goes back to after the dialog: a busy (disabled) button has lost focus already.
let lastFocused = null;

function askToConfirm(reason) {
  const dialog = $('reauth-dialog');
  const form = $('reauth-form');
  form.reset();
  hidePasswords(form);
  clearMessage($('reauth-error'));
  clearMessage($('reauth-notice'));
  $('reauth-code-field').hidden = !state.twoFactorEnabled;
  $('reauth-passkey').hidden = !(state.passkeyCount > 0 && passkeysSupported());
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

/** The session ended meanwhile: close the dialog and go to the sign-in page. */
function signedOut(err) {
  if (!(err instanceof ApiError && err.status === 401 && err.code === 'unauthenticated')) return false;
  settleDialog?.(false);
  toSignIn();
  return true;
}

/** "Use a passkey": the browser asks for one of the account's passkeys; the worker checks it. */
function wirePasskey() {
  const button = $('reauth-use-passkey');
  button.addEventListener('click', () => {
    clearMessage($('reauth-notice'));
    return run(button, {
      region: $('reauth-error'),
      busyLabel: 'Waiting for your passkey…',
      send: async () => {
        const options = await api('/api/auth/passkey/confirm/options', { method: 'POST' });
        const credential = await usePasskey(options);
        return api('/api/auth/passkey/confirm', { method: 'POST', body: { credential } });
      },
      done: () => settleDialog?.(true),
      handled: (err) => {
        if (!(err instanceof PasskeyCancelled)) return signedOut(err);
        showInfo($('reauth-notice'), 'No passkey was used. Try again, or enter your password.');
        return true;
      },
    });
  });
}

/** Wires the dialog (once, at start). */
export function init() {
  const dialog = $('reauth-dialog');
  document.addEventListener('focusin', (event) => {
    if (!dialog.contains(event.target)) lastFocused = event.target;
  });
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    settleDialog?.(false);
  });
  $('reauth-cancel').addEventListener('click', () => settleDialog?.(false));

  wirePasskey();
  const password = $('reauth-password');
  const code = $('reauth-code');
  onSubmit($('reauth-form'), () => {
    clearMessage($('reauth-notice'));
    const digits = digitsOf(code);
    return {
      region: $('reauth-error'),
      check: () => {
        if (!password.value) return { field: password, message: 'Enter your password.' };
        if (state.twoFactorEnabled && !SIX_DIGITS.test(digits)) {
          return { field: code, message: 'Enter the 6-digit code from your authenticator app.' };
        }
        return null;
      },
      busyLabel: 'Confirming…',
      send: () =>
        api('/api/auth/confirm', {
          method: 'POST',
          body: state.twoFactorEnabled ? { password: password.value, code: digits } : { password: password.value },
        }),
      done: () => settleDialog?.(true),
      handled: signedOut,
      failed: (err) => blame(err instanceof ApiError && err.code === 'invalid_code' ? code : password, { select: true }),
    };
  });
}
