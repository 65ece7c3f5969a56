// Passkeys in a real headless Chromium against the real worker (SPEC §5.11, §6), with Chromium's
// virtual authenticator (DevTools protocol, WebAuthn domain) as the person's device: add one on
// the Security page, rename it, sign in with it (the button, the e-mail field's autofill, and the
// second step of a 2FA sign-in), confirm it's you with it, remove it (and the device drops it:
// the Signal API; tests/e2e/passkey-hygiene.test.mjs checks those signals one by one). The virtual authenticator
// answers every request at once, as a person who always picks the passkey offered. So, except in
// the autofill test, the sign-in page's background autofill request (conditional mediation) is
// held in the page: recorded, it waits as it would for a person who does not pick a passkey in
// the e-mail field, until the page aborts it. Every request the page makes is recorded
// (`window.__passkeyRequests`: its mediation and how it ended).
//
// WebAuthn refuses an IP address as relying party id, so these pages are opened on `localhost`
// (a secure context in Chromium: the `__Host-` Secure cookies work there as on 127.0.0.1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  signIn,
  currentStep,
  totpAt,
  freshCode,
  assertAccessible,
  assertNoConsoleErrors,
  readableMessage,
  waitForOrFail,
  screenshot,
  BASE_URL,
} from './helpers.mjs';
import { virtualAuthenticator } from './authenticator.mjs';

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

/**
 * A page on `localhost` whose browser has one virtual platform authenticator (a phone or laptop).
 * `holdAutofill`: autofill requests wait in the page until aborted (see the top of this file).
 */
async function openWithAuthenticator({ width = 1280, height = 900, withoutJsonHelpers = false, holdAutofill = true } = {}) {
  const opened = await openPage(browser, { baseURL: LOCAL_URL, width, height });
  await opened.context.addInitScript((hold) => {
    const credentials = navigator.credentials;
    const get = credentials.get.bind(credentials);
    const requests = [];
    window.__passkeyRequests = requests;
    credentials.get = (options = {}) => {
      const entry = { mediation: options.mediation || 'optional', outcome: 'waiting' };
      requests.push(entry);
      if (hold && options.mediation === 'conditional') {
        return new Promise((_, reject) => {
          const abort = () => {
            entry.outcome = 'AbortError';
            reject(new DOMException('The request was aborted.', 'AbortError'));
          };
          if (options.signal?.aborted) abort();
          else options.signal?.addEventListener('abort', abort);
        });
      }
      return get(options).then(
        (credential) => {
          entry.outcome = 'answered';
          return credential;
        },
        (err) => {
          entry.outcome = err.name;
          throw err;
        },
      );
    };
  }, holdAutofill);
  if (withoutJsonHelpers) {
    // An older browser: no parse…FromJSON, no credential.toJSON(); the page's own conversions run.
    await opened.context.addInitScript(() => {
      delete PublicKeyCredential.parseCreationOptionsFromJSON;
      delete PublicKeyCredential.parseRequestOptionsFromJSON;
      delete PublicKeyCredential.prototype.toJSON;
    });
  }
  const device = await virtualAuthenticator(await opened.context.newCDPSession(opened.page));
  return { ...opened, device };
}

const passkeyRows = (page) => page.locator('#passkeys-list .passkey');
/** What the Security checkup says of the account's passkeys ("1 passkey", "No passkey yet. …"). */
const checkupPasskeys = async (page) => (await page.locator('[data-check="passkeys"] .practice-text').innerText()).trim();
const requestsOf = (page) => page.evaluate(() => window.__passkeyRequests.map((r) => `${r.mediation}: ${r.outcome}`));
const autofillWaiting = (page) =>
  page.waitForFunction(() => window.__passkeyRequests.some((r) => r.mediation === 'conditional' && r.outcome === 'waiting'));
const sessionCookie = async (context) => (await context.cookies()).find((c) => c.name === '__Host-session')?.value;

