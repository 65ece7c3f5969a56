// The one way every form and action button of both pages runs: check what was entered, make the
// button busy, send, then say what happened in the action's live region (SPEC §6). Each form
// gives only what is its own: its checks, its request, what success changes, and which field an
// error points at.
import { ApiError } from './api.js';
import { showError, clearMessage } from './messages.js';

/** Thrown when the person called an action off (closed "Confirm it's you"): nothing to show. */
export class Cancelled extends Error {}

/** Disables a button while its request runs and says so; returns a function that undoes it. */
export function busy(button, label) {
  const previous = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  return () => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = previous;
  };
}

/** Marks a field as wrong (or right again) for screen readers and the eye. */
export function markInvalid(input, invalid) {
  if (invalid) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** Points at the field at fault: marked, focused, and with `select` its text ready to type over. */
export function blame(field, { select = false } = {}) {
  markInvalid(field, true);
  if (select) field.select();
  field.focus();
}

/**
 * Runs one action of `button`. The steps, all optional but `region` and `send`:
 * - `region`: the live region for this action's messages (cleared first);
 * - `check()`: before anything is sent, `null` or `{ field, message }` (shown, field blamed);
 * - `busyLabel`: what the button says while the request runs;
 * - `send()`: the request (a promise);
 * - `done(answer, release)`: what success changes; the button is released before it, unless
 *   `stay` (the page navigates away, or redraws the button), when `release` is the caller's;
 * - `handled(err)`: true when an error needs something other than a message (another view,
 *   another page); a `Cancelled` needs nothing at all;
 * - `show(region, err)`: how an error is said (default: in the region; the Security page leaves
 *   for /login on a 401 instead);
 * - `failed(err)`: after the error is said, blame the field it is about.
 */
export async function run(button, steps) {
  const { region, check, busyLabel, send, done, stay = false, handled, show = showError, failed } = steps;
  clearMessage(region);
  const problem = check?.();
  if (problem) {
    showError(region, new ApiError(400, 'invalid_input', problem.message));
    blame(problem.field);
    return;
  }
  const release = busy(button, busyLabel);
  try {
    const answer = await send();
    if (!stay) release();
    await done?.(answer, release);
  } catch (err) {
    release();
    if (err instanceof Cancelled || handled?.(err)) return;
    show(region, err);
    failed?.(err);
  }
}

/** Runs `button` through `run` on every click; `stepsOf()` is asked at each click. */
export function onClick(button, stepsOf) {
  button.addEventListener('click', () => run(button, stepsOf()));
}

/**
 * Runs `form` through `run` on every submit (with its submit button), its fields unmarked first.
 * `stepsOf()` is asked at each submit, so a step can keep what the form looked like when sent.
 */
export function onSubmit(form, stepsOf) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const field of form.querySelectorAll('[aria-invalid]')) markInvalid(field, false);
    run(form.querySelector('button[type="submit"]'), stepsOf());
  });
}
