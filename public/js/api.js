// The HTTP client of both pages: one way to call the API, and one way to turn any answer into a
// sentence for a person (never raw JSON, never a proxy's HTML page).

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

/** A wait as words: "30 seconds", "a minute", "15 minutes". */
export function humanSeconds(seconds) {
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

/** The body as JSON, or null when there is none or it is not JSON. */
async function jsonOf(response) {
  let text = '';
  try {
    text = await response.text();
  } catch {
    text = '';
  }
  if (!text) return { text, data: null };
  try {
    return { text, data: JSON.parse(text) };
  } catch {
    return { text, data: null };
  }
}

/**
 * Calls the API. Resolves with the parsed JSON (or null for 204); rejects with an ApiError whose
 * message is always a readable sentence.
 */
export async function api(path, options = {}) {
  try {
    return await request(path, options);
  } catch (err) {
    // A session bound to this device (DBSC) whose short-lived cookie the browser had not yet
    // renewed: the worker refused before doing anything, and the browser renews it meanwhile.
    if (!(err instanceof ApiError && err.code === 'device_proof_required')) throw err;
    await new Promise((resolve) => setTimeout(resolve, DEVICE_PROOF_RETRY_MS));
    return request(path, options);
  }
}

/** How long a request refused for a missing device proof waits before it is sent once more. */
const DEVICE_PROOF_RETRY_MS = 1500;

async function request(path, { method = 'GET', body } = {}) {
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
  const { text, data } = await jsonOf(response);
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
