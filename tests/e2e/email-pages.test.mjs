// The pages of e-mail (docs/email.md "Pages"): "Forgot your password?" on /login, the pages the
// mails link to (/reset-password, /verify-email, /not-me: the token in the fragment, dropped from
// the address bar, sent only in a POST body) and the Security page's E-mail card. First the pages
// as pages (served, accessible, 360 to 1280 px); then what they do with the worker's real answers;
// then, with answers injected (page.route), the steps no test mailbox reaches quickly (two-factor
// on during a reset, rule errors, an expired pending reset); last, the journeys through real mails
// (tests/e2e/mailbox.mjs reads them from the local worker's log; skipped without it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
import { noMailbox, waitForMail, linkOf } from './mailbox.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const LINK_PAGES = ['/reset-password', '/verify-email', '/not-me'];
const RESET_SENT = "If an account uses that address, we've sent a link to reset its password. It works for 30 minutes.";
const EXPIRED = 'This link has expired or was already used.';
const CHANGED = 'Your password is changed. Every session was signed out. Sign in with your new password.';

/** A token shaped like the worker's (256 random bits, base64url) that no link ever carried. */
const unknownToken = () => randomBytes(32).toString('base64url');

const json = (status, body, headers = {}) => ({ status, contentType: 'application/json', headers, body: JSON.stringify(body) });
const invalidToken = json(400, { error: { code: 'invalid_token', message: 'This link has expired or was already used. Ask for a new one.' } });

/**
 * Answers every request to `url` with `answer(request)` (a fulfil object); the bodies it was sent
 * are kept in the returned array, in order.
 */
async function answer(page, url, respond) {
  const bodies = [];
  await page.route(url, (route) => {
    const request = route.request();
    bodies.push(request.postData() ? request.postDataJSON() : null);
    return route.fulfill(typeof respond === 'function' ? respond(request, bodies.length) : respond);
  });
  return bodies;
}

/** Every request the page makes: method, path and body. */
function recordRequests(page) {
  const requests = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    requests.push({ method: request.method(), url: request.url(), path: url.pathname, body: request.postData() || '' });
  });
  return requests;
}

async function assertFits(page, width, label) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${label}: no sideways scrolling at ${width}px (${scrollWidth})`);
}

/** The address bar no longer holds the link's token (nor any fragment). */
async function assertTokenDropped(page, token) {
  await page.waitForFunction(() => location.hash === '');
  assert.ok(!page.url().includes(token), `the token left the address bar: ${page.url()}`);
}

const heading = (page, name) => page.getByRole('heading', { level: 1, name, exact: true });

/** What a link page shows when its link did not work: an error, or "This link can't be used". */
const linkFailed = (page) => page.locator('#ask-error:not(:empty), #check-error:not(:empty), #invalid-view:not([hidden])').first();

/** Opens a link page afresh (from another page: a link to the same page would only change its fragment). */
async function openLink(page, url, waitUntil = 'domcontentloaded') {
  await page.goto('about:blank');
  await page.goto(url, { waitUntil });
}

// ---------- the pages as pages ----------

test('the link pages are served at /reset-password, /verify-email and /not-me with the security headers and no inline code', async () => {
  for (const path of LINK_PAGES) {
    const response = await fetch(`${BASE_URL}${path}`, { redirect: 'manual' });
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    const csp = response.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', `${path}: the page's address goes nowhere`);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path}: no inline script`);
    assert.doesNotMatch(html, /<style[\s>]|\sstyle=|\son[a-z]+=/i, `${path}: no inline style or handler`);
    assert.match(html, /<title>[^<]+ – WEMASY<\/title>/, `${path}: a title`);
    assert.match(html, /role="status"/, `${path}: a status region`);
    for (const asset of html.matchAll(/(?:src|href)="(\/[^"#?]*\.(?:js|css|svg))"/g)) {
      assert.equal((await fetch(`${BASE_URL}${asset[1]}`)).status, 200, `${path} links ${asset[1]}`);
    }
  }
});