async function signOutFromMenu(page) {
  await page.getByRole('button', { name: /Account menu/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL('**/login?signed_out=1');
  await page.getByRole('heading', { name: 'Sign in to WEMASY' }).waitFor();
}

/** "Add a passkey" on the Security page (in the sudo window); the new row's Rename form opens. */
async function addPasskey(page) {
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await waitForOrFail(page.getByLabel('Name of this passkey'), page.locator('#passkeys-message.message-error'), 'adding a passkey');
}

test('passkeys: add, rename, sign in with the button, confirm it\'s you, remove', async () => {
  const user = freshUser('passkey');
  const { context, page, errors, device } = await openWithAuthenticator();
  try {
    await signUp(page, user);
    const card = page.locator('#passkeys-card');
    await card.getByRole('heading', { level: 2, name: 'Passkeys' }).waitFor();
    await card.getByText('You have no passkeys yet.').waitFor();
    assert.match(await checkupPasskeys(page), /^No passkey yet\./);

    // 1. Add (just signed up: within the sudo window, no dialog). The device now holds a
    //    discoverable credential for `localhost`; the list shows it, synced, and asks for a name.
    await addPasskey(page);
    assert.match(await readableMessage(page.locator('#passkeys-message')), /^Passkey added\./);
    assert.equal(await passkeyRows(page).count(), 1);
    const held = await device.credentials();
    assert.equal(held.length, 1);
    assert.equal(held[0].rpId, 'localhost');
    assert.equal(held[0].isResidentCredential, true);
    const nameInput = page.getByLabel('Name of this passkey');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'name', 'the name field has focus');
    assert.equal(await nameInput.inputValue(), 'Passkey', 'the name the worker gave, ready to type over');
    assert.match(await passkeyRows(page).first().innerText(), /Synced/);
    assert.match(await passkeyRows(page).first().innerText(), /Added .* · Not used yet/);
    await page.locator('[data-check="passkeys"][data-level="ok"]').waitFor();
    assert.equal(await checkupPasskeys(page), '1 passkey');
    await page.locator('#activity-list .event', { hasText: 'Passkey added' }).waitFor();
    await assertAccessible(page, "a new passkey's Rename form");

    // 2. Rename: an empty name is refused on the page; then "Work laptop" is saved.
    await nameInput.fill('   ');
    await page.getByRole('button', { name: 'Save name' }).click();
    assert.equal(await readableMessage(page.locator('#passkeys-list [role="alert"]')), 'Enter a name for the passkey.');
    assert.equal(await nameInput.getAttribute('aria-invalid'), 'true');
    await nameInput.fill('Work laptop');
    await page.getByRole('button', { name: 'Save name' }).click();
    assert.match(await readableMessage(page.locator('#passkeys-message')), /now called “Work laptop”/);
    const row = passkeyRows(page).first();
    assert.equal((await row.locator('.passkey-name').innerText()).trim(), 'Work laptop');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Rename passkey “Work laptop”');
    // Escape closes a Rename form without saving, and focus goes back to its button.
    await page.keyboard.press('Enter');
    await nameInput.fill('Not saved');
    await page.keyboard.press('Escape');
    assert.equal(await nameInput.isVisible(), false);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'rename');
    assert.equal((await row.locator('.passkey-name').innerText()).trim(), 'Work laptop');

    // 3. The same device cannot hold a second passkey for the account (the browser says so).
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    assert.match(await readableMessage(page.locator('#passkeys-message.message-error')), /already has a passkey for your account/);
    // The person calls the browser's prompt off: a calm word, no error.
    await device.verified(false);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkeys-message.message-info', { hasText: 'No passkey was added' }).waitFor();
    assert.equal(await page.locator('#passkeys-message').evaluate((el) => el.classList.contains('message-error')), false);
    await device.verified(true);
    assert.equal(await passkeyRows(page).count(), 1);

    // Accessible and fitting with a passkey listed; screenshots at 1280 and 360 px.
    await assertAccessible(page, 'security with a passkey at 1280px');
    await screenshot(page, 'security-passkeys-1280');
    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await passkeyRows(page).first().waitFor();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 360, `no sideways scrolling at 360px (${scrollWidth})`);
    await assertAccessible(page, 'security with a passkey at 360px');
    await screenshot(page, 'security-passkeys-360');
    await page.setViewportSize({ width: 1280, height: 900 });

    // 4. Sign out. On /login the autofill request waits in the background; the button makes it
    //    give way (Chromium refuses a second request while one waits: "A request is already
    //    pending"; step 6 checks that the page aborted it).
    await signOutFromMenu(page);
    assert.equal(await page.locator('#signin-email').getAttribute('autocomplete'), 'username webauthn');
    await autofillWaiting(page);
    // Called off first: a calm word in the notice, no error.
    await device.verified(false);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('#notice', { hasText: 'No passkey was used' }).waitFor();
    assert.equal(await page.locator('#signin-error').innerText(), '');
    await device.verified(true);
    await autofillWaiting(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await waitForOrFail(page.locator('#sessions-list .session').first(), page.locator('#signin-error'), 'signing in with a passkey');
    await page.waitForURL('**/account/security');
    const current = page.locator('#sessions-list .session-current');
    assert.match(await current.innerText(), /Signed in with a passkey on /);
    await page.locator('#activity-list .event', { hasText: 'With a passkey' }).first().waitFor();
    await page.locator('#passkeys-list .passkey', { hasText: 'Last used' }).waitFor();

    // 5. Remove, asked once more in the row; the worker wants "Confirm it's you" (answered 403
    //    reauth_required here once: the sign-in just now opened the 10-minute window), and the
    //    dialog offers the passkey. Called off first (a calm word), then used: a new session token.
    await row.getByRole('button', { name: 'Remove passkey “Work laptop”' }).click();
    await row.getByText('Remove “Work laptop”? You will no longer be able to sign in with it.').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Remove passkey');
    let injected = false;
    await page.route('**/api/security/passkeys/*', (route) => {
      if (injected || route.request().method() !== 'DELETE') return route.fallback();
      injected = true;
      return route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }),
      });
    });
    await row.getByRole('button', { name: 'Remove passkey', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
    await dialog.waitFor();
    const usePasskey = dialog.getByRole('button', { name: 'Use a passkey' });
    await usePasskey.waitFor();
    await assertAccessible(page, '"Confirm it\'s you" with a passkey');
    await device.verified(false);
    await usePasskey.click();
    assert.match(await readableMessage(dialog.locator('#reauth-notice')), /No passkey was used/);
    assert.equal(await dialog.locator('#reauth-error').innerText(), '');
    await device.verified(true);
    const before = await sessionCookie(context);
    await usePasskey.click();
    await dialog.waitFor({ state: 'hidden' });
    assert.notEqual(await sessionCookie(context), before, 'confirming issued a new session token');
    assert.match(await readableMessage(page.locator('#passkeys-message')), /“Work laptop” was removed\. Your password keeps working\./);
    await card.getByText('You have no passkeys yet.').waitFor();
    assert.equal(await passkeyRows(page).count(), 0);
    await page.locator('#activity-list .event', { hasText: 'Passkey removed' }).waitFor();
    assert.match(await page.locator('#activity-list .event', { hasText: 'Passkey removed' }).innerText(), /“Work laptop”/);
    await page.locator('[data-check="passkeys"][data-level="info"]').waitFor();
    assert.match(await checkupPasskeys(page), /^No passkey yet\./);

    // 6. The page told the browser which passkeys the account still has (none, Signal API): the
    //    device no longer holds the removed one, so it is not offered again. The password still
    //    signs in.
    await device.gone(held[0].credentialId);
    assert.deepEqual(await device.credentials(), []);
    await signOutFromMenu(page);
    await autofillWaiting(page);
    assert.deepEqual(await requestsOf(page), ['conditional: waiting']);
    await signIn(page, user.email, user.password);
    await page.waitForURL('**/account/security');
    assert.match(await page.locator('#sessions-list .session-current').innerText(), /Signed in with password on /);

    assertNoConsoleErrors(errors, { allowStatuses: [400, 403] });
  } finally {
    await context.close();
  }
});

