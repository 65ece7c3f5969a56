// Passkey hygiene (issue 24) in a real headless Chromium against the real worker, with Chromium's
// virtual authenticator as the person's password manager (tests/e2e/authenticator.mjs):
// - the Signal API: the Security page tells the browser every passkey the account has whenever
//   the list loads (`signalAllAcceptedCredentials`: a passkey removed, here or elsewhere, is
//   dropped), and the account's address and name (`signalCurrentUserDetails`: after an address
//   change, passkeys show the new one); the sign-in page tells it of a passkey the worker does
//   not know (`signalUnknownCredential`), and of no other refused passkey;
// - a passkey without asking after a password sign-in (conditional create), only where the
//   browser says it can, giving way to a passkey the person asks for, and dropped again when
//   the worker refuses it;
// - pages without any of this (an older browser) work as before;
// - `/.well-known/passkey-endpoints`, JSON that sends password managers to the Passkeys card.
// Chromium's authenticator reports what the signals did (`WebAuthn.credentialDeleted`,
// `WebAuthn.credentialUpdated`; both emitted by the Debian Chromium 156 these tests run).
//
// WebAuthn refuses an IP address as relying party id, so these pages are opened on `localhost`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  signIn,
  assertAccessible,
  assertNoConsoleErrors,
  readableMessage,
  waitForOrFail,
  BASE_URL,
} from './helpers.mjs';
import { virtualAuthenticator, watchRequests, requestsOf, base64url, base64 } from './authenticator.mjs';
import { noMailbox, waitForMail, linkOf } from './mailbox.mjs';

const LOCAL_URL = (() => {
  const url = new URL(BASE_URL);
  if (url.hostname === '127.0.0.1' || url.hostname === '[::1]') url.hostname = 'localhost';
  return url.origin;
})();

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A page on `localhost` with a virtual authenticator; `watch`: see `watchRequests`. */
async function openWithAuthenticator({ width = 1280, height = 900, watch = {}, withoutSignals = false } = {}) {
  const opened = await openPage(browser, { baseURL: LOCAL_URL, width, height });
  await watchRequests(opened.context, watch);
  if (withoutSignals) await withoutSignalApi(opened.context);
  const cdp = await opened.context.newCDPSession(opened.page);
  const device = await virtualAuthenticator(cdp);
  return { ...opened, device, cdp };
}

/** A browser before the Signal API and getClientCapabilities (what the pages must live without). */
async function withoutSignalApi(context) {
  await context.addInitScript(() => {
    delete PublicKeyCredential.signalUnknownCredential;
    delete PublicKeyCredential.signalAllAcceptedCredentials;
    delete PublicKeyCredential.signalCurrentUserDetails;
    delete PublicKeyCredential.getClientCapabilities;
  });
}

const passkeyRows = (page) => page.locator('#passkeys-list .passkey');
const userOf = async (page) => (await page.evaluate(async () => (await fetch('/api/me')).json())).user;

/** "Add a passkey" on the Security page (in the sudo window); its Rename form is closed again. */
async function addPasskey(page) {
  await page.locator('#passkeys-card').getByRole('button', { name: 'Add a passkey' }).click();
  await waitForOrFail(page.getByLabel('Name of this passkey'), page.locator('#passkeys-message.message-error'), 'adding a passkey');
  await page.locator('#passkeys-list').getByRole('button', { name: 'Cancel' }).click();
}