test('the link pages and the forgot form are accessible in every view at 360 and 1280 px', async () => {
  for (const width of [1280, 360]) {
    const { context, page, errors } = await openPage(browser, { width, height: width === 360 ? 740 : 860 });
    const look = async (label, shot) => {
      await assertAccessible(page, `${label} at ${width}px`);
      await assertFits(page, width, label);
      if (shot) await screenshot(page, `${shot}-${width}`);
    };
    try {
      await page.goto('/login#forgot', { waitUntil: 'domcontentloaded' });
      await heading(page, 'Reset your password').waitFor();
      await look('forgot form', 'login-forgot');

      // /reset-password: choose a new password, the second factor, done (answers injected).
      await answer(page, '**/api/auth/password-reset/check', json(200, { email: 'grace.hopper.with.a.long.address@example.com', two_factor: true, passkeys: false }));
      await answer(page, '**/api/auth/password-reset/complete', json(200, { two_factor_required: true }));
      await answer(page, '**/api/auth/login/two-factor', json(200, { password_reset: true }));
      await openLink(page, `/reset-password#token=${unknownToken()}`);
      await heading(page, 'Choose a new password').waitFor();
      await page.getByLabel('New password', { exact: true }).fill('Copper lantern 42!');
      await look('choose a new password', 'reset-password');
      await page.getByRole('button', { name: 'Change password' }).click();
      await heading(page, 'Two-factor authentication').waitFor();
      await look('reset: second factor');
      await page.getByRole('button', { name: 'Use a recovery code' }).click();
      await look('reset: recovery code');
      await page.getByRole('button', { name: 'Use your authenticator app instead' }).click();
      await page.getByLabel('Authentication code').fill('123456');
      await page.getByRole('button', { name: 'Verify and change password' }).click();
      await heading(page, 'Your password is changed').waitFor();
      await look('reset: done', 'reset-password-done');
      await page.unrouteAll({ behavior: 'wait' });

      // A link that cannot be used, on each page.
      await answer(page, '**/api/auth/password-reset/check', invalidToken);
      await openLink(page, `/reset-password#token=${unknownToken()}`);
      await heading(page, "This link can't be used").waitFor();
      await look('reset: expired link', 'reset-password-expired');

      await answer(page, '**/api/auth/verify-email', json(200, { email: 'grace@example.com' }));
      await openLink(page, `/verify-email#token=${unknownToken()}`);
      await heading(page, 'E-mail address verified').waitFor();
      await look('verified', 'verify-email');
      await page.unrouteAll({ behavior: 'wait' });
      await answer(page, '**/api/auth/verify-email', invalidToken);
      await openLink(page, `/verify-email#token=${unknownToken()}`);
      await heading(page, "This link can't be used").waitFor();
      await look('verify: expired link');

      await openLink(page, `/not-me#token=${unknownToken()}`);
      await heading(page, 'Secure your account').waitFor();
      await look('not me', 'not-me');
      await page.unrouteAll({ behavior: 'wait' });
      assertNoConsoleErrors(errors, { allowStatuses: [400] });
    } finally {
      await context.close();
    }
  }
});

// ---------- the worker's real answers ----------

test('forgot password: the same words for an unknown address and a known one; too many tries read as a sentence', async () => {
  const user = freshUser('forgot');
  const owner = await openPage(browser);
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(owner.page, user);

    await page.goto('/login', { waitUntil: 'domcontentloaded' });
    const unknown = `nobody.${randomBytes(6).toString('hex')}@example.com`;
    await page.locator('#signin-email').fill(unknown);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await heading(page, 'Reset your password').waitFor();
    const field = page.locator('#forgot-email');
    assert.equal(await field.inputValue(), unknown, 'the address typed for signing in is kept');
    assert.match(page.url(), /\/login#forgot$/);

    const said = [];
    for (const address of [unknown, user.email]) {
      await field.fill(address);
      const sent = page.waitForResponse((r) => r.url().endsWith('/api/auth/password-reset'));
      await page.getByRole('button', { name: 'Send the link', exact: true }).click();
      const response = await sent;
      assert.equal(response.status(), 202, `${address}: 202 whoever it is`);
      assert.deepEqual(response.request().postDataJSON(), { email: address });
      said.push(await readableMessage(page.locator('#forgot-message')));
      await page.waitForFunction(() => !document.querySelector('#forgot-form button[type="submit"]').disabled);
    }
    assert.deepEqual(said, [RESET_SENT, RESET_SENT], 'nothing tells whether the address has an account');

    // An empty field is caught on the page; too many requests read as the page's usual sentence.
    await field.fill('');
    await page.getByRole('button', { name: 'Send the link', exact: true }).click();
    assert.equal(await readableMessage(page.locator('#forgot-error')), 'Enter your e-mail address.');
    await page.route('**/api/auth/password-reset', (route) =>
      route.fulfill(json(429, { error: { code: 'rate_limited', message: 'Too many attempts. Try again in a minute.' } }, { 'Retry-After': '60' })),
    );
    await field.fill(unknown);
    await page.getByRole('button', { name: 'Send the link', exact: true }).click();
    assert.match(await readableMessage(page.locator('#forgot-error')), /^Too many attempts\. Try again in a minute\.$/);
    assert.equal(await page.locator('#forgot-message').innerText(), '', 'the sent message is gone');
    await page.unrouteAll({ behavior: 'wait' });

    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await heading(page, 'Sign in to WEMASY').waitFor();
    assertNoConsoleErrors(errors, { allowStatuses: [429] });
  } finally {
    await owner.context.close();
    await context.close();
  }
});

