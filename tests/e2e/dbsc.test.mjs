// Device Bound Session Credentials (DBSC) in a real headless Chromium against the real worker, as
// far as this Chromium goes. Chromium runs with its DBSC switches: `DeviceBoundSessions` with the
// "Enabled - For developers" parameters of chrome://flags (no origin-trial token, no refresh
// quota, no subdomain check; plain HTTP on localhost allowed), software keys instead of a TPM
// (`EnableBoundSessionCredentialsSoftwareKeysForManualTesting`), and the DevTools domain
// (`DeviceBoundSessionsDevTools`), which reports each registration and refresh as a
// `Network.deviceBoundSessionEventOccurred` event.
//
// The test signs up in the page (the sign-up answer carries `Secure-Session-Registration`) and
// waits for Chromium to register: a creation event that succeeded and a POST to
// /api/auth/dbsc/register in the worker's log. It then checks that the Security page marks the
// session "Bound to this device", lets the bound cookie run out (the test worker's
// BOUND_COOKIE_SECONDS is 5), and checks that /api/me still answers 200 because Chromium
// refreshed (a refresh event that succeeded).
//
// A Chromium that never starts a registration (no DBSC event at all, no POST to the register
// endpoint) skips the test and says what it saw; the scripted DBSC client in tests/api/dbsc.rs
// then stands for the protocol. A registration or refresh that starts and fails is a failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { BASE_URL, launch, openPage, freshUser, signUp, assertNoConsoleErrors, assertAccessible } from './helpers.mjs';

const DBSC_FEATURES = [
  'DeviceBoundSessions:RequireOriginTrialTokens/false/RefreshQuota/false/CheckSubdomainRegistration/false',
  'EnableBoundSessionCredentialsSoftwareKeysForManualTesting',
  'DeviceBoundSessionsDevTools',
];

const BOUND_COOKIE_SECONDS = 5; // the test worker's BOUND_COOKIE_SECONDS
const REGISTRATION_WAIT_MS = 15000;
const REFRESH_WAIT_MS = 20000;
const LOG = process.env.WEMASY_WORKER_LOG || '';

let browser;
before(async () => {
  browser = await launch({ features: DBSC_FEATURES });
});
after(async () => {
  await browser?.close();
});

/** How many requests to `route` the worker has logged so far (0 without a log). */
function loggedRequests(route) {
  if (!LOG || !existsSync(LOG)) return 0;
  const needle = `"route":"${route}"`;
  return readFileSync(LOG, 'utf8').split('\n').filter((line) => line.includes(needle)).length;
}

