// A second factor asked for in a form: a 6-digit code from the authenticator app, or, after
// "Use a recovery code", one of the recovery codes (the sign-in step and "Turn off" both ask).

export const SIX_DIGITS = /^\d{6}$/;

/** What was typed in a code field, as the API wants it: the digits without spaces. */
export const digitsOf = (input) => input.value.replace(/\s+/g, '');

/**
 * Wires the switch between the two fields. `onSwitch()` runs each time the fields change over.
 * Returns `reset()` (back to the code) and `current()`: the field in use, its value as the API
 * wants it, and that value as body fields (`{ code }` or `{ recovery_code }`).
 */
export function factorSwitch({ button, codeField, recoveryField, codeInput, recoveryInput, onSwitch }) {
  let recovery = false;
  const render = () => {
    codeField.hidden = recovery;
    recoveryField.hidden = !recovery;
    button.textContent = recovery ? 'Use your authenticator app instead' : 'Use a recovery code';
    onSwitch?.();
  };
  button.addEventListener('click', () => {
    recovery = !recovery;
    render();
    (recovery ? recoveryInput : codeInput).focus();
  });
  return {
    reset() {
      recovery = false;
      render();
    },
    current() {
      if (recovery) {
        const value = recoveryInput.value.trim().toLowerCase();
        return { recovery, input: recoveryInput, value, body: { recovery_code: value } };
      }
      const value = digitsOf(codeInput);
      return { recovery, input: codeInput, value, body: { code: value } };
    },
  };
}

/** The problem with the factor as typed, if any (`malformed`: said of a code that is not 6 digits). */
export function factorProblem({ recovery, input, value }, malformed) {
  if (recovery) return value ? null : { field: input, message: 'Enter one of your recovery codes.' };
  if (!value) return { field: input, message: 'Enter the 6-digit code from your authenticator app.' };
  return SIX_DIGITS.test(value) ? null : { field: input, message: malformed };
}
