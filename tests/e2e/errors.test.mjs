// Every API error the pages can get is shown as a readable sentence, never raw JSON: first the
// real answers of the worker, then the ones that are hard to provoke (rate limits, 5xx, a proxy's
// HTML page, a dropped connection), injected with page.route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch,
  openPage,
  freshUser,
  signUp,
  signIn,
  assertNoConsoleErrors,
  readableMessage,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const json = (status, body, headers = {}) => ({
  status,
  contentType: 'application/json',
  headers,
  body: JSON.stringify(body),
});

/** Answers the next request to `url` with `answer` (or drops it), then lets requests through. */
async function once(page, url, answer) {
  let used = false;
  await page.route(url, async (route) => {
    if (used) return route.fallback();
    used = true;
    if (answer === 'abort') return route.abort('failed');
    return route.fulfill(answer);
  });
}

test('sign-in page: the worker\'s own errors read as sentences', async () => {
  const { context, page, errors } = await openPage(browser);
  const user = freshUser('errors');
  try {
    // Empty form: the page says what is missing before asking the server.
    await page.goto('/login', { waitUntil: 'domcontentloaded' });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    assert.equal(await readableMessage(page.locator('#signin-error')), 'Enter your e-mail address.');
    assert.equal(await page.locator('#signin-email').getAttribute('aria-invalid'), 'true');

    // A weak password: every broken rule from the server's `problems`.
    await page.goto('/login#signup', { waitUntil: 'domcontentloaded' });
    await page.locator('#signup-name').fill(user.name);
    await page.locator('#signup-email').fill(user.email);
    await page.locator('#signup-password').fill('p030710p$e4o');
    await page.getByRole('button', { name: 'Create account' }).click();
    const weak = await readableMessage(page.locator('#signup-error'));
    assert.match(weak, /Choose a stronger password/);
    assert.match(weak, /too common/);

    // Created; then the same e-mail again.
    await page.locator('#signup-password').fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/account/security');
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL('**/login?signed_out=1');
    await page.goto('/login#signup', { waitUntil: 'domcontentloaded' });
    await page.locator('#signup-name').fill(user.name);
    await page.locator('#signup-email').fill(user.email);
    await page.locator('#signup-password').fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    assert.match(await readableMessage(page.locator('#signup-error')), /already exists/);

    // A wrong password.
    await signIn(page, user.email, 'Not-the-password-42!');
    assert.equal(
      await readableMessage(page.locator('#signin-error')),
      'The e-mail address or password is incorrect.',
    );
    assert.equal(await page.locator('#signin-error').getAttribute('role'), 'alert');
    assertNoConsoleErrors(errors, { allowStatuses: [400, 401, 409] });
  } finally {
    await context.close();
  }
});

test('sign-in page: rate limits, server failures, odd bodies and a lost connection read as sentences', async () => {
  const { context, page, errors } = await openPage(browser);
  const cases = [
    [json(429, { error: { code: 'rate_limited', message: 'Too many attempts. Try again in 30 seconds.' } }, { 'Retry-After': '30' }), /Try again in 30 seconds/],
    [{ status: 429, headers: { 'Retry-After': '120' }, body: '' }, /Too many attempts\. Try again in 2 minutes\./],
    [{ status: 500, contentType: 'text/html', body: '<html><body><h1>500 Internal Server Error</h1></body></html>' }, /Something went wrong on our side/],
    [{ status: 502, contentType: 'text/plain', body: 'Bad gateway' }, /Something went wrong on our side/],
    [json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } }), /Something went wrong on our side/],
    [json(400, { error: { code: 'invalid_json' } }), /Check what you entered/],
    [json(403, { error: { code: 'csrf_rejected', message: 'This request did not come from the WEMASY page and was refused.' } }), /did not come from the WEMASY page/],
    [json(413, { error: { code: 'payload_too_large', message: '{"nested":"json"}' } }), /too long/],
    [json(415, { unexpected: true }), /Something went wrong\. Please try again\./],
    [{ status: 200, contentType: 'text/html', body: '<html>captive portal</html>' }, /Something went wrong on our side/],
    ['abort', /could not reach WEMASY/],
  ];
  try {
    await page.goto('/login', { waitUntil: 'domcontentloaded' });
    await page.locator('#signin-email').fill('someone@example.com');
    await page.locator('#signin-password').fill('Whatever-it-is-1!');
    for (const [answer, expected] of cases) {
      await once(page, '**/api/auth/login', answer);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      const text = await readableMessage(page.locator('#signin-error'));
      assert.match(text, expected, `${answer.status ?? answer}: ${text}`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ state: 'visible' });
      await page.waitForFunction(() => !document.querySelector('#signin-form button[type="submit"]').disabled);
      await page.unrouteAll({ behavior: 'wait' });
    }

    // The second-factor step: a wrong code, and an expired pending sign-in.
    await page.evaluate(() => {
      document.getElementById('signin-view').hidden = true;
      document.getElementById('two-factor-view').hidden = false;
    });
    await once(page, '**/api/auth/login/two-factor', json(401, { error: { code: 'invalid_code', message: 'That code is not valid. Check your authenticator app and try again.' } }));
    await page.getByLabel('Authentication code').fill('123456');
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-error')), /That code is not valid/);
    await page.unrouteAll({ behavior: 'wait' });
    await page.getByLabel('Authentication code').fill('12');
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-error')), /6 digits/);
    // The pending sign-in expired (5 minutes): the page starts over with the password.
    await once(page, '**/api/auth/login/two-factor', json(401, { error: { code: 'unauthenticated', message: 'You are signed out. Sign in to continue.' } }));
    await page.getByLabel('Authentication code').fill('654321');
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    assert.match(await readableMessage(page.locator('#signin-error')), /has expired/);
    assert.equal(await page.locator('#signin-view').isVisible(), true);

    assertNoConsoleErrors(errors, {
      allowStatuses: [400, 401, 403, 404, 413, 415, 429, 500, 502],
      allowPatterns: [/net::ERR_FAILED/],
    });
  } finally {
    await context.close();
  }
});

