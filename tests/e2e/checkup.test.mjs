// The Security checkup (issue 24) in a real headless Chromium against the real worker: the help
// page's best practices at the top of the Security page, each checked against the account, with
// its status in words (never colour alone) and one action. A fresh account: two-factor off is
// not "done" (the old Best practices card ticked it anyway), no passkey is a suggestion; turning
// two-factor on from the checkup makes every practice done. What a fresh account cannot show in a
// test's time (few recovery codes, a breached password, devices idle for 30 days, unfamiliar
// sessions) is given by answering GET /api/security in the page, over the worker's own answer;
// "Forget them" then forgets a real device. An older worker's overview, without those fields,
// leaves their items out. axe at 1280 and 360 px.
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
  assertAccessible,
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

const LEVEL_WORDS = { ok: 'Done:', info: 'Suggested:', warn: 'To do:', bad: 'Important:' };

const item = (page, key) => page.locator(`#checkup-list [data-check="${key}"]`);

/** One item of the checkup: its level (data-level), its status line and its one action. */
async function practice(page, key) {
  const row = item(page, key);
  await row.waitFor();
  const level = await row.getAttribute('data-level');
  const status = (await row.locator('.practice-status').innerText()).trim();
  const actions = row.locator('a, button');
  assert.equal(await actions.count(), 1, `${key}: one action`);
  const action = actions.first();
  return {
    level,
    status,
    actionText: (await action.innerText()).trim(),
    actionRole: (await action.evaluate((el) => el.tagName)) === 'A' ? 'link' : 'button',
    action,
  };
}

/** Every item says its level in words, and its icon is hidden from screen readers. */
async function assertLevelsInWords(page) {
  const rows = page.locator('#checkup-list .practice');
  const count = await rows.count();
  assert.ok(count >= 4, `the checkup lists the practices (${count})`);
  for (let i = 0; i < count; i += 1) {
    const row = rows.nth(i);
    const level = await row.getAttribute('data-level');
    const status = (await row.locator('.practice-status').innerText()).trim();
    assert.ok(status.startsWith(LEVEL_WORDS[level]), `"${status}" says its level (${level}) in words`);
    assert.equal(await row.locator('.practice-icon').getAttribute('aria-hidden'), 'true');
    await row.getByRole('heading', { level: 3 }).waitFor();
  }
}

/** Answers GET /api/security with the worker's own answer, changed by `change(overview)`. */
async function overviewAs(page, change) {
  await page.route('**/api/security', async (route) => {
    if (route.request().method() !== 'GET') return route.fallback();
    const response = await route.fetch();
    const overview = await response.json();
    change(overview);
    return route.fulfill({ response, json: overview });
  });
}

