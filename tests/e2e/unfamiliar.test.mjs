// Unfamiliar sign-ins on the Security page (issue 24) in a real headless Chromium against the real
// worker. Where each browser is comes from the test worker's `X-Test-Place` header (country; city;
// network; coordinates — never honoured in production), sent by each context. A sign-in from a new
// country, network and device flags its session in Active sessions, with why in words ("New
// place: Kehl, Germany"), "This was me" (the flag and the checkup's count go) and "Not me" (another
// session ends and the password change opens; this device's just opens the password change). A
// sign-in half a world away seconds after the last one is "impossible travel". The activity list
// says the same of the sign-in event. axe and no sideways scrolling at 1280 and 360 px.
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

// Strasbourg and Kehl face each other across the Rhine (about 5 km): a new country and network,
// but no impossible travel. Lisbon to Tokyo in seconds is.
const STRASBOURG = 'FR; Strasbourg; AS3215; 48.58,7.75';
const KEHL = 'DE; Kehl; AS3320; 48.57,7.81';
const LISBON = 'PT; Lisbon; AS3243; 38.72,-9.14';
const TOKYO = 'JP; Tokyo; AS2516; 35.68,139.69';
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

const at = (place, options = {}) => ({ ...options, extraHTTPHeaders: { 'X-Test-Place': place } });
const sessionRows = (page) => page.locator('#sessions-list .session');
const flagged = (page) => page.locator('#sessions-list .session', { hasText: 'Unfamiliar sign-in' });

/** The account signs up in `home`, then signs in in `away`; resolves when both show the Security page. */
async function signUpThenSignInElsewhere(home, away, user) {
  await signUp(home.page, user);
  await signIn(away.page, user.email, user.password);
  await away.page.waitForURL('**/account/security');
  await sessionRows(away.page).nth(1).waitFor();
  await home.page.reload();
  await flagged(home.page).first().waitFor();
}

/** The checkup's Active sessions item: its level and status. */
async function sessionsCheck(page) {
  const row = page.locator('#checkup-list [data-check="sessions"]');
  await row.waitFor();
  return { level: await row.getAttribute('data-level'), status: (await row.locator('.practice-status').innerText()).trim() };
}