test('an expired or used link says so on each of the three pages, and its token leaves the address bar', async () => {
  const { context, page, errors } = await openPage(browser);
  const requests = recordRequests(page);
  try {
    // /reset-password: checked at once.
    let token = unknownToken();
    await openLink(page, `/reset-password#token=${token}`);
    await waitForOrFail(heading(page, "This link can't be used"), page.locator('#check-error'), 'checking an unknown reset token');
    assert.equal((await page.locator('#invalid-view .lead').innerText()).trim(), `${EXPIRED} Ask for a new one.`);
    await assertTokenDropped(page, token);
    const checks = requests.filter((r) => r.path === '/api/auth/password-reset/check');
    assert.equal(checks.length, 1);
    assert.equal(checks[0].method, 'POST');
    assert.deepEqual(JSON.parse(checks[0].body), { token });
    const ask = page.getByRole('link', { name: 'Ask for a new link' });
    assert.equal(await ask.getAttribute('href'), '/login#forgot');
    await ask.click();
    await heading(page, 'Reset your password').waitFor();

    // No token at all: nothing is asked.
    const before = requests.length;
    await page.goto('/reset-password', { waitUntil: 'domcontentloaded' });
    await heading(page, "This link can't be used").waitFor();
    assert.deepEqual(requests.slice(before).filter((r) => r.path.startsWith('/api/')), []);

    // /verify-email: used at once, with one POST.
    token = unknownToken();
    await openLink(page, `/verify-email#token=${token}`);
    await waitForOrFail(heading(page, "This link can't be used"), page.locator('#check-error'), 'verifying with an unknown token');
    assert.equal(
      (await page.locator('#invalid-view .lead').innerText()).trim(),
      `${EXPIRED} Sign in and send a new link from the Security page.`,
    );
    await assertTokenDropped(page, token);
    const verifies = requests.filter((r) => r.path === '/api/auth/verify-email');
    assert.equal(verifies.length, 1, 'one POST');
    assert.equal(verifies[0].method, 'POST');
    assert.deepEqual(JSON.parse(verifies[0].body), { token });

    // /not-me: only after the click.
    token = unknownToken();
    await openLink(page, `/not-me#token=${token}`);
    await assertTokenDropped(page, token);
    await page.getByRole('button', { name: 'Secure my account' }).click();
    await waitForOrFail(heading(page, "This link can't be used"), page.locator('#ask-error'), 'not me with an unknown token');
    assert.match(await page.locator('#invalid-view .lead').innerText(), new RegExp(`^${EXPIRED.replace(/\./g, '\\.')}`));

    for (const request of requests) assert.ok(!request.url.includes('token='), `no token in a URL: ${request.url}`);
    assertNoConsoleErrors(errors, { allowStatuses: [400] });
  } finally {
    await context.close();
  }
});

test('not me: opening the link does nothing; "Secure my account" sends the token once', async () => {
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  const requests = recordRequests(page);
  try {
    const token = unknownToken();
    await openLink(page, `/not-me#token=${token}`, 'load');
    await heading(page, 'Secure your account').waitFor();
    assert.match(
      await page.locator('#ask-view').innerText(),
      /We'll sign out every device, stop trusting remembered devices, and you'll choose a new password\./,
    );
    assert.equal(await page.getByRole('button').filter({ hasText: /\S/ }).count(), 1, 'one button: "Secure my account"');
    await page.waitForTimeout(1500); // anything the page would do by itself has been done by now
    assert.deepEqual(
      requests.filter((r) => r.path.startsWith('/api/')),
      [],
      'no request to the API before the click, /api/auth/not-me least of all',
    );
    await assertTokenDropped(page, token);

    const sent = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/auth/not-me');
    await page.getByRole('button', { name: 'Secure my account' }).click();
    const request = await sent;
    assert.equal(request.method(), 'POST');
    assert.deepEqual(request.postDataJSON(), { token });
    await heading(page, "This link can't be used").waitFor();
    assert.equal(requests.filter((r) => r.path === '/api/auth/not-me').length, 1);
    assertNoConsoleErrors(errors, { allowStatuses: [400] });
  } finally {
    await context.close();
  }
});