test('checkup: a fresh account has two-factor off (not done) and no passkey (suggested); turning two-factor on from the checkup makes every practice done', async () => {
  const user = freshUser('checkup');
  const { context, page, errors } = await openPage(browser);
  try {
    await signUp(page, user);
    const card = page.getByRole('region', { name: 'Security checkup' });
    await card.getByRole('heading', { level: 2, name: 'Security checkup' }).waitFor();
    await item(page, 'two-factor').waitFor();
    // At the top of the page: before every other card.
    const order = await page.locator('main section.card').evaluateAll((cards) => cards.map((c) => c.id));
    assert.equal(order[0], 'checkup-card');
    // The old side card, whose ticks did not follow the account, is gone; its words are here.
    assert.equal(await page.getByRole('heading', { name: 'Best practices' }).count(), 0);
    for (const tip of [
      'Use a strong, unique password for your WEMASY account.',
      'Enable two-factor authentication for an extra layer of security.',
      'Review your active sessions regularly to spot any unauthorized access.',
      'Sign out from devices you no longer use.',
    ]) {
      await card.getByText(tip, { exact: true }).waitFor();
    }
    await card.getByText('If you suspect unauthorized access to your account, change your password immediately').waitFor();

    const twoFactor = await practice(page, 'two-factor');
    assert.equal(twoFactor.level, 'bad', 'two-factor off is not done');
    assert.match(twoFactor.status, /^Important: Off\./);
    assert.deepEqual([twoFactor.actionRole, twoFactor.actionText], ['button', 'Turn on two-factor authentication']);

    const passkeys = await practice(page, 'passkeys');
    assert.equal(passkeys.level, 'info');
    assert.match(passkeys.status, /^Suggested: No passkey yet\./);
    assert.deepEqual([passkeys.actionRole, passkeys.actionText], ['button', 'Create a passkey']);

    const password = await practice(page, 'password');
    assert.equal(password.level, 'ok');
    assert.match(password.status, /^Done: Changed (just now|\d+ (seconds?|minutes?) ago)$/);
    assert.deepEqual([password.actionRole, password.actionText], ['link', 'Change password']);

    const sessions = await practice(page, 'sessions');
    assert.deepEqual([sessions.level, sessions.status], ['ok', 'Done: 1 device signed in']);
    const devices = await practice(page, 'devices');
    assert.deepEqual([devices.level, devices.status], ['ok', 'Done: None unused for 30 days']);

    assert.equal((await page.locator('#checkup-summary').innerText()).trim(), '1 thing needs your attention.');
    await assertLevelsInWords(page);
    await assertAccessible(page, 'checkup of a fresh account at 1280 px');
    await screenshot(page, 'security-checkup-fresh-1280');

    // 360 px: no sideways scrolling, still accessible.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await item(page, 'devices').waitFor();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 360, `no sideways scrolling at 360px (${scrollWidth})`);
    await assertAccessible(page, 'checkup of a fresh account at 360 px');
    await screenshot(page, 'security-checkup-fresh-360');

    // "Turn on two-factor authentication" opens the card's setup (just signed up: no dialog).
    await item(page, 'two-factor').getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await waitForOrFail(page.locator('#two-factor-setup-panel'), page.locator('#two-factor-message.message-error'), 'setting up 2FA from the checkup');
    await page.waitForFunction(() => document.activeElement?.id === 'setup-title');
    const secret = (await page.locator('#setup-key').innerText()).replace(/\s+/g, '');
    await page.locator('#enable-code').fill(totpAt(secret, currentStep()));
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await waitForOrFail(page.locator('#recovery-panel'), page.locator('#enable-error'), 'turning on 2FA');
    await page.getByRole('button', { name: 'I have saved my codes' }).click();

    // Now done: the tick follows the account. A passkey stays a suggestion, not a failing.
    await page.locator('[data-check="two-factor"][data-level="ok"]').waitFor();
    assert.equal((await practice(page, 'two-factor')).status, 'Done: On · 10 recovery codes left');
    assert.equal((await practice(page, 'two-factor')).actionRole, 'link');
    assert.equal((await page.locator('#checkup-summary').innerText()).trim(), 'Your account follows every best practice.');
    assert.equal((await practice(page, 'passkeys')).level, 'info');
    await assertAccessible(page, 'checkup, all done, at 360 px');
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, 'security-checkup-done-1280');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('checkup: few recovery codes, a breached password, unfamiliar sessions and unused devices each ask for their action (overview answered in the page)', async () => {
  const { context, page, errors } = await openPage(browser);
  try {
    await overviewAs(page, (overview) => {
      overview.password.breached = true;
      overview.two_factor = { ...overview.two_factor, enabled: true, enabled_at: overview.password.changed_at, recovery_codes_remaining: 2 };
      overview.sessions.unfamiliar = 1;
      overview.devices.unused = 3;
    });
    // The session list agrees (the checkup follows it once it loads): this session is unfamiliar.
    await page.route('**/api/security/sessions', async (route) => {
      if (route.request().method() !== 'GET') return route.fallback();
      const response = await route.fetch();
      const listed = await response.json();
      if (listed.sessions?.[0]) listed.sessions[0].unfamiliar = { reasons: ['new_device'], travel_kmh: null };
      return route.fulfill({ response, json: listed });
    });
    await signUp(page, freshUser('checkupwarn'));
    await item(page, 'devices').waitFor();

    const password = await practice(page, 'password');
    assert.equal(password.level, 'bad');
    assert.equal(password.status, 'Important: Found in a data breach. Change it now, to one you use nowhere else.');
    assert.deepEqual([password.actionRole, password.actionText], ['button', 'Change your password']);

    const twoFactor = await practice(page, 'two-factor');
    assert.equal(twoFactor.level, 'warn');
    assert.equal(twoFactor.status, 'To do: On. 2 recovery codes left — make new ones.');
    assert.equal(twoFactor.actionText, 'Make new recovery codes');

    const sessions = await practice(page, 'sessions');
    assert.deepEqual([sessions.level, sessions.status, sessions.actionText], ['warn', 'To do: 1 unfamiliar session to review.', 'Review']);

    const devices = await practice(page, 'devices');
    assert.deepEqual(
      [devices.level, devices.status, devices.actionText],
      ['warn', 'To do: 3 trusted devices not used for 30 days.', 'Forget them'],
    );
    // The button's description is its item's status, for screen readers.
    assert.equal(await devices.action.getAttribute('aria-describedby'), 'practice-status-devices');

    assert.equal((await page.locator('#checkup-summary').innerText()).trim(), '4 things need your attention.');
    await assertLevelsInWords(page);
    await assertAccessible(page, 'checkup with every level at 1280 px');
    await screenshot(page, 'security-checkup-warnings-1280');

    // Each action goes where it says: the password form, the sessions.
    await password.action.click();
    await page.waitForFunction(() => document.activeElement?.id === 'current-password');
    await sessions.action.click();
    await page.waitForFunction(() => document.activeElement?.id === 'sessions-title');

    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await item(page, 'devices').waitFor();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 360, `no sideways scrolling at 360px (${scrollWidth})`);
    await assertAccessible(page, 'checkup with every level at 360 px');
    await screenshot(page, 'security-checkup-warnings-360');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('checkup: an overview without the newer fields (an older worker) leaves their items out', async () => {
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await overviewAs(page, (overview) => {
      delete overview.password.breached;
      delete overview.devices;
      delete overview.sessions.unfamiliar;
    });
    await signUp(page, freshUser('checkupold'));
    await item(page, 'sessions').waitFor();
    const keys = await page.locator('#checkup-list .practice').evaluateAll((rows) => rows.map((r) => r.dataset.check));
    assert.deepEqual(keys, ['password', 'two-factor', 'passkeys', 'sessions']);
    assert.equal((await practice(page, 'password')).level, 'ok');
    assert.equal((await practice(page, 'sessions')).status, 'Done: 1 device signed in');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('checkup: "Forget them" forgets every other trusted device idle for 30 days, after "Confirm it\'s you", and never this one', async () => {
  const user = freshUser('checkupforget');
  const laptop = await openPage(browser);
  const phone = await openPage(browser, { width: 360, height: 740 });
  try {
    // Two trusted devices: the laptop (signed up) and the phone (signed in).
    await signUp(laptop.page, user);
    await signIn(phone.page, user.email, user.password);
    await phone.page.waitForURL('**/account/security');

    // Both last signed in 31 days ago, as the laptop's page is told (a test cannot wait a month);
    // the overview counts the other devices the worker still has.
    const page = laptop.page;
    const MONTH_AGO = Math.floor(Date.now() / 1000) - 31 * 24 * 3600;
    await page.route('**/api/security/devices', async (route) => {
      if (route.request().method() !== 'GET') return route.fallback();
      const response = await route.fetch();
      const answer = await response.json();
      for (const device of answer.devices) device.last_used_at = MONTH_AGO;
      return route.fulfill({ response, json: answer });
    });
    await page.route('**/api/security', async (route) => {
      if (route.request().method() !== 'GET') return route.fallback();
      const [response, listed] = await Promise.all([route.fetch(), route.fetch({ url: route.request().url() + '/devices' })]);
      const overview = await response.json();
      overview.devices.unused = (await listed.json()).devices.filter((d) => !d.current).length;
      return route.fulfill({ response, json: overview });
    });
    // The sudo window of the sign-up is open: close it for the first DELETE, as an hour later.
    const deletes = [];
    let asked = false;
    await page.route('**/api/security/devices/*', (route) => {
      if (route.request().method() !== 'DELETE') return route.fallback();
      deletes.push(route.request().url());
      if (asked) return route.fallback();
      asked = true;
      return route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }),
      });
    });
    await page.reload();
    await page.locator('#devices-list .session').nth(1).waitFor();
    const devices = await practice(page, 'devices');
    assert.deepEqual([devices.level, devices.status], ['warn', 'To do: 1 trusted device not used for 30 days.']);

    await devices.action.click();
    const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
    await dialog.waitFor();
    await dialog.getByLabel('Password', { exact: true }).fill(user.password);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(
      await readableMessage(page.locator('#checkup-message')),
      '1 unused device was forgotten. Signing in with one again trusts it again.',
    );
    // Asked once (the 403), then forgotten: the phone only, never this device.
    assert.equal(deletes.length, 2);
    assert.equal(deletes[0], deletes[1]);
    await page.locator('[data-check="devices"][data-level="ok"]').waitFor();
    assert.equal(await page.locator('#devices-list .session').count(), 1);
    assert.match(await page.locator('#devices-list .session').first().innerText(), /This device/);
    await page.locator('#activity-list .event', { hasText: 'Trusted device forgotten' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'checkup-title');
    await assertAccessible(page, 'checkup after "Forget them"');

    // The one 403 above is the injected reauth_required.
    assertNoConsoleErrors(laptop.errors, { allowStatuses: [403] });
    assertNoConsoleErrors(phone.errors);
  } finally {
    await laptop.context.close();
    await phone.context.close();
  }
});
