// Shared by the sign-in page and the Security page: one way to call the API, one way to turn any
// answer into a sentence for a person, and the small widgets both pages use. No framework: plain
// DOM, and never innerHTML with anything that came from the network.

/** An API answer that was not a success, already turned into words. */
export class ApiError extends Error {
  constructor(status, code, message, problems = [], retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.problems = problems;
    this.retryAfter = retryAfter;
  }
}

const FALLBACK_CODES = {
  400: 'invalid_input',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Readable words for an answer whose body says nothing usable (a proxy page, an empty body). */
function fallbackMessage(status, retryAfter) {
  if (status === 0) return 'We could not reach WEMASY. Check your internet connection and try again.';
  if (status === 400) return 'Check what you entered and try again.';
  if (status === 401) return 'You are signed out. Sign in to continue.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'This item no longer exists. Refresh the page and try again.';
  if (status === 409) return 'This conflicts with a change made elsewhere. Refresh the page and try again.';
  if (status === 413) return 'What you entered is too long. Shorten it and try again.';
  if (status === 429) return `Too many attempts. Try again ${retryAfter ? `in ${humanSeconds(retryAfter)}` : 'later'}.`;
  if (status >= 500) return 'Something went wrong on our side. Please try again in a moment.';
  return 'Something went wrong. Please try again.';
}

function humanSeconds(seconds) {
  if (seconds <= 1) return 'a second';
  if (seconds < 60) return `${seconds} seconds`;
  if (seconds < 120) return 'a minute';
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** A sentence from the server, if it is one: short plain text, not a JSON or HTML document. */
function sentence(value) {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!text || text.length > 400 || /^[[{<]/.test(text)) return null;
  return text;
}

function problemsOf(error) {
  if (!error || !Array.isArray(error.problems)) return [];
  return error.problems
    .map((p) => ({
      code: typeof p?.code === 'string' ? p.code : typeof p === 'string' ? p : 'problem',
      message: sentence(typeof p === 'string' ? p : p?.message),
    }))
    .filter((p) => p.message);
}

/**
 * Calls the API. Resolves with the parsed JSON (or null for 204); rejects with an ApiError whose
 * message is always a readable sentence.
 */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', fallbackMessage(0));
  }
  let text = '';
  try {
    text = await response.text();
  } catch {
    text = '';
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) {
    if (response.status === 204 || !text) return null;
    if (data === null) throw new ApiError(response.status, 'bad_response', fallbackMessage(500));
    return data;
  }
  const retryHeader = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  const retryAfter = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : null;
  const error = data && typeof data === 'object' ? data.error : null;
  const code = typeof error?.code === 'string' ? error.code : FALLBACK_CODES[response.status] || 'error';
  const message = sentence(error?.message) || fallbackMessage(response.status, retryAfter);
  throw new ApiError(response.status, code, message, problemsOf(error), retryAfter);
}

/** Any thrown value as words: ApiErrors carry theirs; anything else is our bug, said plainly. */
export function messageOf(error) {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong on this page. Reload it and try again.';
}

// ---------- messages (aria-live regions already in the markup) ----------

/** Shows an error in a live region: the message, then the password rules it broke, if any. */
export function showError(region, error) {
  region.replaceChildren();
  const text = document.createElement('p');
  text.textContent = messageOf(error);
  region.append(text);
  const problems = error instanceof ApiError ? error.problems : [];
  if (problems.length) {
    const list = document.createElement('ul');
    for (const problem of problems) {
      const item = document.createElement('li');
      item.textContent = problem.message;
      list.append(item);
    }
    region.append(list);
  }
  region.classList.add('message', 'message-error');
  region.classList.remove('message-success');
}

export function showSuccess(region, text) {
  region.replaceChildren();
  const p = document.createElement('p');
  p.textContent = text;
  region.append(p);
  region.classList.add('message', 'message-success');
  region.classList.remove('message-error');
}

// The regions stay in the page (an empty one takes no space), so screen readers announce changes.
export function clearMessage(region) {
  region.replaceChildren();
}

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

// ---------- password show/hide ----------

/** Wires every `button[data-reveal]` to show or hide the password field it names. */
export function wireRevealButtons(root = document) {
  for (const button of root.querySelectorAll('button[data-reveal]')) {
    const input = document.getElementById(button.dataset.reveal);
    if (!input) continue;
    button.setAttribute('aria-controls', input.id);
    const render = () => {
      const shown = input.type === 'text';
      button.textContent = shown ? 'Hide' : 'Show';
      button.setAttribute('aria-label', shown ? 'Hide password' : 'Show password');
      button.setAttribute('aria-pressed', String(shown));
    };
    button.addEventListener('click', () => {
      input.type = input.type === 'password' ? 'text' : 'password';
      render();
    });
    render();
  }
}

/** Puts every password field of a form back to hidden (after submit, before it is reused). */
export function hidePasswords(form) {
  for (const button of form.querySelectorAll('button[data-reveal]')) {
    const input = document.getElementById(button.dataset.reveal);
    if (input && input.type === 'text') button.click();
  }
}

// ---------- the product's password rules (SPEC §5.2), mirrored for the live checklist ----------

const LETTER = /\p{Alphabetic}/u;
const NUMBER = /\p{N}/u;
const SYMBOL = /[^\p{Alphabetic}\p{N}]/u;

function containsPart(lowered, part) {
  const p = (part || '').toLowerCase();
  return [...p].length >= 3 && lowered.includes(p);
}

/**
 * Which rules a password meets. "Not a common password" is only known to the server: it is
 * checked when the form is sent, and its answer is shown in the form's error region.
 */
export function passwordRules(password, { email = '', name = '' } = {}) {
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

// ---------- small things ----------

/** "Ada Lovelace" → "AL"; one word → its first letter; nothing → the e-mail's first letter. */
export function initialsOf(name, email) {
  const words = (name || '').trim().split(/\s+/).filter(Boolean);
  const first = (word) => [...word][0] || '';
  let initials = '';
  if (words.length >= 2) initials = first(words[0]) + first(words[words.length - 1]);
  else if (words.length === 1) initials = first(words[0]);
  else initials = first(email || '?');
  return initials.toLocaleUpperCase();
}

/** Copies text; resolves true when it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A path on this site to go to after signing in; anything else falls back to the Security page. */
export function safeNext(value) {
  if (typeof value === 'string' && /^\/(?![/\\])[\w\-./?=&%#]*$/.test(value) && !value.startsWith('/login')) {
    return value;
  }
  return '/account/security';
}
