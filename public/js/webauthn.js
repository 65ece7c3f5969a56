// Passkeys in this browser (WebAuthn, SPEC §5.11): the API sends the ceremony's options in
// WebAuthn's JSON form (`{publicKey: …}`, base64url for bytes) and wants the browser's answer in
// the same form back. Browsers that have the Level 3 JSON helpers
// (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`,
// `credential.toJSON()`) use them; older ones get the few conversions below. What the browser
// refuses becomes words: the person calling it off is `PasskeyCancelled` (nothing went wrong),
// anything else an ApiError with a sentence, shown like the API's own errors.
//
// Also here (issue 24): what the browser says it can do (`getClientCapabilities()`), a request
// that waits in the background (a conditional create) and gives way to one the person asks for,
// and the Signal API, which tells the browser's password manager what this site knows of its
// passkeys. Every one of these is feature-detected and never fails the page: a browser without
// them simply is not told.
import { ApiError } from './api.js';

/** Thrown when no passkey was used: the person closed the browser's prompt, or it timed out. */
export class PasskeyCancelled extends Error {}

/** True when this browser can create and use passkeys at all. */
export function passkeysSupported() {
  return (
    typeof window.PublicKeyCredential === 'function' &&
    typeof navigator.credentials?.create === 'function' &&
    typeof navigator.credentials?.get === 'function'
  );
}

