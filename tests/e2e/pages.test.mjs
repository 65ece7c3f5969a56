// The two pages as pages: headers and CSP, no inline code, signed-out redirect, accessibility
// (axe-core), keyboard-only use, 360 px to desktop, and the screenshots under target/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  assertAccessible,
  assertNoConsoleErrors,
  screenshot,
  BASE_URL,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('pages are served with the security headers and hold no inline script or style', async () => {
  for (const path of ['/login', '/account/security']) {
    const response = await fetch(`${BASE_URL}${path}`, { redirect: 'manual' });
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    const csp = response.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path}: no inline script`);
    assert.doesNotMatch(html, /<style[\s>]/i, `${path}: no style element`);
    assert.doesNotMatch(html, /\sstyle=/i, `${path}: no style attribute`);
    assert.doesNotMatch(html, /\son[a-z]+=/i, `${path}: no inline event handler`);
    for (const asset of html.matchAll(/(?:src|href)="(\/[^"#?]*\.(?:js|css|svg))"/g)) {
      const res = await fetch(`${BASE_URL}${asset[1]}`);
      assert.equal(res.status, 200, `${path} links ${asset[1]}`);
    }
  }
  for (const asset of ['/js/api.js', '/js/form.js', '/login.js', '/security.js', '/icons/desktop.svg', '/icons/mobile.svg']) {
    assert.equal((await fetch(`${BASE_URL}${asset}`)).status, 200, asset);
  }
});

test('the Security page sends a signed-out visitor to /login and back after signing in', async () => {
  const { context, page, errors } = await openPage(browser);
  try {
    await page.goto('/account/security', { waitUntil: 'domcontentloaded' });
    await page.waitForURL('**/login?next=%2Faccount%2Fsecurity');
    await page.getByRole('heading', { name: 'Sign in to WEMASY' }).waitFor();
    assertNoConsoleErrors(errors, { allowStatuses: [401] });
  } finally {
    await context.close();
  }
});

test('sign-in page: accessible in every step, and screenshots at 360 and 1280 px', async () => {
  for (const width of [1280, 360]) {
    const { context, page, errors } = await openPage(browser, { width, height: width === 360 ? 740 : 860 });
    try {
      await page.goto('/login', { waitUntil: 'domcontentloaded' });
      await page.getByRole('heading', { name: 'Sign in to WEMASY' }).waitFor();
      await assertAccessible(page, `sign in at ${width}px`);
      await screenshot(page, `login-${width}`);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= width, `no sideways scrolling at ${width}px (${scrollWidth})`);

      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByRole('heading', { name: 'Create your account' }).waitFor();
      await page.locator('#signup-password').fill('abc');
      await assertAccessible(page, `sign up at ${width}px`);
      if (width === 1280) await screenshot(page, 'login-signup-1280');

      // The second-factor step, reached through the page's own switch (no account needed to look).
      await page.evaluate(() => {
        document.getElementById('signup-view').hidden = true;
        document.getElementById('two-factor-view').hidden = false;
      });
      await assertAccessible(page, `second factor at ${width}px`);
      await page.getByRole('button', { name: 'Use a recovery code' }).click();
      await page.getByLabel('Recovery code').waitFor();
      await assertAccessible(page, `recovery code at ${width}px`);
      assertNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  }
});

test('Security page: accessible, fits 360 px, and screenshots at 360 and 1280 px', async () => {
  const { context, page, errors } = await openPage(browser);
  try {
    await signUp(page, freshUser('look'));
    await page.locator('#activity-list .event').first().waitFor();
    await assertAccessible(page, 'security at 1280px');
    await screenshot(page, 'security-1280');

    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await page.locator('#activity-list .event').first().waitFor();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 360, `no sideways scrolling at 360px (${scrollWidth})`);
    await assertAccessible(page, 'security at 360px');
    await screenshot(page, 'security-360');

    // The open menu and the open password dialog are checked too.
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menu').waitFor();
    await assertAccessible(page, 'account menu open');
    await page.keyboard.press('Escape');
    await page.evaluate(() => {
      document.getElementById('reauth-dialog').showModal();
    });
    await assertAccessible(page, 'password dialog open');
    await page.keyboard.press('Escape');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('keyboard only: create an account, open the menu, show a password, reach every card', async () => {
  const { context, page, errors } = await openPage(browser, { width: 1280 });
  const user = freshUser('keys');
  try {
    await page.goto('/login', { waitUntil: 'domcontentloaded' });
    await page.getByRole('heading', { name: 'Sign in to WEMASY' }).waitFor();
    // Tab from the top of the page to the "Create an account" link and follow it.
    let reached = false;
    for (let i = 0; i < 12 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === 'Create an account');
    }
    assert.ok(reached, 'the "Create an account" link is reachable with Tab');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'signup-name', 'focus moves to the form');
    await page.keyboard.type(user.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.reveal), 'signup-password');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#signup-password').getAttribute('type'), 'text', 'Space shows the password');
    assert.equal(await page.locator('#signup-rules li.met').count(), 5, 'the checklist is complete');
    await page.locator('#signup-password').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL('**/account/security');
    await page.locator('#sessions-list .session').first().waitFor();

    // Skip link, then the initials button; the menu opens with Enter, arrows move, Escape closes.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'account-button');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'My account');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Sign out');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'My account');
    await page.keyboard.press('Escape');
    assert.equal(await page.getByRole('menu').isVisible(), false);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'account-button', 'focus returns to the button');

    // Every control of the page can be reached with Tab, in order, without a trap.
    const seen = new Set();
    for (let i = 0; i < 60; i += 1) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const el = document.activeElement;
        return el?.id || el?.getAttribute('aria-label') || el?.textContent?.trim().slice(0, 40);
      });
      seen.add(id);
    }
    for (const id of ['current-password', 'new-password', 'sign-out-others', 'two-factor-setup', 'add-passkey', 'refresh-sessions']) {
      assert.ok(seen.has(id), `${id} is reachable with Tab`);
    }
    assert.ok([...seen].some((id) => /^Forget this device \(/.test(id)), 'the trusted device row is reachable with Tab');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});
