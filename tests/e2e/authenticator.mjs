// Chromium's virtual authenticator (DevTools protocol, WebAuthn domain) as the person's phone or
// laptop, for the passkey tests. Besides making and using passkeys it reports what the page's
// Signal API calls did to the passkeys it holds: Chromium (checked with 156) emits
// `WebAuthn.credentialDeleted` when `signalUnknownCredential` / `signalAllAcceptedCredentials`
// drops one and `WebAuthn.credentialUpdated` when `signalCurrentUserDetails` renames one, once
// the domain is enabled (`WebAuthn.enable`, `enableUI: false`: no browser UI to click through).
//
// The protocol names credentials in standard base64 with padding; WebAuthn and the API in
// base64url. `base64url()` turns one into the other.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** A protocol credential id (base64, padded) as WebAuthn's JSON names it (base64url). */
export const base64url = (base64) => base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** WebAuthn's base64url as the protocol wants it (base64, padded). */
export const base64 = (base64urlText) => {
  const plain = base64urlText.replace(/-/g, '+').replace(/_/g, '/');
  return plain + '='.repeat((4 - (plain.length % 4)) % 4);
};

/** The account's WebAuthn user handle, as the worker makes it: the bytes of its id (base64, padded). */
export const userHandleOf = (userId) => Buffer.from(userId, 'utf8').toString('base64');

/**
 * One virtual platform authenticator (user verification on, presence answered at once, synced
 * passkeys) attached to `page` through `cdp` (its CDP session). Chromium takes one `internal`
 * (platform) authenticator per browser; a second device is another `transport` (`usb`: a
 * security key), whose passkeys the first never sees. Returns the device:
 * - `verified(on)`: off, the person fails the fingerprint or face check (NotAllowedError);
 * - `credentials()`: the passkeys it holds (protocol form);
 * - `deleted` / `updated`: the credential ids (protocol form) the Signal API dropped / renamed,
 *   in order, and `gone(id)` / `renamed(id, name)`: wait (10 s at most) until it happens;
 * - `plant({ userId, name, displayName })`: a passkey for `localhost` the worker never saw (made
 *   here, not through a page), as if left over from an account or passkey removed elsewhere;
 *   resolves its id (protocol form).
 */
export async function virtualAuthenticator(cdp, { transport = 'internal' } = {}) {
  const deleted = [];
  const updated = [];
  const waiters = new Set();
  const settle = () => {
    for (const waiter of waiters) waiter();
  };
  let authenticatorId = null;
  cdp.on('WebAuthn.credentialDeleted', (event) => {
    if (event.authenticatorId !== authenticatorId) return;
    deleted.push(event.credentialId);
    settle();
  });
  cdp.on('WebAuthn.credentialUpdated', (event) => {
    if (event.authenticatorId !== authenticatorId) return;
    updated.push({ id: event.credential.credentialId, name: event.credential.userName, displayName: event.credential.userDisplayName });
    settle();
  });
  await cdp.send('WebAuthn.enable', { enableUI: false });
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport,
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      // A passkey that syncs (backup eligible and backed up): the page says "Synced".
      defaultBackupEligibility: true,
      defaultBackupState: true,
    },
  }));

  /** Resolves once `happened()` is true, or fails after 10 s naming `what`. */
  function until(happened, what) {
    if (happened()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the authenticator saw no ${what} within 10 s (deleted: ${JSON.stringify(deleted)}, updated: ${JSON.stringify(updated)})`));
      }, 10000);
      const check = () => {
        if (!happened()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  }

  return {
    deleted,
    updated,
    verified: (isUserVerified) => cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified }),
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    gone: (id) => until(() => deleted.includes(id), `deletion of ${id}`),
    renamed: (id, name) => until(() => updated.some((u) => u.id === id && u.name === name), `rename of ${id} to ${name}`),
    async plant({ userId, name, displayName = name }) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const credentialId = randomBytes(16).toString('base64');
      await cdp.send('WebAuthn.addCredential', {
        authenticatorId,
        credential: {
          credentialId,
          isResidentCredential: true,
          rpId: 'localhost',
          privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
          userHandle: userHandleOf(userId),
          signCount: 0,
          backupEligibility: true,
          backupState: true,
          userName: name,
          userDisplayName: displayName,
        },
      });
      return credentialId;
    },
  };
}

/**
 * Records every WebAuthn request the pages of `context` make (`window.__webauthn`: `{ kind:
 * 'get' | 'create', mediation, outcome }`, outcome `waiting`, `answered` or the error's name) and
 * decides what the conditional ones do, as a person or password manager would:
 * - `autofill: 'hold'` (default): a conditional get (the e-mail field's autofill) waits until the
 *   page aborts it, as for a person who does not pick a passkey there; `'pass'`: the virtual
 *   authenticator answers it at once;
 * - `conditionalCreate: 'hold'` (default): a conditional create waits until aborted (as Chromium's
 *   virtual authenticator does by itself: it never makes one); `'agree'`: the password manager
 *   agrees, and the virtual authenticator makes the passkey (a plain create, so its flags say
 *   the user was present and verified, as the worker wants today).
 * `capabilities`: what `PublicKeyCredential.getClientCapabilities()` answers instead of
 * Chromium's own (`null`: the method is missing, as in browsers before it).
 */
export async function watchRequests(context, { autofill = 'hold', conditionalCreate = 'hold', capabilities } = {}) {
  await context.addInitScript(
    ({ autofill, conditionalCreate, capabilities, overrideCapabilities }) => {
      const credentials = navigator.credentials;
      const real = { get: credentials.get.bind(credentials), create: credentials.create.bind(credentials) };
      const requests = [];
      window.__webauthn = requests;
      const held = (entry, signal) =>
        new Promise((_, reject) => {
          const abort = () => {
            entry.outcome = 'AbortError';
            reject(new DOMException('The request was aborted.', 'AbortError'));
          };
          if (signal?.aborted) abort();
          else signal?.addEventListener('abort', abort);
        });
      const watched = (kind) => (options = {}) => {
        const entry = { kind, mediation: options.mediation || 'optional', outcome: 'waiting' };
        requests.push(entry);
        let answer;
        if (options.mediation === 'conditional' && kind === 'get' && autofill === 'hold') return held(entry, options.signal);
        if (options.mediation === 'conditional' && kind === 'create') {
          if (conditionalCreate === 'hold') return held(entry, options.signal);
          const { mediation, ...plain } = options;
          answer = real.create(plain);
        } else {
          answer = real[kind](options);
        }
        return answer.then(
          (credential) => {
            entry.outcome = 'answered';
            entry.id = credential?.id;
            return credential;
          },
          (err) => {
            entry.outcome = err.name;
            throw err;
          },
        );
      };
      credentials.get = watched('get');
      credentials.create = watched('create');
      if (overrideCapabilities) {
        if (capabilities === null) delete PublicKeyCredential.getClientCapabilities;
        else PublicKeyCredential.getClientCapabilities = async () => capabilities;
      }
    },
    { autofill, conditionalCreate, capabilities: capabilities ?? null, overrideCapabilities: capabilities !== undefined },
  );
}

/** The requests `page` made so far, as `kind mediation: outcome` lines. */
export const requestsOf = (page) => page.evaluate(() => window.__webauthn.map((r) => `${r.kind} ${r.mediation}: ${r.outcome}`));