/** True when the browser can offer passkeys in the e-mail field's autofill (conditional UI). */
export async function autofillAvailable() {
  if (!passkeysSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return false;
  try {
    return (await PublicKeyCredential.isConditionalMediationAvailable()) === true;
  } catch {
    return false;
  }
}

// ---------- base64url, for browsers without the JSON helpers ----------

function bytesOf(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function base64urlOf(buffer) {
  if (!buffer) return null;
  const bytes = new Uint8Array(buffer instanceof ArrayBuffer ? buffer : buffer.buffer);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptors = (list) => (Array.isArray(list) ? list.map((d) => ({ ...d, id: bytesOf(d.id) })) : []);

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: bytesOf(json.challenge),
    user: { ...json.user, id: bytesOf(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: bytesOf(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

/** RegistrationResponseJSON or AuthenticationResponseJSON of a credential the browser answered. */
function credentialJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const { response } = credential;
  const json = {
    id: credential.id,
    rawId: base64urlOf(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
  };
  if ('attestationObject' in response) {
    json.response = {
      clientDataJSON: base64urlOf(response.clientDataJSON),
      attestationObject: base64urlOf(response.attestationObject),
      transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
    };
  } else {
    json.response = {
      clientDataJSON: base64urlOf(response.clientDataJSON),
      authenticatorData: base64urlOf(response.authenticatorData),
      signature: base64urlOf(response.signature),
      userHandle: base64urlOf(response.userHandle),
    };
  }
  return json;
}

// ---------- the browser's refusals, as words ----------

function refused(err, creating) {
  const name = err && typeof err === 'object' ? err.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') return new PasskeyCancelled();
  if (creating && name === 'InvalidStateError') {
    return new ApiError(409, 'passkey_exists', 'This device or password manager already has a passkey for your account.');
  }
  if (name === 'SecurityError') {
    return new ApiError(400, 'passkey_unavailable', 'Passkeys cannot be used on this address. Open WEMASY at its usual address and try again.');
  }
  return new ApiError(
    400,
    'passkey_unavailable',
    creating
      ? 'This browser or device could not create a passkey. Try another device or password manager.'
      : 'This browser or device could not use a passkey. Try again, or sign in another way.',
  );
}

/** The answer of the API's options (`{publicKey}`), or a clear error when there is none. */
function publicKeyOf(options) {
  if (!options || typeof options.publicKey !== 'object' || !options.publicKey) {
    throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
  }
  return options.publicKey;
}

// ---------- one request at a time ----------

// The request waiting in the background (a conditional create), if any. Browsers take one WebAuthn
// request at a time ("A request is already pending"): one the person asks for makes it give way.
let background = null;

/** A signal for a request made in the background; the one before it, if any, is aborted. */
export function inBackground() {
  background?.abort();
  background = new AbortController();
  return background.signal;
}

function makeWay() {
  background?.abort();
  background = null;
}

/**
 * Creates a passkey with the options of POST /api/security/passkeys/options; its JSON. `mediation:
 * "conditional"` asks the password manager to make one without asking the person (after a
 * password sign-in); `signal` aborts (rejecting with PasskeyCancelled).
 */
export async function createPasskey(options, { mediation, signal } = {}) {
  if (mediation !== 'conditional') makeWay();
  const request = { publicKey: creationOptions(publicKeyOf(options)) };
  if (mediation) request.mediation = mediation;
  if (signal) request.signal = signal;
  let credential;
  try {
    credential = await navigator.credentials.create(request);
  } catch (err) {
    throw refused(err, true);
  }
  if (!credential) throw new PasskeyCancelled();
  return credentialJSON(credential);
}

/**
 * Asks for a passkey with the options of an `…/options` endpoint; its JSON. `mediation:
 * "conditional"` waits for the person to pick a passkey in the e-mail field's autofill; `signal`
 * aborts (rejecting with PasskeyCancelled).
 */
export async function usePasskey(options, { mediation, signal } = {}) {
  if (mediation !== 'conditional') makeWay();
  const request = { publicKey: requestOptions(publicKeyOf(options)) };
  if (mediation) request.mediation = mediation;
  if (signal) request.signal = signal;
  let credential;
  try {
    credential = await navigator.credentials.get(request);
  } catch (err) {
    throw refused(err, false);
  }
  if (!credential) throw new PasskeyCancelled();
  return credentialJSON(credential);
}

// ---------- what the browser can do ----------

let capabilities = null;

/**
 * `PublicKeyCredential.getClientCapabilities()` (WebAuthn Level 3), asked once: an object of
 * booleans, empty when the browser has no such method or it fails.
 */
export function clientCapabilities() {
  if (!capabilities) {
    capabilities = (async () => {
      if (!passkeysSupported() || typeof PublicKeyCredential.getClientCapabilities !== 'function') return {};
      try {
        const answer = await PublicKeyCredential.getClientCapabilities();
        return answer && typeof answer === 'object' ? answer : {};
      } catch {
        return {};
      }
    })();
  }
  return capabilities;
}

/** True when the browser can create a passkey without asking (conditional create). */
export async function conditionalCreateAvailable() {
  return (await clientCapabilities()).conditionalCreate === true;
}

// ---------- the Signal API: telling the password manager what this site knows ----------

/**
 * The WebAuthn user handle of an account, base64url: the bytes of its id, as the worker makes it
 * (`user_handle` in src/account/passkeys/mod.rs; the `user.id` of the registration options).
 */
export function userHandleOf(userId) {
  return base64urlOf(new TextEncoder().encode(String(userId)));
}

/** The relying party of this page: its host, as the worker's options name it. */
const rpId = () => location.hostname;

/**
 * Calls `PublicKeyCredential[name](details)` where the browser has it. Resolves true when the
 * browser took the signal, false otherwise; never rejects (a signal is a courtesy to the password
 * manager, never a step a page waits on to work).
 */
async function signal(name, details) {
  if (typeof window.PublicKeyCredential !== 'function' || typeof PublicKeyCredential[name] !== 'function') return false;
  try {
    await PublicKeyCredential[name](details);
    return true;
  } catch {
    return false;
  }
}

/**
 * This credential is not one of this site's (the worker said so: it has no passkey with that
 * id, or refused the one just made): the password manager may drop it.
 */
export function signalUnknownCredential(credentialId) {
  if (typeof credentialId !== 'string' || !credentialId) return Promise.resolve(false);
  return signal('signalUnknownCredential', { rpId: rpId(), credentialId });
}

/**
 * Every passkey the account has, by credential id (base64url): the password manager may hide
 * the account's others (removed here, or elsewhere). Call it only with the whole list as the
 * worker answered it, never with a list that failed to load.
 */
export function signalAcceptedCredentials(user, credentialIds) {
  if (!user?.id || !Array.isArray(credentialIds)) return Promise.resolve(false);
  return signal('signalAllAcceptedCredentials', {
    rpId: rpId(),
    userId: userHandleOf(user.id),
    allAcceptedCredentialIds: credentialIds,
  });
}

/**
 * The account's name and display name as passkeys show them (`user.name` is its e-mail address,
 * `user.displayName` its name, as when they were made): kept up to date after an address change.
 */
export function signalCurrentUserDetails(user) {
  if (!user?.id || typeof user.email !== 'string' || !user.email) return Promise.resolve(false);
  return signal('signalCurrentUserDetails', {
    rpId: rpId(),
    userId: userHandleOf(user.id),
    name: user.email,
    displayName: typeof user.name === 'string' && user.name ? user.name : user.email,
  });
}

/**
 * After a passkey ceremony the worker refused: when it said it has no passkey with this
 * credential's id (400 `passkey_unknown`: removed from the account, or never registered), the
 * password manager is told, so it stops offering it. Any other refusal (a wrong challenge, a
 * signature that does not verify, too many tries) says nothing of the passkey: it is kept.
 */
export function forgetIfUnknown(err, credential) {
  if (err instanceof ApiError && err.code === 'passkey_unknown') signalUnknownCredential(credential?.id);
}