test('Security page: real and injected errors read as sentences; a 401 goes to /login', async () => {
  const { context, page, errors } = await openPage(browser);
  const user = freshUser('secerr');
  try {
    await signUp(page, user);

    // Wrong current password; then a common new password (server's `problems`).
    await page.getByLabel('Current password').fill('Not-my-password-1!');
    await page.getByLabel('New password', { exact: true }).fill(user.newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    assert.match(await readableMessage(page.locator('#password-message')), /current password is incorrect/);
    assert.equal(await page.getByLabel('Current password').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Current password').fill(user.password);
    await page.getByLabel('New password', { exact: true }).fill('p030710p$e4o');
    await page.getByRole('button', { name: 'Change password' }).click();
    const weak = await readableMessage(page.locator('#password-message'));
    assert.match(weak, /too common/);
    assert.equal(await page.locator('#password-message li').count() >= 1, true, 'problems listed');

    // Missing fields are caught on the page.
    await page.getByLabel('Current password').fill('');
    await page.getByRole('button', { name: 'Change password' }).click();
    assert.equal(await readableMessage(page.locator('#password-message')), 'Enter your current password.');

    const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
    // Cancelling the dialog leaves things as they were, with nothing shown as an error.
    await once(page, '**/api/security/two-factor/setup', json(403, { error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }));
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#two-factor-message').isVisible(), false);
    await page.waitForFunction(() => document.activeElement?.id === 'two-factor-setup'); // focus returns
    await page.unrouteAll({ behavior: 'wait' });

    // Injected failures in each card.
    await once(page, '**/api/security/sessions', { status: 503, contentType: 'text/html', body: '<h1>Service Unavailable</h1>' });
    await page.getByRole('button', { name: 'Refresh' }).click();
    assert.match(await readableMessage(page.locator('#sessions-message')), /Something went wrong on our side/);
    await page.unrouteAll({ behavior: 'wait' });

    await once(page, '**/api/security/two-factor/setup', json(429, { error: { code: 'rate_limited', message: 'Too many attempts. Try again in 30 seconds.' } }, { 'Retry-After': '30' }));
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-message')), /Try again in 30 seconds/);
    await page.unrouteAll({ behavior: 'wait' });

    await once(page, '**/api/security/two-factor/setup', 'abort');
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    assert.match(await readableMessage(page.locator('#two-factor-message')), /could not reach WEMASY/);
    await page.unrouteAll({ behavior: 'wait' });

    await once(page, '**/api/security/events?limit=20', json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' } }));
    await page.getByRole('button', { name: 'Refresh' }).click();
    assert.match(await readableMessage(page.locator('#activity-message')), /Something went wrong on our side/);
    await page.unrouteAll({ behavior: 'wait' });

    // Nowhere on the page is there raw JSON.
    assert.doesNotMatch(await page.locator('body').innerText(), /\{"error"|"code":/);

    // A 401 from any action means signed out elsewhere: off to /login.
    await once(page, '**/api/security/sessions', json(401, { error: { code: 'unauthenticated', message: 'You are signed out. Sign in to continue.' } }));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForURL('**/login?expired=1**');
    assert.match(await page.locator('#notice').innerText(), /session has ended/);

    assertNoConsoleErrors(errors, {
      allowStatuses: [400, 401, 403, 429, 500, 503],
      allowPatterns: [/net::ERR_FAILED/],
    });
  } finally {
    await context.close();
  }
});

test('Security page: reauth_required opens "Confirm it\'s you", confirms the password and retries', async () => {
  const { context, page, errors } = await openPage(browser);
  const user = freshUser('reauth');
  const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
  try {
    await signUp(page, user);
    // reauth_required: the dialog asks for the password, confirms, and the change is retried.
    await once(page, '**/api/security/password', json(403, { error: { code: 'reauth_required', message: 'For your security, confirm your password to continue.' } }));
    await page.getByLabel('Current password').fill(user.password);
    await page.getByLabel('New password', { exact: true }).fill(user.newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /confirm your password/);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    assert.equal(await readableMessage(dialog.locator('#reauth-error')), 'Enter your password.');
    await dialog.getByLabel('Password', { exact: true }).fill('Not-my-password-1!');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    const wrong = await readableMessage(dialog.locator('#reauth-error'));
    assert.match(wrong, /password|not found/i, wrong);
    if (/Not found/.test(wrong)) {
      assert.fail('POST /api/auth/confirm is not there yet (404): the dialog cannot confirm');
    }
    await dialog.getByLabel('Password', { exact: true }).fill(user.password);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.match(await readableMessage(page.locator('#password-message')), /Your password was changed/);

    assertNoConsoleErrors(errors, { allowStatuses: [401, 403] });
  } finally {
    await context.close();
  }
});