test('E-mail card: "Not verified" for a new account, the link sent again, and the new sign-in alerts switched off and on', async () => {
  const user = freshUser('emailcard');
  const { context, page, errors } = await openPage(browser);
  const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
  try {
    await signUp(page, user);
    const card = page.locator('#email-card');
    await card.getByRole('heading', { level: 2, name: 'E-mail' }).waitFor();
    await card.locator('#email-address', { hasText: user.email }).waitFor();
    await waitForOrFail(card.locator('#email-status', { hasText: 'Not verified' }), page.locator('#page-error'), 'the overview');

    await card.getByRole('button', { name: 'Send the link again' }).click();
    assert.equal(await readableMessage(card.locator('#email-message')), `We sent a new link to ${user.email}. It works for 24 hours.`);

    // The switch: on for a new account. Switching it off asks "Confirm it's you" when the worker
    // wants a fresh password (injected once here: a new account is still in its sudo window).
    const toggle = page.getByRole('switch', { name: "E-mail me when there's a new sign-in" });
    await page.waitForFunction(() => !document.getElementById('alert-new-sign-in').disabled);
    assert.equal(await toggle.isChecked(), true, 'on by default');
    assert.match(await card.innerText(), /Always sent:.*password.*two-factor.*passkey.*recovery codes.*e-mail address/s);
    let asked = false;
    await page.route('**/api/security/alerts', (route) => {
      if (asked) return route.fallback();
      asked = true;
      return route.fulfill(json(403, { error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }));
    });
    const puts = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/security/alerts') puts.push({ method: r.method(), body: r.postDataJSON() });
    });
    await toggle.uncheck();
    await dialog.waitFor();
    await dialog.getByLabel('Password', { exact: true }).fill(user.password);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.match(await readableMessage(card.locator('#alerts-message')), /^New sign-in alerts are off\./);
    assert.equal(await toggle.isChecked(), false);
    assert.deepEqual(puts, [
      { method: 'PUT', body: { new_sign_in: false } },
      { method: 'PUT', body: { new_sign_in: false } },
    ]);
    await page.unrouteAll({ behavior: 'wait' });
    await page.locator('#activity-list .event', { hasText: 'New sign-in alerts turned off' }).waitFor();

    await page.reload();
    await page.waitForFunction(() => !document.getElementById('alert-new-sign-in').disabled);
    assert.equal(await toggle.isChecked(), false, 'kept');
    await toggle.check();
    assert.equal(await readableMessage(card.locator('#alerts-message')), "We'll e-mail you when there's a new sign-in.");
    assert.equal(await toggle.isChecked(), true);
    await assertAccessible(page, 'Security page with the E-mail card');
    assertNoConsoleErrors(errors, { allowStatuses: [403] });
  } finally {
    await context.close();
  }
});

test('E-mail card: a change of address is sent to the new one; an address in use and the same address are refused', async () => {
  const taken = freshUser('taken');
  const user = freshUser('mover');
  const other = await openPage(browser);
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(other.page, taken);
    await signUp(page, user);
    const card = page.locator('#email-card');
    const open = card.getByRole('button', { name: 'Change e-mail address' });
    await open.click();
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    const field = card.getByLabel('New e-mail address');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-email');

    await field.fill(user.email);
    await card.getByRole('button', { name: 'Send the link', exact: true }).click();
    assert.equal(await readableMessage(card.locator('#email-form-error')), 'That is already your e-mail address.');

    await field.fill(taken.email);
    await card.getByRole('button', { name: 'Send the link', exact: true }).click();
    await readableMessage(card.locator('#email-form-error'));
    assert.equal(await field.getAttribute('aria-invalid'), 'true');

    const next = `moved.${randomBytes(6).toString('hex')}@example.com`;
    await field.fill(next);
    const sent = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/security/email' && r.method() === 'PUT');
    await card.getByRole('button', { name: 'Send the link', exact: true }).click();
    assert.deepEqual((await sent).postDataJSON(), { email: next });
    assert.equal(await readableMessage(card.locator('#email-message')), `We sent a link to ${next}. Your address changes when you open it.`);
    assert.equal(await card.locator('#email-form').isVisible(), false);
    assert.equal((await card.locator('#email-address').innerText()).trim(), user.email, 'not changed yet');
    await page.locator('#activity-list .event', { hasText: `To ${next}` }).waitFor();
    await assertFits(page, 360, 'Security page after a change of address');
    assertNoConsoleErrors(errors, { allowStatuses: [409] });
  } finally {
    await other.context.close();
    await context.close();
  }
});