/** Resolves with the first recorded event that `match` accepts, or null after `ms`. */
async function waitForEvent(events, match, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const describe = (event) => JSON.stringify(event).slice(0, 600);

test('dbsc: Chromium registers a device-bound session on sign-up, the Security page says "Bound to this device", and after the bound cookie runs out Chromium refreshes and /api/me still answers 200', async (t) => {
  const user = freshUser('dbsc');
  const { context, page, errors } = await openPage(browser);
  try {
    const cdp = await context.newCDPSession(page);
    const events = [];
    const added = [];
    cdp.on('Network.deviceBoundSessionEventOccurred', (event) => events.push(event));
    cdp.on('Network.deviceBoundSessionsAdded', (event) => added.push(...event.sessions));
    await cdp.send('Network.enable');
    try {
      await cdp.send('Network.enableDeviceBoundSessions', { enable: true });
    } catch (error) {
      t.skip(`Chromium ${browser.version()} has no DevTools DBSC domain here (Network.enableDeviceBoundSessions: ${error.message}); the scripted client in tests/api/dbsc.rs stands`);
      return;
    }

    // 1. Sign up; the worker's answer offers a bound session.
    const registersBefore = loggedRequests('/api/auth/dbsc/register');
    const signupAnswer = page.waitForResponse((r) => r.url().endsWith('/api/auth/signup') && r.request().method() === 'POST');
    await signUp(page, user);
    const signup = await signupAnswer;
    assert.equal(signup.status(), 201);
    const offer = (await signup.allHeaders())['secure-session-registration'];
    assert.match(offer || '', /^\(ES256\);path="\/api\/auth\/dbsc\/register";challenge="[^"]+"$/, 'the sign-up answer offers a bound session');

    // 2. Chromium registers (or never starts to).
    const creation = await waitForEvent(events, (e) => e.creationEventDetails, REGISTRATION_WAIT_MS);
    const registers = loggedRequests('/api/auth/dbsc/register') - registersBefore;
    if (!creation && registers === 0) {
      assertNoConsoleErrors(errors);
      t.skip(
        `Chromium ${browser.version()} headless here does not register a DBSC session: the sign-up answer carried ` +
          `Secure-Session-Registration: ${offer}; Network.enableDeviceBoundSessions was accepted and reported ` +
          `${added.length} session(s), yet in ${REGISTRATION_WAIT_MS / 1000} s no Network.deviceBoundSessionEventOccurred ` +
          `arrived${LOG ? ' and the worker logged no POST /api/auth/dbsc/register' : ''} ` +
          `(switches: --enable-features=${DBSC_FEATURES.join(',')}); the scripted client in tests/api/dbsc.rs stands`,
      );
      return;
    }
    assert.ok(creation, `a creation event arrives when the worker saw ${registers} registration(s)`);
    assert.equal(creation.succeeded, true, `the registration succeeded: ${describe(creation)}`);
    assert.equal(creation.creationEventDetails.fetchResult, 'Success', describe(creation));
    if (LOG) assert.ok(registers >= 1, 'the worker logged a POST /api/auth/dbsc/register');
    const registeredAt = Date.now();

    // 3. The Security page says this session is bound to this device.
    await page.reload();
    const bound = page.locator('#sessions-list .session .session-bound');
    await bound.first().waitFor();
    assert.equal((await bound.first().innerText()).trim(), 'Bound to this device');
    const list = await page.evaluate(async () => (await fetch('/api/security/sessions')).json());
    assert.deepEqual(list.sessions.map((s) => s.bound_to_device), [true]);

    // 4. Once the bound cookie has run out, a request in scope makes Chromium refresh first.
    const wait = registeredAt + (BOUND_COOKIE_SECONDS + 1.5) * 1000 - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    assert.equal(me, 200, '/api/me still answers after the bound cookie ran out');
    const refresh = await waitForEvent(events, (e) => e.refreshEventDetails && e.refreshEventDetails.refreshResult !== 'InScopeRefreshNotYetNeeded', REFRESH_WAIT_MS);
    assert.ok(refresh, `a refresh event arrives (events: ${events.map(describe).join(' | ')})`);
    assert.equal(refresh.succeeded, true, `the refresh succeeded: ${describe(refresh)}`);
    assert.equal(refresh.refreshEventDetails.refreshResult, 'Refreshed', describe(refresh));
    assert.equal(refresh.sessionId, creation.sessionId, 'the registered session is the one refreshed');

    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('dbsc: a session the list says is bound reads "Bound to this device", an unbound one says nothing of it (list answered in the page)', async () => {
  const user = freshUser('dbsc-list');
  const { context, page, errors } = await openPage(browser);
  try {
    await signUp(page, user);
    const current = page.locator('#sessions-list .session').first();
    assert.equal(await current.locator('.session-bound').count(), 0, 'a session this Chromium did not bind says nothing of binding');
    await page.route('**/api/security/sessions', async (route) => {
      if (route.request().method() !== 'GET') return route.fallback();
      const response = await route.fetch();
      const list = await response.json();
      list.sessions = list.sessions.map((s) => ({ ...s, bound_to_device: true }));
      return route.fulfill({ response, json: list });
    });
    await page.reload();
    const bound = page.locator('#sessions-list .session').first().locator('.session-bound');
    await bound.waitFor();
    assert.match(await bound.innerText(), /^Bound to this device/);
    assert.match(await bound.textContent(), /a copy of its sign-in cookie stops working elsewhere within minutes/);
    await assertAccessible(page, 'a session bound to its device');
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});