async function assertNoSidewaysScrolling(page, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${label}: no sideways scrolling (${overflow} px)`);
}

test('unfamiliar: a sign-in from a new country, network and device is flagged on the other device ("New place: Kehl, Germany") at 1280 and 360 px; "This was me" clears it and the checkup', async () => {
  const user = freshUser('unfamiliar');
  const home = await openPage(browser, at(STRASBOURG));
  const away = await openPage(browser, at(KEHL, { userAgent: WINDOWS_FIREFOX }));
  try {
    await signUpThenSignInElsewhere(home, away, user);
    const page = home.page;

    // 1. Only the other session is flagged (this one started with the sign-up): a badge, why, and
    //    "This was me" / "Not me" named after the session, as its "Sign out" is.
    assert.equal(await sessionRows(page).count(), 2);
    assert.equal(await flagged(page).count(), 1);
    const row = flagged(page);
    assert.doesNotMatch(await row.innerText(), /This device/);
    await row.locator('.badge', { hasText: 'Unfamiliar sign-in' }).waitFor();
    const why = (await row.locator('.unfamiliar-reasons').innerText()).trim();
    assert.equal(why, 'New place: Kehl, Germany · New network · New device');
    assert.match(await row.innerText(), /Was this you\?/);
    const mine = row.getByRole('button', { name: /^This was me: .+, Kehl, Germany$/ });
    const notMine = row.getByRole('button', { name: /^Not me: .+, Kehl, Germany$/ });
    await mine.waitFor();
    await notMine.waitFor();
    assert.equal((await mine.innerText()).trim(), 'This was me');
    assert.equal((await notMine.innerText()).trim(), 'Not me');
    // Why it is flagged describes both buttons.
    assert.equal(await mine.evaluate((b) => document.getElementById(b.getAttribute('aria-describedby'))?.textContent), why);
    await row.getByRole('button', { name: /^Sign out .+, Kehl, Germany$/ }).waitFor();

    // 2. The checkup counts it.
    assert.deepEqual(await sessionsCheck(page), { level: 'warn', status: 'To do: 1 unfamiliar session to review.' });
    await assertAccessible(page, 'a flagged session at 1280 px');
    await assertNoSidewaysScrolling(page, '1280 px');
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'security-unfamiliar-1280');

    // 3. At 360 px: the same, without sideways scrolling.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await flagged(page).first().waitFor();
    await row.getByRole('button', { name: /^Not me: / }).waitFor();
    assert.equal((await row.locator('.unfamiliar-reasons').innerText()).trim(), why);
    await assertAccessible(page, 'a flagged session at 360 px');
    await assertNoSidewaysScrolling(page, '360 px');
    for (const button of await row.locator('.unfamiliar-actions button').all()) {
      const box = await button.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `a button inside the screen at 360 px (${JSON.stringify(box)})`);
    }
    await screenshot(page, 'security-unfamiliar-360');

    // 4. "This was me": the flag goes, said politely; focus stays on that session's row; the
    //    checkup no longer counts it, nor does the worker.
    await page.setViewportSize({ width: 1280, height: 900 });
    await row.getByRole('button', { name: /^This was me: / }).click();
    await page.waitForFunction(() => !document.querySelector('#sessions-list .session-unfamiliar'));
    const message = page.locator('#sessions-message');
    assert.equal(await message.getAttribute('role'), 'status');
    assert.match(await readableMessage(message), /^Thanks\. The sign-in on .+ is no longer marked as unfamiliar\.$/);
    assert.equal(await sessionRows(page).count(), 2, 'both sessions stay');
    assert.match(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label') || ''),
      /^Sign out .+, Kehl, Germany$/,
      'focus on the same session\'s row',
    );
    await page.waitForFunction(() => /Done: 2 devices signed in/.test(document.querySelector('#checkup-list [data-check="sessions"]')?.textContent || ''));
    assert.deepEqual(await sessionsCheck(page), { level: 'ok', status: 'Done: 2 devices signed in' });
    const overview = await (await page.request.get('/api/security')).json();
    assert.equal(overview.sessions.unfamiliar, 0);
    // The activity says the sign-in was reviewed.
    await page.locator('#activity-list .event', { hasText: 'You said this was you' }).waitFor();

    // 5. The other device's own row is not flagged any more either.
    await away.page.reload();
    await sessionRows(away.page).nth(1).waitFor();
    assert.equal(await flagged(away.page).count(), 0);

    assertNoConsoleErrors(home.errors);
    assertNoConsoleErrors(away.errors);
  } finally {
    await home.context.close();
    await away.context.close();
  }
});

test('unfamiliar: "Not me" on another session ends it (that browser is signed out) and opens the password change; on this device it only opens the password change', async () => {
  const user = freshUser('notme');
  const home = await openPage(browser, at(STRASBOURG));
  const away = await openPage(browser, at(KEHL, { width: 360, height: 740, userAgent: WINDOWS_FIREFOX }));
  try {
    await signUpThenSignInElsewhere(home, away, user);

    // 1. The newcomer's own row is flagged too ("This device"): its "Not me" does not sign it out,
    //    it opens the password change.
    const own = flagged(away.page);
    await own.waitFor();
    assert.match(await own.innerText(), /This device/);
    await own.getByRole('button', { name: /^Not me: this device \(/ }).click();
    await away.page.waitForFunction(() => document.activeElement?.id === 'current-password');
    assert.match(await readableMessage(away.page.locator('#password-message')), /change your password now/);
    assert.equal((await away.page.request.get('/api/me')).status(), 200, 'still signed in');
    assert.equal(await flagged(away.page).count(), 1, 'still flagged: nothing was said about it');
    await assertAccessible(away.page, '"Not me" on this device at 360 px');

    // 2. On the first device, "Not me" on the newcomer ends it (no "Confirm it's you": the sign-up
    //    is recent), then focus is in the password form, in view, with why.
    const page = home.page;
    await flagged(page).getByRole('button', { name: /^Not me: .+, Kehl, Germany$/ }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'current-password');
    assert.match(
      await readableMessage(page.locator('#password-message')),
      /^Session ended: .+ was signed out\. Change your password now, so whoever signed in cannot sign in again\.$/,
    );
    await page.waitForFunction(() => {
      const box = document.getElementById('current-password').getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    });
    assert.equal(await sessionRows(page).count(), 1, 'only this device is left');
    assert.equal(await flagged(page).count(), 0);
    await page.waitForFunction(() => /Done: 1 device signed in/.test(document.querySelector('#checkup-list [data-check="sessions"]')?.textContent || ''));
    await assertAccessible(page, 'after "Not me" at 1280 px');

    // 3. The newcomer is signed out.
    assert.equal((await away.page.request.get('/api/me')).status(), 401, 'the other browser was signed out');
    await page.locator('#activity-list .event', { hasText: 'A session was signed out' }).waitFor();

    assertNoConsoleErrors(home.errors);
    assertNoConsoleErrors(away.errors);
  } finally {
    await home.context.close();
    await away.context.close();
  }
});

test('unfamiliar: a sign-in from Tokyo seconds after one in Lisbon is impossible travel, on the session and in the activity', async () => {
  const user = freshUser('travel');
  const home = await openPage(browser, at(LISBON));
  const away = await openPage(browser, at(TOKYO));
  try {
    await signUpThenSignInElsewhere(home, away, user);
    const page = home.page;
    const row = flagged(page);
    const why = (await row.locator('.unfamiliar-reasons').innerText()).trim();
    const match = /^New place: Tokyo, Japan · New network · New device · Impossible travel: ([\d,.\s\u202f]+) km\/h from your previous sign-in$/.exec(why);
    assert.ok(match, `impossible travel on the row: ${why}`);
    const kmh = Number(match[1].replace(/\D/g, ''));
    assert.ok(kmh > 1000, `faster than an airliner (${kmh} km/h)`);
    await row.getByRole('button', { name: /^This was me: .+, Tokyo, Japan$/ }).waitFor();

    const event = page.locator('#activity-list .event', { hasText: 'Impossible travel' });
    await event.waitFor();
    assert.match(await event.innerText(), /Signed in/);
    assert.match(await event.innerText(), /New place: Tokyo, Japan · New network · New device · Impossible travel \([\d,.\s\u202f]+ km\/h\)/);
    assert.ok(await event.evaluate((li) => li.classList.contains('event-warning')), 'marked as a warning');
    await assertAccessible(page, 'impossible travel at 1280 px');

    assertNoConsoleErrors(home.errors);
    assertNoConsoleErrors(away.errors);
  } finally {
    await home.context.close();
    await away.context.close();
  }
});

test('unfamiliar: the activity says what was new about a sign-in ("New place: Kehl, Germany"), and nothing about a familiar one', async () => {
  const user = freshUser('newplace');
  const home = await openPage(browser, at(STRASBOURG));
  const away = await openPage(browser, at(KEHL, { width: 360, height: 740 }));
  try {
    await signUpThenSignInElsewhere(home, away, user);

    // The newcomer signs out and in again from the same place and browser: familiar now.
    await away.page.locator('#account-button').click();
    await away.page.getByRole('menuitem', { name: 'Sign out' }).click();
    await away.page.waitForURL('**/login?signed_out=1');
    await signIn(away.page, user.email, user.password);
    await away.page.waitForURL('**/account/security');
    await sessionRows(away.page).nth(1).waitFor();

    const signIns = away.page.locator('#activity-list .event', { hasText: 'Signed in' });
    await signIns.nth(1).waitFor();
    // Newest first: the familiar sign-in, then the new one.
    const familiar = (await signIns.nth(0).innerText()).trim();
    const unfamiliar = (await signIns.nth(1).innerText()).trim();
    assert.match(familiar, /With password · /);
    assert.doesNotMatch(familiar, /New place|New network|New device|Impossible travel/);
    assert.equal(await signIns.nth(0).evaluate((li) => li.classList.contains('event-warning')), false);
    assert.match(unfamiliar, /With password · New place: Kehl, Germany · New network · New device · /);
    assert.doesNotMatch(unfamiliar, /Impossible travel/);
    assert.ok(await signIns.nth(1).evaluate((li) => li.classList.contains('event-warning')), 'the unfamiliar one is marked');
    await assertAccessible(away.page, 'activity with an unfamiliar sign-in at 360 px');
    await assertNoSidewaysScrolling(away.page, 'activity at 360 px');
    // The second sign-in's session is familiar: not flagged.
    assert.equal(await flagged(away.page).count(), 0);

    assertNoConsoleErrors(home.errors);
    assertNoConsoleErrors(away.errors);
  } finally {
    await home.context.close();
    await away.context.close();
  }
});
