// A passkey without asking, after a password sign-in (issue 24; WebAuthn Level 3 "conditional
// create"): the sign-in page notes that the password was just used, and the Security page, when
// the browser says it can (`getClientCapabilities().conditionalCreate`), asks the password manager
// that filled the password to make a passkey for the account. The password manager decides
// (Chrome's, for one, only right after it filled a saved password); when it does not, nothing
// shows. The note lives in this tab's sessionStorage, a few minutes at most: within the sudo
// window a fresh sign-in opens, which adding a passkey needs.

const KEY = 'wemasy.password-sign-in';
const FRESH_MS = 5 * 60 * 1000;

/** The sign-in page: the password was right, just now. */
export function passwordSignedIn() {
  try {
    sessionStorage.setItem(KEY, String(Date.now()));
  } catch {
    // Storage refused (a private mode, a full quota): no passkey is offered, nothing else changes.
  }
}

/** The sign-in page, as it opens: an earlier note (a sign-in not finished, a sign-out since) goes. */
export function forgetPasswordSignIn() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

/** The Security page: true once when a password sign-in in this tab was this recent. */
export function takePasswordSignIn() {
  let at = NaN;
  try {
    at = Number(sessionStorage.getItem(KEY));
    sessionStorage.removeItem(KEY);
  } catch {
    return false;
  }
  const age = Date.now() - at;
  return Number.isFinite(age) && age >= 0 && age < FRESH_MS;
}
