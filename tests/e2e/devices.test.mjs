// The Trusted devices card (SPEC §5.7, issue 21) in a real headless Chromium against the real
// worker: a laptop-sized browser signs up, a phone-sized one (360 px) signs in; both are listed,
// this device first. The laptop forgets the phone with the keyboard: the worker wants "Confirm
// it's you" (answered 403 reauth_required here once: the sign-up just now opened the 10-minute
// window), the password confirms it, and the phone is gone from both lists and recorded in the
// activity. The laptop then forgets itself: no confirmation. axe at 1280 and 360 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  signIn,
  assertAccessible,
  assertNoConsoleErrors,
  readableMessage,
  screenshot,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const rows = (page) => page.locator('#devices-list .session');

/** Answers the next DELETE of a trusted device with 403 reauth_required, as a closed sudo window would. */
async function askToConfirmOnce(page) {
  let asked = false;
  await page.route('**/api/security/devices/*', (route) => {
    if (asked || route.request().method() !== 'DELETE') return route.fallback();
    asked = true;
    return route.fulfill({
      status: 403,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }),
    });
  });
}

test('trusted devices: listed with this device first, forgotten with "Confirm it\'s you", at 1280 and 360 px', async () => {
  const user = freshUser('devices');
  const laptop = await openPage(browser);
  const phone = await openPage(browser, { width: 360, height: 740 });
  try {
    // 1. The laptop signs up and the phone signs in: both completed a sign-in, both are trusted.
    await signUp(laptop.page, user);
    await signIn(phone.page, user.email, user.password);
    await phone.page.waitForURL('**/account/security');
    await rows(phone.page).nth(1).waitFor();
    const card = laptop.page.getByRole('region', { name: 'Trusted devices' });
    await laptop.page.reload();
    await rows(laptop.page).nth(1).waitFor();

    // 2. This device first, marked; the other named by its browser and system, place, last sign-in.
    assert.equal(await rows(laptop.page).count(), 2);
    assert.match(await rows(laptop.page).first().innerText(), /This device/);
    const other = rows(laptop.page).nth(1);
    assert.doesNotMatch(await other.innerText(), /This device/);
    // Debian's Chromium names its brand in Sec-CH-UA (its User-Agent says "Chrome").
    assert.match(await other.innerText(), /Chromium on Linux/);
    // The place of its latest sign-in (local workerd makes one up), then when.
    assert.equal(await other.locator('.session-meta').count(), 2);
    assert.match(await other.innerText(), /Last signed in .* · Trusted since /);
    assert.match(await card.innerText(), /They can still sign in when someone else has locked sign-ins by guessing your password\./);
    await assertAccessible(laptop.page, 'Trusted devices at 1280 px');
    await screenshot(laptop.page, 'security-trusted-devices-1280');

    // 3. Forget the phone, by keyboard. "Confirm it's you" asks for the password, then it is done.
    await askToConfirmOnce(laptop.page);
    const forget = other.getByRole('button', { name: /^Forget Chromium on Linux, / });
    await forget.focus();
    await laptop.page.keyboard.press('Enter');
    const dialog = laptop.page.getByRole('dialog', { name: "Confirm it's you" });
    await dialog.waitFor();
    await assertAccessible(laptop.page, '"Confirm it\'s you" for forgetting a device');
    await dialog.getByLabel('Password', { exact: true }).fill(user.password);
    await laptop.page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(
      await readableMessage(laptop.page.locator('#devices-message')),
      'Chromium on Linux is no longer a trusted device. Signing in with it again trusts it again.',
    );
    assert.equal(await rows(laptop.page).count(), 1);
    assert.match(await rows(laptop.page).first().innerText(), /This device/);
    assert.equal(await laptop.page.evaluate(() => document.activeElement?.id), 'devices-title');
    await laptop.page.locator('#activity-list .event', { hasText: 'Trusted device forgotten' }).waitFor();
    assert.match(
      await laptop.page.locator('#activity-list .event', { hasText: 'Trusted device forgotten' }).innerText(),
      /Forgotten: Chromium on Linux/,
    );

    // 4. At 360 px the phone (still signed in) lists only the laptop now.
    await phone.page.reload();
    await rows(phone.page).first().waitFor();
    assert.equal(await rows(phone.page).count(), 1, 'the phone was forgotten');
    assert.doesNotMatch(await rows(phone.page).first().innerText(), /This device/);
    await assertAccessible(phone.page, 'Trusted devices at 360 px');
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 360 px (${overflow} px)`);
    await screenshot(phone.page, 'security-trusted-devices-360');

    // 5. The laptop forgets itself: no confirmation for this browser's own trust.
    await laptop.page.getByRole('button', { name: /^Forget this device \(/ }).click();
    await laptop.page.locator('#no-devices').waitFor();
    assert.match(await readableMessage(laptop.page.locator('#devices-message')), /^This device is no longer a trusted device\./);
    assert.equal(await rows(laptop.page).count(), 0);
    await phone.page.reload();
    await phone.page.locator('#no-devices').waitFor();
    assert.match(await phone.page.locator('#no-devices').innerText(), /No trusted devices yet/);

    // The one 403 above is the injected reauth_required.
    assertNoConsoleErrors(laptop.errors, { allowStatuses: [403] });
    assertNoConsoleErrors(phone.errors);
  } finally {
    await laptop.context.close();
    await phone.context.close();
  }
});
