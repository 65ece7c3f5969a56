// The product's password rules (SPEC §5.2), mirrored for the live checklist under a new-password
// field. The server decides: "not a common password" is only known there, and its answer (every
// broken rule) is shown in the form's message region when the form is sent.

const LETTER = /\p{Alphabetic}/u;
const NUMBER = /\p{N}/u;
const SYMBOL = /[^\p{Alphabetic}\p{N}]/u;

function containsPart(lowered, part) {
  const p = (part || '').toLowerCase();
  return [...p].length >= 3 && lowered.includes(p);
}

/** Which rules a password meets, judged in Unicode NFC as the server judges it. */
export function passwordRules(typed, { email = '', name = '' } = {}) {
  const password = typed.normalize('NFC');
  const length = [...password].length;
  const lowered = password.toLowerCase();
  const local = email.includes('@') ? email.slice(0, email.lastIndexOf('@')) : email;
  const personal =
    containsPart(lowered, local.trim()) || name.split(/\s+/).some((word) => containsPart(lowered, word));
  return {
    length: length >= 12 && length <= 256,
    letter: LETTER.test(password),
    number: NUMBER.test(password),
    symbol: SYMBOL.test(password),
    personal: password.length > 0 && !personal,
  };
}

/** Renders a rule checklist (`ul` with `li[data-rule]`) for the current password. */
export function renderChecklist(list, rules) {
  for (const item of list.querySelectorAll('li[data-rule]')) {
    const met = Boolean(rules[item.dataset.rule]);
    item.classList.toggle('met', met);
    const state = item.querySelector('.rule-state');
    if (state) state.textContent = met ? 'Done: ' : 'Not yet: ';
  }
}

/**
 * Keeps `list` in step with `password` as the person types (and as `alsoOn` fields change);
 * `person()` gives the e-mail and name the password must not contain. Returns the update
 * function, for a form that was reset.
 */
export function liveChecklist(list, password, person, alsoOn = []) {
  const update = () => renderChecklist(list, passwordRules(password.value, person()));
  for (const input of [password, ...alsoOn]) input.addEventListener('input', update);
  update();
  return update;
}
