// The whole journey of issue 6 in one test, in a real headless Chromium against the real worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  signIn,
  currentStep,
  totpAt,
  freshCode,
  assertNoConsoleErrors,
  readableMessage,
  waitForOrFail,
  screenshot,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('journey: sign up, change password, set up 2FA, sign in again with a code, end another session', async () => {
  const user = freshUser('journey');
  const a = await openPage(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  const b = await openPage(browser, { width: 390, height: 844 });
  const { page } = a;
  try {
    // 1. Create an account: the sign-up lands on the Security page, signed in.
    await signUp(page, user);
    assert.equal(await page.locator('#avatar-initials').innerText(), 'GH');

    // 2. Initials → menu → My account → Security, as the help page teaches.
    await page.getByRole('button', { name: /Account menu/ }).click();
    const menu = page.getByRole('menu');
    await menu.waitFor();
    assert.deepEqual(await menu.getByRole('menuitem').allInnerTexts(), ['My account', 'Sign out']);
    await menu.getByRole('menuitem', { name: 'My account' }).click();
    await page.waitForURL('**/account/security');
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
    for (const card of ['Security checkup', 'Password', 'Two-factor authentication', 'Active sessions', 'Recent security activity']) {
      await page.getByRole('heading', { level: 2, name: card, exact: true }).waitFor();
    }

    // 3. Change the password: the checklist fills in live; "Sign out of other sessions" is on.
    await page.getByLabel('Current password').fill(user.password);
    const newPassword = page.getByLabel('New password', { exact: true });
    await newPassword.fill('short');
    assert.equal(await page.locator('#new-password-rules li.met').count(), 2, 'letters and "not personal" only');
    await newPassword.fill(user.newPassword);
    assert.equal(await page.locator('#new-password-rules li.met').count(), 5);
    assert.equal(await page.getByLabel('Sign out of other sessions').isChecked(), true);
    await page.locator('#password-form').getByRole('button', { name: 'Show' }).nth(1).click();
    assert.equal(await newPassword.getAttribute('type'), 'text');
    await page.getByRole('button', { name: 'Change password' }).click();
    assert.match(await readableMessage(page.locator('#password-message')), /Your password was changed/);
    assert.equal(await newPassword.getAttribute('type'), 'password', 'hidden again after saving');

    // 4. Set up 2FA: read the setup key from the page, compute the code independently.
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await waitForOrFail(page.locator('#two-factor-setup-panel'), page.locator('#two-factor-message'), 'setting up 2FA');
    const qr = page.locator('#setup-qr');
    assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    await page.waitForFunction(() => document.getElementById('setup-qr').naturalWidth > 0);
    const secret = (await page.locator('#setup-key').innerText()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit Base32 secret');
    await page.getByRole('button', { name: 'Copy setup key' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    const setupStep = currentStep();
    await page.getByLabel('6-digit code from your app').first().fill(totpAt(secret, setupStep));
    await page.getByRole('button', { name: 'Verify and turn on' }).click();

    // 5. Recovery codes: ten, shown once, copied and downloaded as .txt.
    await waitForOrFail(page.locator('#recovery-panel'), page.locator('#enable-error'), 'turning on 2FA');
    const codes = await page.locator('#recovery-codes li').allInnerTexts();
    assert.equal(codes.length, 10);
    for (const code of codes) assert.match(code, /^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/i);
    await page.getByRole('button', { name: 'Copy codes' }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    for (const code of codes) assert.ok(copied.includes(code));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as .txt' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'wemasy-recovery-codes.txt');
    const saved = readFileSync(await download.path(), 'utf8');
    for (const code of codes) assert.ok(saved.includes(code), 'every code is in the file');
    await page.getByRole('button', { name: 'I have saved my codes' }).click();
    await page.locator('#two-factor-on').waitFor();
    assert.equal(await page.locator('#recovery-codes li').count(), 0, 'the codes are gone from the page');
    assert.equal((await page.locator('#two-factor-status').innerText()).trim(), 'On');

    // 6. Sign out from the initials menu.
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL('**/login?signed_out=1');
    assert.match(await page.locator('#notice').innerText(), /You have signed out/);

    // 7. Sign in with the new password and a code (a later step than the one used at setup).
    await signIn(page, user.email, user.newPassword);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    const { code } = await freshCode(secret, setupStep);
    await page.getByLabel('Authentication code').fill(code);
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await waitForOrFail(page.locator('#sessions-list .session').first(), page.locator('#two-factor-error'), 'signing in with a code');

    // 8. Sign in from a second browser (phone-sized), with a recovery code this time.
    await signIn(b.page, user.email, user.newPassword);
    await b.page.getByRole('button', { name: 'Use a recovery code' }).click();
    await b.page.getByLabel('Recovery code').fill(codes[0]);
    await b.page.getByRole('button', { name: 'Verify and sign in' }).click();
    await waitForOrFail(b.page.locator('#sessions-list .session').first(), b.page.locator('#two-factor-error'), 'signing in with a recovery code');
    await b.page.locator('#sessions-list .session').nth(1).waitFor();

    // 9. Two sessions; "This device" on exactly one (the first).
    await page.getByRole('button', { name: 'Refresh' }).click();
    const rows = page.locator('#sessions-list .session');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    assert.equal(await page.locator('#sessions-list .session', { hasText: 'This device' }).count(), 1);
    assert.match(await rows.first().innerText(), /This device/);
    const other = page.locator('#sessions-list .session:not(.session-current)');
    // Debian's Chromium names its brand in Sec-CH-UA (its User-Agent says "Chrome").
    assert.match(await other.innerText(), /Chromium on Linux/);

    // 10. Sign the other one out.
    await other.getByRole('button', { name: /^Sign out/ }).click();
    await page.locator('#sessions-list .session').nth(1).waitFor({ state: 'detached' });
    assert.match(await readableMessage(page.locator('#sessions-message')), /was signed out/);
    assert.equal(await rows.count(), 1);
    await page.locator('#activity-list .event', { hasText: 'A session was signed out' }).waitFor();

    await screenshot(page, 'security-2fa-on-1280');

    // 11. The second browser is sent to /login on its next action.
    await b.page.getByRole('button', { name: 'Refresh' }).click();
    await b.page.waitForURL('**/login?**');
    assert.match(await b.page.locator('#notice').innerText(), /session has ended/);

    // 400: the second step asks whether the account has a passkey to offer; it has none.
    assertNoConsoleErrors(a.errors, { allowStatuses: [400] });
    assertNoConsoleErrors(b.errors, { allowStatuses: [400, 401] });
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('two-factor authentication: regenerate recovery codes, then turn it off with password and code', async () => {
  const user = freshUser('twofa');
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(page, user);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await waitForOrFail(page.locator('#two-factor-setup-panel'), page.locator('#two-factor-message'), 'setting up 2FA');
    const secret = (await page.locator('#setup-key').innerText()).replace(/\s+/g, '');

    // A wrong code first: a sentence, and the field is marked.
    await page.locator('#enable-code').fill('000000');
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    assert.match(await readableMessage(page.locator('#enable-error')), /code/i);
    assert.equal(await page.locator('#enable-code').getAttribute('aria-invalid'), 'true');

    const setupStep = currentStep();
    await page.locator('#enable-code').fill(totpAt(secret, setupStep));
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await waitForOrFail(page.locator('#recovery-panel'), page.locator('#enable-error'), 'turning on 2FA');
    const first = await page.locator('#recovery-codes li').allInnerTexts();
    await screenshot(page, 'security-recovery-codes-360');
    await page.getByRole('button', { name: 'I have saved my codes' }).click();
    await page.locator('#recovery-remaining', { hasText: '10 recovery codes left' }).waitFor();

    // Regenerate: ten new codes, none of the old ones.
    await page.getByRole('button', { name: 'Regenerate recovery codes' }).click();
    await waitForOrFail(page.locator('#recovery-panel'), page.locator('#two-factor-message:not(:has-text("shown only once"))'), 'regenerating codes');
    const second = await page.locator('#recovery-codes li').allInnerTexts();
    assert.equal(second.length, 10);
    assert.equal(second.filter((code) => first.includes(code)).length, 0, 'a new set');
    await page.getByRole('button', { name: 'I have saved my codes' }).click();

    // Turn off: a wrong password reads as a sentence; then password and a fresh code.
    await page.getByRole('button', { name: 'Turn off' }).click();
    const form = page.locator('#two-factor-disable-form');
    await form.getByLabel('Password', { exact: true }).fill('Not-my-password-1!');
    const { code } = await freshCode(secret, setupStep);
    await form.getByLabel('6-digit code from your app').fill(code);
    await form.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    assert.match(await readableMessage(page.locator('#disable-error')), /password/i);
    await form.getByLabel('Password', { exact: true }).fill(user.password);
    await form.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await waitForOrFail(page.locator('#two-factor-off'), page.locator('#disable-error'), 'turning off 2FA');
    await page.locator('#two-factor-status', { hasText: 'Off' }).waitFor(); // the badge follows the panel
    assert.match(await readableMessage(page.locator('#two-factor-message')), /Two-factor authentication is off/);
    await page.locator('#activity-list .event', { hasText: 'Two-factor authentication turned off' }).waitFor();
    assertNoConsoleErrors(errors, { allowStatuses: [400, 401, 403] }); // the wrong code and password above
  } finally {
    await context.close();
  }
});