async function signOutFromMenu(page) {
  await page.getByRole('button', { name: /Account menu/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL('**/login?signed_out=1');
}

/** Gives the page a moment in which a signal it should not send would have arrived. */
const quietly = (page) => page.waitForTimeout(750);

// ---------- the Signal API ----------

test('Signal API: the Security page tells the browser which passkeys the account has; one it does not have, or no longer has, is dropped', async () => {
  const user = freshUser('signalall');
  const { context, page, errors, device, cdp } = await openWithAuthenticator();
  try {
    await signUp(page, user);
    await addPasskey(page);
    const [kept] = await device.credentials();
    const account = await userOf(page);

    // A passkey for this account the worker never had, on a security key (an authenticator
    // holds one passkey per account): the next load of the list drops it there, and keeps the
    // one the account has.
    const other = await virtualAuthenticator(cdp, { transport: 'usb' });
    const stray = await other.plant({ userId: account.id, name: user.email, displayName: user.name });
    await page.reload();
    await passkeyRows(page).first().waitFor();
    await other.gone(stray);
    assert.deepEqual(await other.credentials(), []);
    assert.deepEqual((await device.credentials()).map((c) => c.credentialId), [kept.credentialId]);
    assert.equal(await passkeyRows(page).first().getAttribute('data-passkey-id'), base64url(kept.credentialId));

    // Removed here: the list that loads after says there is none left; the device drops it.
    const row = passkeyRows(page).first();
    await row.getByRole('button', { name: /^Remove passkey / }).click();
    await row.getByRole('button', { name: 'Remove passkey', exact: true }).click();
    await page.locator('#passkeys-list .empty').waitFor();
    await device.gone(kept.credentialId);
    assert.deepEqual(await device.credentials(), []);
    assert.deepEqual(device.deleted, [kept.credentialId]);
    assert.deepEqual(other.deleted, [stray]);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('Signal API: passkeys show the account\'s address, and its new one once the change is confirmed', { skip: noMailbox }, async () => {
  const user = freshUser('signalname');
  const next = `renamed.${randomBytes(6).toString('hex')}@example.com`;
  const { context, page, errors, device } = await openWithAuthenticator();
  try {
    await signUp(page, user);
    await addPasskey(page);
    const [held] = await device.credentials();
    assert.equal(held.userName, user.email);

    // The address changes when the link mailed to the new one is opened (here, in this tab).
    await page.getByRole('button', { name: 'Change e-mail address' }).click();
    await page.getByLabel('New e-mail address').fill(next);
    await page.locator('#email-form').getByRole('button', { name: 'Send the link', exact: true }).click();
    await readableMessage(page.locator('#email-message'));
    const mail = await waitForMail(next, /confirm your new e-mail address/i);
    await page.goto(linkOf(mail, 'verify-email'), { waitUntil: 'domcontentloaded' });
    await page.getByRole('heading', { name: 'E-mail address verified' }).waitFor();
    await page.getByRole('link', { name: 'Go to the Security page' }).click();
    await page.locator('#email-address', { hasText: next }).waitFor();

    // The passkey the device holds now shows the new address; its display name is the name.
    await device.renamed(held.credentialId, next);
    const [renamed] = await device.credentials();
    assert.equal(renamed.userName, next);
    assert.equal(renamed.userDisplayName, user.name);
    assert.equal(renamed.credentialId, held.credentialId, 'the same passkey');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('Signal API: after a sign-in with a passkey the worker does not know, the browser drops it; a passkey refused for another reason is kept', async () => {
  const user = freshUser('signalunknown');
  const { context, page, errors, device } = await openWithAuthenticator({ width: 360, height: 740 });
  try {
    await signUp(page, user);
    const account = await userOf(page);
    await signOutFromMenu(page);
    // A passkey for the account that the worker never registered (removed from the account
    // while this device was away, say).
    const stray = await device.plant({ userId: account.id, name: user.email, displayName: user.name });

    // The worker answers a sign-in with a credential no account has 400 `passkey_unknown`. First
    // a refusal for another reason is given here, then the worker's own answer passes through.
    const answers = [];
    let phase = 'other';
    await page.route('**/api/auth/passkey/login', async (route) => {
      if (phase === 'other') {
        // Refused for another reason (a challenge run out, a signature that does not verify).
        answers.push('400 passkey_rejected (given here)');
        return route.fulfill({
          status: 400,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'passkey_rejected', message: 'That passkey could not be verified. Try again, or sign in another way.' } }),
        });
      }
      const response = await route.fetch();
      const body = await response.json();
      answers.push(`${response.status()} ${body?.error?.code}`);
      return route.fulfill({ response, json: body });
    });

    // 1. Refused without saying the passkey is unknown: the page says so, and the browser is not
    //    told to drop the passkey.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    assert.match(await readableMessage(page.locator('#signin-error')), /passkey could not be verified/);
    await quietly(page);
    assert.deepEqual(device.deleted, []);
    assert.equal((await device.credentials()).length, 1);

    // 2. Unknown: said, and the browser drops it.
    phase = 'unknown';
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await device.gone(stray);
    await readableMessage(page.locator('#signin-error'));
    assert.deepEqual(await device.credentials(), []);
    assert.equal(answers.length, 2);
    assert.equal(answers[1], '400 passkey_unknown');
    await assertAccessible(page, 'sign-in after an unknown passkey at 360 px');

    // The password still signs in.
    await signIn(page, user.email, user.password);
    await page.waitForURL('**/account/security');
    assertNoConsoleErrors(errors, { allowStatuses: [400] });
  } finally {
    await context.close();
  }
});

test('Signal API absent (an older browser): the pages work as before and ask for nothing', async () => {
  const user = freshUser('nosignals');
  const { context, page, errors, device } = await openWithAuthenticator({ withoutSignals: true });
  try {
    await signUp(page, user);
    assert.equal(await page.evaluate(() => typeof PublicKeyCredential.signalAllAcceptedCredentials), 'undefined');
    await addPasskey(page);
    const [held] = await device.credentials();
    const row = passkeyRows(page).first();
    await row.getByRole('button', { name: /^Remove passkey / }).click();
    await row.getByRole('button', { name: 'Remove passkey', exact: true }).click();
    await page.locator('#passkeys-list .empty').waitFor();
    // Nobody told the browser: it keeps the passkey, and nothing broke.
    await quietly(page);
    assert.deepEqual(device.deleted, []);
    assert.deepEqual((await device.credentials()).map((c) => c.credentialId), [held.credentialId]);

    // Without getClientCapabilities no passkey is asked for after a password sign-in.
    await signOutFromMenu(page);
    await signIn(page, user.email, user.password);
    await page.waitForURL('**/account/security');
    await page.locator('#checkup-list .practice').first().waitFor();
    await quietly(page);
    assert.deepEqual(
      (await requestsOf(page)).filter((r) => r.startsWith('create')),
      [],
      'no conditional create without getClientCapabilities',
    );
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('a browser without WebAuthn at all: the Security page and its checkup work', async () => {
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await context.addInitScript(() => {
      delete window.PublicKeyCredential;
    });
    await signUp(page, freshUser('nowebauthn'));
    const passkeys = page.locator('[data-check="passkeys"]');
    await passkeys.waitFor();
    assert.match(await passkeys.innerText(), /This browser cannot create one\./);
    assert.equal(await passkeys.getByRole('link', { name: 'About passkeys' }).count(), 1);
    assert.equal(await page.locator('#passkeys-unsupported').isVisible(), true);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

// ---------- a passkey without asking, after a password sign-in ----------

/** Signs up, signs out and signs in again with the password: the Security page opens after it. */
async function signInWithPassword(page, user) {
  await signUp(page, user);
  await signOutFromMenu(page);
  await signIn(page, user.email, user.password);
  await page.waitForURL('**/account/security');
}

test('conditional create: after a password sign-in the password manager is asked for a passkey, and when it makes one the worker adds it', async () => {
  const user = freshUser('autopasskey');
  const { context, page, errors, device } = await openWithAuthenticator({ watch: { conditionalCreate: 'agree' } });
  try {
    // Chromium says it can (getClientCapabilities().conditionalCreate).
    const options = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/api/security/passkeys/options')) options.push(request.postDataJSON?.() ?? null);
    });
    await signUp(page, user);
    assert.equal(await page.evaluate(async () => (await PublicKeyCredential.getClientCapabilities()).conditionalCreate), true);
    // A sign-up is no password sign-in: nothing is asked for.
    await page.locator('#checkup-list .practice').first().waitFor();
    await quietly(page);
    assert.deepEqual(await requestsOf(page), []);

    await signOutFromMenu(page);
    await signIn(page, user.email, user.password);
    await page.waitForURL('**/account/security');
    assert.match(
      await readableMessage(page.locator('#passkeys-message')),
      /^Your password manager saved a passkey for WEMASY \(“.+”\)\. Next time you can sign in with it instead of your password\.$/,
    );
    assert.deepEqual(await requestsOf(page), ['create conditional: answered']);
    assert.deepEqual(options, [{ mediation: 'conditional' }]);
    assert.equal(await passkeyRows(page).count(), 1);
    const [held] = await device.credentials();
    assert.equal(await passkeyRows(page).first().getAttribute('data-passkey-id'), base64url(held.credentialId));
    await page.locator('[data-check="passkeys"][data-level="ok"]').waitFor();
    await page.locator('#activity-list .event', { hasText: 'Passkey added' }).waitFor();

    // Once: a reload does not ask again.
    await page.reload();
    await passkeyRows(page).first().waitFor();
    await quietly(page);
    assert.deepEqual(await requestsOf(page), []);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('conditional create: a passkey the worker refuses is dropped again; one still waiting gives way to "Create a passkey"', async () => {
  const user = freshUser('autorefused');
  const agreeing = await openWithAuthenticator({ watch: { conditionalCreate: 'agree' }, width: 360, height: 740 });
  const waiting = await openWithAuthenticator({ watch: { conditionalCreate: 'hold' } });
  try {
    // 1. The password manager makes one, the worker refuses it (400): the browser is told to
    //    drop it, and the page says nothing (nobody asked for a passkey).
    await agreeing.page.route('**/api/security/passkeys', (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 400,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'passkey_rejected', message: 'That passkey could not be verified. Try again, or sign in another way.' } }),
          })
        : route.fallback(),
    );
    await signInWithPassword(agreeing.page, user);
    await agreeing.page.waitForFunction(() => window.__webauthn.some((r) => r.kind === 'create' && r.outcome === 'answered'));
    const made = await agreeing.page.evaluate(() => window.__webauthn.find((r) => r.kind === 'create').id);
    await agreeing.device.gone(base64(made));
    assert.deepEqual(await agreeing.device.credentials(), []);
    assert.equal(await agreeing.page.locator('#passkeys-message').innerText(), '');
    assert.equal(await agreeing.page.locator('#page-error').innerText(), '');
    await agreeing.page.locator('#passkeys-list .empty').waitFor();

    // 2. The password manager does not answer (Chromium's own conditional create waits): the
    //    request waits in the background, and gives way when the person asks for a passkey.
    await signIn(waiting.page, user.email, user.password);
    await waiting.page.waitForURL('**/account/security');
    await waiting.page.waitForFunction(() => window.__webauthn.some((r) => r.kind === 'create' && r.mediation === 'conditional'));
    await waiting.page.locator('[data-check="passkeys"]').getByRole('button', { name: 'Create a passkey' }).click();
    await waitForOrFail(waiting.page.getByLabel('Name of this passkey'), waiting.page.locator('#passkeys-message.message-error'), 'creating a passkey from the checkup');
    assert.deepEqual(await requestsOf(waiting.page), ['create conditional: AbortError', 'create optional: answered']);
    assert.equal((await waiting.device.credentials()).length, 1);
    await waiting.page.locator('[data-check="passkeys"][data-level="ok"]').waitFor();

    assertNoConsoleErrors(agreeing.errors, { allowStatuses: [400] });
    assertNoConsoleErrors(waiting.errors);
  } finally {
    await agreeing.context.close();
    await waiting.context.close();
  }
});

test('conditional create: not asked for where the browser says it cannot', async () => {
  const user = freshUser('autonot');
  const { context, page, errors } = await openWithAuthenticator({ watch: { conditionalCreate: 'agree', capabilities: { conditionalCreate: false, conditionalGet: true } } });
  try {
    const options = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/api/security/passkeys/options')) options.push(request.url());
    });
    await signInWithPassword(page, user);
    await page.locator('#checkup-list .practice').first().waitFor();
    await quietly(page);
    assert.deepEqual((await requestsOf(page)).filter((r) => r.startsWith('create')), []);
    assert.deepEqual(options, [], 'no options asked for');
    assert.equal(await passkeyRows(page).count(), 0);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

// ---------- /.well-known/passkey-endpoints ----------

test('/.well-known/passkey-endpoints answers JSON that sends password managers to the Passkeys card', async () => {
  const endpoint = `${BASE_URL}/.well-known/passkey-endpoints`;
  const response = await fetch(endpoint, { redirect: 'manual' });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') || '', /^application\/json\b/);
  const body = await response.json();
  assert.deepEqual(Object.keys(body).sort(), ['enroll', 'manage']);
  for (const key of ['enroll', 'manage']) {
    // The URL as a client resolves it against the endpoint.
    assert.equal(new URL(body[key], endpoint).href, `${BASE_URL}/account/security#passkeys`, key);
  }

  // Followed by a signed-out person: sign in, then the Passkeys card with "Add a passkey" focused.
  const user = freshUser('endpoints');
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(page, user);
    await signOutFromMenu(page);
    await page.goto(new URL(body.enroll, endpoint).href, { waitUntil: 'domcontentloaded' });
    await page.waitForURL('**/login?next=%2Faccount%2Fsecurity%23passkeys');
    await page.locator('#signin-email').fill(user.email);
    await page.locator('#signin-password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL('**/account/security#passkeys');
    await page.waitForFunction(() => document.activeElement?.id === 'add-passkey');
    assertNoConsoleErrors(errors, { allowStatuses: [401] });
  } finally {
    await context.close();
  }
});