test('passkey autofill: a passkey picked in the e-mail field signs in', async () => {
  const user = freshUser('autofill');
  const { context, page, errors, device } = await openWithAuthenticator({ width: 390, height: 844, holdAutofill: false });
  try {
    await signUp(page, user);
    await addPasskey(page);
    await page.getByRole('button', { name: 'Cancel' }).click();
    // Not held here: the virtual authenticator answers the autofill request at once, as the
    // person picking the passkey offered under the e-mail field. No button is pressed.
    await page.goto('/login', { waitUntil: 'domcontentloaded' });
    await page.waitForURL('**/account/security');
    await page.locator('#sessions-list .session').nth(1).waitFor();
    assert.match(await page.locator('#sessions-list .session-current').innerText(), /Signed in with a passkey/);
    assert.equal(await device.credentials().then((c) => c.length), 1);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('the list names the password manager or device that holds a passkey, when the worker knows it', async () => {
  // The virtual authenticator has no known AAGUID, so the worker's answer is given here.
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    const listed = [
      { id: 'AAAA', name: 'My phone', created_at: 1767225600, last_used_at: null, synced: true, backup_eligible: true, authenticator: 'Google Password Manager' },
      { id: 'BBBB', name: 'Security key', created_at: 1767225600, last_used_at: 1767312000, synced: false, backup_eligible: false, authenticator: null },
    ];
    await page.route('**/api/security/passkeys', (route) =>
      route.request().method() === 'GET'
        ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ passkeys: listed }) })
        : route.fallback(),
    );
    await signUp(page, freshUser('listed'));
    const rows = passkeyRows(page);
    await rows.nth(1).waitFor();
    assert.match(await rows.nth(0).innerText(), /My phone\s+Synced\s+across your devices\s+Google Password Manager · Added .* · Not used yet/);
    assert.doesNotMatch(await rows.nth(1).innerText(), /Synced|null/);
    assert.match(await rows.nth(1).innerText(), /^Security key\s+Added .* · Last used /);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('second step: a 2FA account with a passkey may use it instead of a code (browser without the JSON helpers)', async () => {
  const user = freshUser('passkey2fa');
  const { context, page, errors, device } = await openWithAuthenticator({ width: 360, height: 740, withoutJsonHelpers: true });
  try {
    await signUp(page, user);
    assert.equal(await page.evaluate(() => typeof PublicKeyCredential.parseRequestOptionsFromJSON), 'undefined');
    // Two-factor authentication on, through the API as the page would (within the sudo window).
    const secret = await page.evaluate(async () => {
      const answer = await fetch('/api/security/two-factor/setup', { method: 'POST' });
      return (await answer.json()).secret;
    });
    const setupStep = currentStep();
    const enabled = await page.evaluate(
      async (code) => (await fetch('/api/security/two-factor/enable', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) })).status,
      totpAt(secret, setupStep),
    );
    assert.equal(enabled, 200);

    // Without a passkey, the second step offers none (its options answer 400).
    await signOutFromMenu(page);
    const offered = page.waitForResponse((r) => r.url().endsWith('/api/auth/passkey/two-factor/options'));
    await signIn(page, user.email, user.password);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    assert.equal((await offered).status(), 400);
    assert.equal(await page.getByRole('button', { name: 'Use a passkey instead' }).isVisible(), false);
    const { code } = await freshCode(secret, setupStep);
    await page.getByLabel('Authentication code').fill(code);
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await waitForOrFail(page.locator('#sessions-list .session').first(), page.locator('#two-factor-error'), 'signing in with a code');

    // A passkey added with the page's own conversions (no parseCreationOptionsFromJSON, no toJSON).
    await addPasskey(page);
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await passkeyRows(page).count(), 1);

    // Now the password's second step offers it (the autofill request of the first step ended
    // with it); called off once (a calm word), then used.
    await signOutFromMenu(page);
    await autofillWaiting(page);
    await page.locator('#signin-email').fill(user.email);
    await page.locator('#signin-password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    const option = page.getByRole('button', { name: 'Use a passkey instead' });
    await option.waitFor();
    assert.deepEqual(await requestsOf(page), ['conditional: AbortError']);
    await assertAccessible(page, 'second step with a passkey at 360px');
    await screenshot(page, 'login-second-step-passkey-360');
    await device.verified(false);
    await option.click();
    assert.match(await readableMessage(page.locator('#notice')), /No passkey was used/);
    await device.verified(true);
    await option.click();
    await waitForOrFail(page.locator('#sessions-list .session').first(), page.locator('#two-factor-error'), 'the second step with a passkey');
    assert.match(await page.locator('#sessions-list .session-current').innerText(), /Signed in with password and a passkey/);
    await page.locator('#activity-list .event', { hasText: 'With password and a passkey' }).waitFor();
    assertNoConsoleErrors(errors, { allowStatuses: [400] });
  } finally {
    await context.close();
  }
});