test('/.well-known/change-password opens the password form, through sign-in when signed out', async () => {
  const user = freshUser('wellknown');
  const { context, page, errors } = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(page, user);
    await page.goto('/.well-known/change-password', { waitUntil: 'domcontentloaded' });
    await page.waitForURL('**/security#password');
    await page.waitForFunction(() => document.activeElement?.id === 'current-password');

    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL('**/login?signed_out=1');
    await page.goto('/.well-known/change-password', { waitUntil: 'domcontentloaded' });
    await page.waitForURL('**/login?next=%2Faccount%2Fsecurity%23password');
    await page.locator('#signin-email').fill(user.email);
    await page.locator('#signin-password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL('**/account/security#password');
    await page.waitForFunction(() => document.activeElement?.id === 'current-password');
    assertNoConsoleErrors(errors, { allowStatuses: [401] });
  } finally {
    await context.close();
  }
});

// ---------- steps reached with injected answers ----------

test('reset with two-factor on: rule errors as on the Security page, then a code or a recovery code as at sign-in', async () => {
  const { context, page, errors } = await openPage(browser);
  const requests = recordRequests(page);
  const email = 'ada.lovelace@example.com';
  try {
    const token = unknownToken();
    await answer(page, '**/api/auth/password-reset/check', json(200, { email, two_factor: true, passkeys: false }));
    const completes = await answer(page, '**/api/auth/password-reset/complete', (_request, n) =>
      n === 1
        ? json(400, {
            error: {
              code: 'invalid_input',
              message: 'Choose a stronger password.',
              problems: [{ code: 'too_short', message: 'Use at least 12 characters.' }, { code: 'personal', message: 'Do not use your name or e-mail address.' }],
            },
          })
        : json(200, { two_factor_required: true }),
    );
    const steps = await answer(page, '**/api/auth/login/two-factor', (_request, n) =>
      n === 1
        ? json(401, { error: { code: 'invalid_code', message: 'That code is not valid. Check your authenticator app and try again.' } })
        : json(200, { password_reset: true }),
    );
    await openLink(page, `/reset-password#token=${token}`);
    await heading(page, 'Choose a new password').waitFor();
    assert.match(await page.locator('#password-view .lead').innerText(), new RegExp(`^Choose a new password for ${email.replace(/\./g, '\\.')}\\.`));
    assert.equal(await page.getByLabel('E-mail address').inputValue(), email, 'for password managers');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-password');

    // The checklist fills in live; the server's problems are listed under its message.
    const password = page.getByLabel('New password', { exact: true });
    await password.fill('ada.lovelace1');
    assert.equal(await page.locator('#new-password-rules li.met').count(), 4, 'all but "not your e-mail address"');
    await page.getByRole('button', { name: 'Change password' }).click();
    const message = await readableMessage(page.locator('#password-error'));
    assert.match(message, /Choose a stronger password\./);
    assert.deepEqual(await page.locator('#password-error li').allInnerTexts(), ['Use at least 12 characters.', 'Do not use your name or e-mail address.']);
    assert.equal(await password.getAttribute('aria-invalid'), 'true');

    await password.fill('Copper lantern 42!');
    assert.equal(await page.locator('#new-password-rules li.met').count(), 5);
    await page.getByRole('button', { name: 'Change password' }).click();
    await heading(page, 'Two-factor authentication').waitFor();
    assert.deepEqual(completes, [
      { token, new_password: 'ada.lovelace1' },
      { token, new_password: 'Copper lantern 42!' },
    ]);
    assert.equal(await page.getByRole('button', { name: 'Use a passkey instead' }).isVisible(), false);
    assert.equal(requests.filter((r) => r.path.startsWith('/api/auth/passkey/')).length, 0, 'no passkey asked for: the account has none');

    // A recovery code that is not accepted, then a code (spaces dropped).
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill('ABCD-efgh-2345-mnop');
    await page.getByRole('button', { name: 'Verify and change password' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-error')), /That code is not valid/);
    await page.getByRole('button', { name: 'Use your authenticator app instead' }).click();
    await page.getByLabel('Authentication code').fill('12');
    await page.getByRole('button', { name: 'Verify and change password' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-error')), /6 digits/);
    await page.getByLabel('Authentication code').fill('123 456');
    await page.getByRole('button', { name: 'Verify and change password' }).click();
    await heading(page, 'Your password is changed').waitFor();
    assert.deepEqual(steps, [{ recovery_code: 'abcd-efgh-2345-mnop' }, { code: '123456' }]);
    assert.equal((await page.locator('#done-view .lead').innerText()).trim(), CHANGED);
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href'), '/login');
    await page.unrouteAll({ behavior: 'wait' });

    // With a passkey on the account, the second step offers it (its options asked for at once).
    await answer(page, '**/api/auth/password-reset/check', json(200, { email, two_factor: true, passkeys: true }));
    await answer(page, '**/api/auth/password-reset/complete', json(200, { two_factor_required: true }));
    await answer(page, '**/api/auth/passkey/two-factor/options', json(200, { publicKey: { challenge: 'AAAAAAAAAAAAAAAAAAAAAA', rpId: '127.0.0.1', allowCredentials: [], userVerification: 'required', timeout: 300000 } }));
    // The pending reset expired meanwhile: the link has to be asked for again.
    await answer(page, '**/api/auth/login/two-factor', json(401, { error: { code: 'unauthenticated', message: 'You are signed out. Sign in to continue.' } }));
    await openLink(page, `/reset-password#token=${unknownToken()}`);
    await page.getByLabel('New password', { exact: true }).fill('Copper lantern 42!');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('button', { name: 'Use a passkey instead' }).waitFor();
    await page.getByLabel('Authentication code').fill('654321');
    await page.getByRole('button', { name: 'Verify and change password' }).click();
    await heading(page, "This link can't be used").waitFor();
    assert.match(await page.locator('#invalid-text').innerText(), /took too long/);
    assertNoConsoleErrors(errors, { allowStatuses: [400, 401] });
  } finally {
    await context.close();
  }
});

test('not me: "Secure my account" goes on to choose a new password with the reset token it is given', async () => {
  const { context, page, errors } = await openPage(browser);
  try {
    const token = unknownToken();
    const resetToken = unknownToken();
    const notMe = await answer(page, '**/api/auth/not-me', json(200, { reset_token: resetToken }));
    const checks = await answer(page, '**/api/auth/password-reset/check', json(200, { email: 'grace@example.com', two_factor: false, passkeys: false }));
    const completes = await answer(page, '**/api/auth/password-reset/complete', { status: 204, body: '' });
    await openLink(page, `/not-me#token=${token}`);
    await page.getByRole('button', { name: 'Secure my account' }).click();
    await heading(page, 'Choose a new password').waitFor();
    assert.match(await readableMessage(page.locator('#notice')), /Every device was signed out/);
    await page.getByLabel('New password', { exact: true }).fill('Copper lantern 42!');
    await page.getByRole('button', { name: 'Change password' }).click();
    await heading(page, 'Your password is changed').waitFor();
    assert.equal((await page.locator('#done-view .lead').innerText()).trim(), CHANGED);
    assert.deepEqual(notMe, [{ token }]);
    assert.deepEqual(checks, [{ token: resetToken }]);
    assert.deepEqual(completes, [{ token: resetToken, new_password: 'Copper lantern 42!' }]);
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});

test('a link page whose request fails (no connection, our side) offers "Try again" and keeps the token', async () => {
  const { context, page, errors } = await openPage(browser);
  try {
    const token = unknownToken();
    const bodies = await answer(page, '**/api/auth/verify-email', (_request, n) =>
      n === 1 ? { status: 503, contentType: 'text/html', body: '<h1>Service Unavailable</h1>' } : json(200, { email: 'grace@example.com' }),
    );
    await openLink(page, `/verify-email#token=${token}`);
    assert.match(await readableMessage(page.locator('#check-error')), /Something went wrong on our side/);
    await page.getByRole('button', { name: 'Try again' }).click();
    await heading(page, 'E-mail address verified').waitFor();
    assert.equal((await page.locator('#done-view .lead').innerText()).trim(), 'Your e-mail address grace@example.com is verified.');
    assert.deepEqual(bodies, [{ token }, { token }]);
    assertNoConsoleErrors(errors, { allowStatuses: [503] });
  } finally {
    await context.close();
  }
});

// ---------- journeys through real mails ----------

/** Opens the mail's link to `pagePath` in `page` (as a click in the mail would). */
async function follow(page, mail, pagePath) {
  await openLink(page, linkOf(mail, pagePath.slice(1)));
}

async function verifyFromMail(page, user) {
  const mail = await waitForMail(user.email, /verify your e-mail address/i);
  await follow(page, mail, '/verify-email');
  await waitForOrFail(heading(page, 'E-mail address verified'), linkFailed(page), 'verifying from the mail');
  assert.equal((await page.locator('#done-view .lead').innerText()).trim(), `Your e-mail address ${user.email} is verified.`);
}

test('journey: verify the address from its mail, forget the password, reset it from the mailed link, sign in with it', { skip: noMailbox }, async () => {
  const user = freshUser('resetjourney');
  const a = await openPage(browser);
  const b = await openPage(browser, { width: 360, height: 740 });
  try {
    await signUp(a.page, user);
    await verifyFromMail(a.page, user);
    await a.page.getByRole('link', { name: 'Go to the Security page' }).click();
    await a.page.locator('#email-status', { hasText: /^Verified$/ }).waitFor();
    assert.equal(await a.page.getByRole('button', { name: 'Send the link again' }).isVisible(), false);
    await a.page.locator('#activity-list .event', { hasText: 'E-mail address verified' }).waitFor();

    // Signed out elsewhere: "Forgot your password?".
    await b.page.goto('/login#forgot', { waitUntil: 'domcontentloaded' });
    await b.page.locator('#forgot-email').fill(user.email);
    await b.page.getByRole('button', { name: 'Send the link', exact: true }).click();
    assert.equal(await readableMessage(b.page.locator('#forgot-message')), RESET_SENT);
    const mail = await waitForMail(user.email, /reset your password/i);
    const link = linkOf(mail, 'reset-password');
    await openLink(b.page, link);
    await waitForOrFail(heading(b.page, 'Choose a new password'), linkFailed(b.page), 'checking the mailed reset link');
    assert.match(await b.page.locator('#password-view .lead').innerText(), new RegExp(`for ${user.email.replace(/\./g, '\\.')}\\.`));
    await b.page.getByLabel('New password', { exact: true }).fill(user.newPassword);
    await b.page.getByRole('button', { name: 'Change password' }).click();
    await waitForOrFail(heading(b.page, 'Your password is changed'), b.page.locator('#password-error'), 'completing the reset');
    assert.equal((await b.page.locator('#done-view .lead').innerText()).trim(), CHANGED);

    // Every session was signed out: the first browser is sent to /login on its next action.
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await a.page.waitForURL('**/login?**');

    // The link is used up; the new password signs in.
    await openLink(b.page, link);
    await heading(b.page, "This link can't be used").waitFor();
    await signIn(b.page, user.email, user.newPassword);
    await b.page.waitForURL('**/account/security');
    await b.page.locator('#activity-list .event', { hasText: 'Password reset with an e-mailed link' }).waitFor();
    assertNoConsoleErrors(a.errors, { allowStatuses: [401] });
    assertNoConsoleErrors(b.errors, { allowStatuses: [400, 401] });
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('journey: a reset of a two-factor account asks for a code before the new password counts', { skip: noMailbox }, async () => {
  const user = freshUser('reset2fa');
  const { context, page, errors } = await openPage(browser);
  try {
    await signUp(page, user);
    await verifyFromMail(page, user);
    await page.goto('/account/security', { waitUntil: 'domcontentloaded' });
    await page.locator('#sessions-list .session').first().waitFor();
    const secret = await page.evaluate(async () => (await (await fetch('/api/security/two-factor/setup', { method: 'POST' })).json()).secret);
    const setupStep = currentStep();
    const enabled = await page.evaluate(
      async (code) => (await fetch('/api/security/two-factor/enable', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) })).status,
      totpAt(secret, setupStep),
    );
    assert.equal(enabled, 200);

    await page.goto('/login#forgot', { waitUntil: 'domcontentloaded' });
    await page.locator('#forgot-email').fill(user.email);
    await page.getByRole('button', { name: 'Send the link', exact: true }).click();
    await readableMessage(page.locator('#forgot-message'));
    await follow(page, await waitForMail(user.email, /reset your password/i), '/reset-password');
    await waitForOrFail(heading(page, 'Choose a new password'), linkFailed(page), 'checking the mailed reset link');
    await page.getByLabel('New password', { exact: true }).fill(user.newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await waitForOrFail(heading(page, 'Two-factor authentication'), page.locator('#password-error'), 'the new password');
    const { code } = await freshCode(secret, setupStep);
    await page.getByLabel('Authentication code').fill(code);
    await page.getByRole('button', { name: 'Verify and change password' }).click();
    await waitForOrFail(heading(page, 'Your password is changed'), page.locator('#two-factor-error'), 'the second factor');

    await signIn(page, user.email, user.newPassword);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    assertNoConsoleErrors(errors, { allowStatuses: [400, 401] });
  } finally {
    await context.close();
  }
});

test('journey: "This wasn\'t me" in a password-change alert signs every session out and sets a new password', { skip: noMailbox }, async () => {
  const user = freshUser('notme');
  const a = await openPage(browser);
  const b = await openPage(browser);
  const requests = recordRequests(b.page);
  try {
    await signUp(a.page, user);
    await verifyFromMail(a.page, user);
    await a.page.goto('/account/security', { waitUntil: 'domcontentloaded' });
    await a.page.getByLabel('Current password').fill(user.password);
    await a.page.getByLabel('New password', { exact: true }).fill(user.newPassword);
    await a.page.getByLabel('Sign out of other sessions').uncheck();
    await a.page.getByRole('button', { name: 'Change password' }).click();
    assert.match(await readableMessage(a.page.locator('#password-message')), /Your password was changed/);

    const mail = await waitForMail(user.email, /your password was changed/i);
    await follow(b.page, mail, '/not-me');
    await heading(b.page, 'Secure your account').waitFor();
    await b.page.waitForTimeout(1000);
    assert.equal(requests.filter((r) => r.path === '/api/auth/not-me').length, 0, 'nothing before the click');
    await b.page.getByRole('button', { name: 'Secure my account' }).click();
    await waitForOrFail(heading(b.page, 'Choose a new password'), linkFailed(b.page), 'securing the account');
    const chosen = `Amber ${randomBytes(4).toString('hex')} Harbour#5`;
    await b.page.getByLabel('New password', { exact: true }).fill(chosen);
    await b.page.getByRole('button', { name: 'Change password' }).click();
    await waitForOrFail(heading(b.page, 'Your password is changed'), b.page.locator('#password-error'), 'choosing the new password');

    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await a.page.waitForURL('**/login?**');
    await signIn(a.page, user.email, chosen);
    await a.page.waitForURL('**/account/security');
    await a.page.locator('#activity-list .event', { hasText: "You reported a sign-in that wasn't you" }).waitFor();
    assertNoConsoleErrors(a.errors, { allowStatuses: [401] });
    assertNoConsoleErrors(b.errors);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('journey: a new address counts once the link mailed to it is opened; the old one is told', { skip: noMailbox }, async () => {
  const user = freshUser('newaddress');
  const next = `arrived.${randomBytes(6).toString('hex')}@example.com`;
  const { context, page, errors } = await openPage(browser);
  try {
    await signUp(page, user);
    await verifyFromMail(page, user);
    await page.goto('/account/security', { waitUntil: 'domcontentloaded' });
    await page.getByRole('button', { name: 'Change e-mail address' }).click();
    await page.getByLabel('New e-mail address').fill(next);
    await page.locator('#email-form').getByRole('button', { name: 'Send the link', exact: true }).click();
    await readableMessage(page.locator('#email-message'));

    await follow(page, await waitForMail(next, /confirm your new e-mail address/i), '/verify-email');
    await waitForOrFail(heading(page, 'E-mail address verified'), linkFailed(page), 'confirming the new address');
    assert.equal((await page.locator('#done-view .lead').innerText()).trim(), `Your e-mail address ${next} is verified.`);
    await waitForMail(user.email, /your e-mail address was changed/i);

    await page.getByRole('link', { name: 'Go to the Security page' }).click();
    await page.locator('#email-address', { hasText: next }).waitFor();
    await page.locator('#email-status', { hasText: /^Verified$/ }).waitFor();
    await page.locator('#activity-list .event', { hasText: 'E-mail address changed' }).waitFor();
    assertNoConsoleErrors(errors);
  } finally {
    await context.close();
  }
});
