// Passkeys in this browser (WebAuthn, SPEC §5.11): the API sends the ceremony's options in
// WebAuthn's JSON form (`{publicKey: …}`, base64url for bytes) and wants the browser's answer in
// the same form back. Browsers that have the Level 3 JSON helpers
// (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`,
// `credential.toJSON()`) use them; older ones get the few conversions below. What the browser
// refuses becomes words: the person calling it off is `PasskeyCancelled` (nothing went wrong),
// anything else an ApiError with a sentence, shown like the API's own errors.
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

/** Creates a passkey with the options of POST /api/security/passkeys/options; its JSON. */
export async function createPasskey(options) {
  const publicKey = creationOptions(publicKeyOf(options));
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey });
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
