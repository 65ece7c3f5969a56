// The second step after a password, when two-factor authentication is on: a 6-digit code, a
// recovery code, or a passkey (SPEC §5.4, §5.11). The sign-in page asks for it after the
// password; the reset pages (/reset-password, /not-me) after the new password, which waits in
// the same pending sign-in until the second factor is given. Both pages hold the same markup
// (`#two-factor-view` and its fields); this wires it.
import { api } from './api.js';
import { showInfo, clearMessage } from './messages.js';
import { onClick, onSubmit, blame } from './form.js';
import { factorSwitch, factorProblem } from './second-factor.js';
import { passkeysSupported, usePasskey, PasskeyCancelled, forgetIfUnknown } from './webauthn.js';

const $ = (id) => document.getElementById(id);

/**
 * Wires the second step. `done(answer, release)` runs on success (the answer of
 * POST /api/auth/login/two-factor or /api/auth/passkey/two-factor); `ended(err)` is true when it
 * took care of an error (the pending sign-in expired: `unauthenticated`); `notice` is the page's
 * calm status region; `busyLabel`, what the verify button says while it waits. Returns `start()`:
 * a fresh form, and the passkey offered unless `passkeys` is false (call it, then show the view).
 */
export function secondStep({ done, ended, notice, busyLabel = 'Verifying…' }) {
  const view = $('two-factor-view');
  const form = $('two-factor-form');
  const region = $('two-factor-error');
  const option = $('passkey-second-step');

  const factor = factorSwitch({
    button: $('use-recovery'),
    codeField: $('code-group'),
    recoveryField: $('recovery-group'),
    codeInput: $('two-factor-code'),
    recoveryInput: $('two-factor-recovery'),
    onSwitch: () => clearMessage(region),
  });

  /** The person closed the browser's passkey prompt: a calm word, no error. */
  const noPasskeyUsed = (err) => {
    if (!(err instanceof PasskeyCancelled)) return false;
    showInfo(notice, 'No passkey was used. Enter a code from your authenticator app, or try your passkey again.');
    return true;
  };

  // "Use a passkey instead" is offered only when the account has one: its options answer 400 when
  // it has none. The options are asked for at once and kept for the click (their challenge is
  // spent only by an answer to it).
  let options = null;
  const optionsOf = () => api('/api/auth/passkey/two-factor/options', { method: 'POST' });

  async function offerPasskey(passkeys) {
    option.hidden = true;
    options = null;
    if (passkeys === false || !passkeysSupported()) return;
    try {
      options = await optionsOf();
      option.hidden = view.hidden;
    } catch {
      // No passkey (400), or not now: the code and the recovery code remain.
    }
  }

  onClick($('use-passkey'), () => ({
    region,
    busyLabel: 'Waiting for your passkey…',
    send: async () => {
      clearMessage(notice);
      options = options || (await optionsOf());
      const credential = await usePasskey(options);
      options = null;
      try {
        return await api('/api/auth/passkey/two-factor', { method: 'POST', body: { credential } });
      } catch (err) {
        forgetIfUnknown(err, credential);
        throw err;
      }
    },
    stay: true,
    done,
    handled: (err) => noPasskeyUsed(err) || ended(err),
  }));

  onSubmit(form, () => {
    const typed = factor.current();
    return {
      region,
      check: () => factorProblem(typed, 'The code has 6 digits. Check your authenticator app and try again.'),
      busyLabel,
      send: () => api('/api/auth/login/two-factor', { method: 'POST', body: typed.body }),
      stay: true,
      done,
      handled: ended,
      failed: () => blame(typed.input, { select: true }),
    };
  });

  return {
    /** A fresh step (the view is shown by the page first); `passkeys: false` offers none. */
    start({ passkeys } = {}) {
      form.reset();
      factor.reset();
      clearMessage(region);
      offerPasskey(passkeys);
    },
  };
}
