// Shared by the browser tests: one headless Chromium, a fresh context per test, a fresh user per
// test, console-error collection, an independent TOTP, and an axe-core check.
import { chromium } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BASE_URL = (process.env.WEMASY_BASE_URL || 'http://127.0.0.1:8792').replace(/\/$/, '');
export const SCREENSHOTS = path.join(ROOT, 'target', 'screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Playwright passes --enable-features of its own, and the last one on the command line wins: a
// launch with features of its own repeats Playwright's.
const PLAYWRIGHT_FEATURES = ['CDPScreenshotNewSurface', 'SkipListAccountsWithoutGaiaCookies'];

/** A headless Chromium, warmed up; `features`: Chromium features to enable besides. */
export async function launch({ features = [] } = {}) {
  const enable = features.length ? [`--enable-features=${[...PLAYWRIGHT_FEATURES, ...features].join(',')}`] : [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...enable,
    ],
  });
  await warmUp(browser);
  return browser;
}

/**
 * Loads the sign-in page once, with a long wait, before any test: a fresh Chromium's first
 * navigation (its network service starting, the dev proxy's first answers to this browser) can
 * take many seconds on a loaded 2-core CI machine, and no test is about that.
 */
async function warmUp(browser) {
  const context = await browser.newContext({ baseURL: BASE_URL, extraHTTPHeaders: { 'CF-Connecting-IP': clientAddress() } });
  try {
    const page = await context.newPage();
    await page.goto('/login', { waitUntil: 'load', timeout: 120000 });
  } finally {
    await context.close();
  }
}

/**
 * A client address of its own for each browser context (its `CF-Connecting-IP`), as distinct
 * browsers reach the worker through Cloudflare's edge: the worker limits sign-ups (10 a minute)
 * and passkey options per address, and these tests sign up a fresh user almost every test.
 */
function clientAddress() {
  const [a, b, c] = randomBytes(3);
  return `10.${a}.${b}.${c || 1}`;
}

/**
 * A fresh context and page that record every console error and page error. `allowed` lists
 * patterns of console errors a test expects (an HTTP 401 the page answers by redirecting).
 * `extraHTTPHeaders` (an `X-Test-Place`) are sent besides the context's own client address.
 */
export async function openPage(browser, { width = 1280, height = 900, extraHTTPHeaders: headers = {}, ...options } = {}) {
  const extraHTTPHeaders = { 'CF-Connecting-IP': clientAddress(), ...headers };
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width, height }, extraHTTPHeaders, ...options });
  const page = await context.newPage();
  const errors = [];
  watch(page, errors);
  page.setDefaultTimeout(30000); // a loaded 2-core CI machine can take seconds per page
  // A navigation loads the page and every module it imports through the dev proxy, which has
  // held one request for over 30 s on a loaded CI machine; a wait of 90 s still fails a hang.
  page.setDefaultNavigationTimeout(90000);
  return { context, page, errors };
}

export function watch(page, errors) {
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} @ ${page.url()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message} @ ${page.url()}`));
}

/**
 * Fails on any console error except the browser's own "Failed to load resource" lines for
 * statuses the test expects (Chromium logs every 4xx fetch; the page shows it as a message).
 */
export function assertNoConsoleErrors(errors, { allowStatuses = [], allowPatterns = [] } = {}) {
  const unexpected = errors.filter((line) => {
    const match = /Failed to load resource: the server responded with a status of (\d{3})/.exec(line);
    if (match && allowStatuses.includes(Number(match[1]))) return false;
    return !allowPatterns.some((pattern) => pattern.test(line));
  });
  assert.deepEqual(unexpected, [], 'no console errors');
}

export function freshUser(label = 'user') {
  const id = randomBytes(6).toString('hex');
  return {
    name: 'Grace Hopper',
    email: `${label}.${id}@example.com`,
    password: `Violet-${id}-Kettle!9`,
    newPassword: `Copper ${id} Lantern#7`,
  };
}

// ---------- TOTP, independently of the worker (otpauth) ----------

export function totpAt(secret, stepNumber) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: stepNumber * 30 * 1000 });
}

export const currentStep = () => Math.floor(Date.now() / 30000);

/**
 * A code the server has not seen yet: the server refuses any step at or before the last one it
 * accepted, and accepts ±1 step, so use max(now, last + 1) and wait when that is too far ahead.
 */
export async function freshCode(secret, lastStep) {
  let step = Math.max(currentStep(), lastStep + 1);
  while (step > currentStep() + 1) await new Promise((r) => setTimeout(r, 500));
  step = Math.max(currentStep(), lastStep + 1);
  return { code: totpAt(secret, step), step };
}

// ---------- accessibility ----------

/** Runs axe-core in the page (evaluated as a function body, so the page's CSP does not apply). */
export async function axeViolations(page) {
  const result = await page.evaluate(async (source) => {
    if (!window.axe) {
      // eslint-disable-next-line no-new-func
      new Function(source)();
    }
    const outcome = await window.axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return outcome.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  }, AXE_SOURCE);
  return result;
}

export async function assertAccessible(page, label) {
  const violations = await axeViolations(page);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${label}: axe found serious or critical violations`);
  return violations;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A full-page shot of a scrolled page would draw the sticky top bar mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// ---------- page steps ----------

export async function signUp(page, user) {
  await page.goto('/login#signup', { waitUntil: 'domcontentloaded' });
  await page.locator('#signup-name').fill(user.name);
  await page.locator('#signup-email').fill(user.email);
  await page.locator('#signup-password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/account/security');
  await page.locator('#sessions-list .session').first().waitFor();
}

export async function signIn(page, email, password) {
  await page.goto('/login', { waitUntil: 'domcontentloaded' });
  await page.locator('#signin-email').fill(email);
  await page.locator('#signin-password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Text of the live region, checked to be a sentence and never raw JSON. */
export async function readableMessage(locator) {
  await locator.waitFor({ state: 'visible' });
  const text = (await locator.innerText()).trim();
  assert.ok(text.length > 0, 'a message is shown');
  assert.doesNotMatch(text, /[{}]|"error"|"code"|\bundefined\b|\bnull\b|\[object/, `readable: ${text}`);
  return text;
}

/**
 * Waits for `target` to show; if `errorRegion` shows a message first, fails with that message
 * (so a missing endpoint reads as "Not found." rather than as a timeout).
 */
export async function waitForOrFail(target, errorRegion, step) {
  const shown = await Promise.race([
    target.waitFor({ state: 'visible' }).then(() => 'target'),
    errorRegion.waitFor({ state: 'visible' }).then(() => 'error'),
  ]);
  if (shown === 'error') {
    assert.fail(`${step}: the page says "${(await errorRegion.innerText()).trim()}"`);
  }
}
