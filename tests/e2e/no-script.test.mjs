// SPEC §5.10: every form has method="post", so no secret ends up in a URL even when a script fails
// to load. The pages are opened with JavaScript disabled; every form is filled with recognisable
// secrets and submitted the browser's own way (its submit button clicked), and every request the
// page makes is recorded: the submission must be a POST that carries the secrets in its body,
// and no request URL nor the page's final URL may hold them, plainly or URL-encoded.
//
// Without script the pages show only their first view: forms that script would reveal (sign-up,
// the second factor, the Security page, which stays invisible until its script has checked the
// session) are revealed by serving the worker's own page with its `hidden` attributes and
// `is-loading` class removed (and the dialog opened). The form markup under test is the served
// one; only its visibility is changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { launch, openPage, ROOT, BASE_URL } from './helpers.mjs';

let browser;
/** How many forms each page holds (the pages from mails' links included; /verify-email and /not-me, whose one button is no form, have none). */
const FORMS_SHIPPED = {
  'login.html': 4,
  'security.html': 5,
  'reset-password.html': 2,
  'not-me.html': 0,
  'verify-email.html': 0,
};
const FORMS_SERVED = {
  '/login': 4,
  '/account/security': 5,
  '/reset-password': 2,
  '/not-me': 0,
  '/verify-email': 0,
};
/** The worker's pages as served, read before any form is posted (see getPage). */
const served = {};
before(async () => {
  browser = await launch();
  for (const pagePath of Object.keys(FORMS_SERVED)) served[pagePath] = await getPage(pagePath);
});
after(async () => {
  await browser?.close();
});

/**
 * GET `pagePath` from the worker on a connection of its own, with a time limit. Read once, before
 * the browser posts any form: a GET of the page after Chromium's script-less POST to it was seen
 * to hang in the local dev proxy (never with curl), whichever client sent it.
 */
function getPage(pagePath) {
  return new Promise((resolve, reject) => {
    const request = http.get(`${BASE_URL}${pagePath}`, { agent: false, timeout: 20000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${pagePath} timed out`)));
    request.on('error', reject);
  });
}

/** The `<form …>` start tags of an HTML text. */
const formTags = (html) => html.match(/<form\b[^>]*>/gi) || [];
const isPost = (tag) => /\smethod\s*=\s*["']?post["'\s>]/i.test(tag);

test('every form of every page, as shipped and as served, has method="post"', async () => {
  const publicDir = path.join(ROOT, 'public');
  const shipped = {};
  for (const file of readdirSync(publicDir).filter((f) => f.endsWith('.html'))) {
    const tags = formTags(readFileSync(path.join(publicDir, file), 'utf8'));
    shipped[file] = tags.length;
    for (const tag of tags) assert.ok(isPost(tag), `public/${file}: ${tag}`);
  }
  assert.deepEqual(shipped, FORMS_SHIPPED, 'the forms of every page');

  for (const [pagePath, count] of Object.entries(FORMS_SERVED)) {
    const response = served[pagePath];
    assert.equal(response.status, 200, pagePath);
    const tags = formTags(response.body);
    assert.equal(tags.length, count, `${pagePath}: forms served`);
    for (const tag of tags) assert.ok(isPost(tag), `${pagePath}: ${tag}`);
  }
});

/**
 * `html` with every `hidden` attribute removed, the Security page's `is-loading` class (which
 * keeps it invisible until its script has checked the session) dropped, and `<dialog>` opened
 * when asked.
 */
function revealed(html, { openDialog }) {
  // Only the boolean attribute: `aria-hidden="…"` and the class `visually-hidden` follow a "-".
  const out = html
    .replace(/(<[a-z][^>]*?)\shidden(?=[\s>/])/gi, '$1')
    .replace(/(<body\b[^>]*\bclass="[^"]*?)\bis-loading\b/i, '$1');
  return openDialog ? out.replace(/<dialog\b/gi, '<dialog open') : out;
}

/** What a value looks like in a URL: as typed, percent-encoded, form-encoded. */
function encodings(value) {
  return [value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)];
}

function assertNoSecretIn(url, secrets, what) {
  let decoded = url;
  try {
    decoded = decodeURIComponent(url.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: the raw checks below still apply.
  }
  for (const secret of secrets) {
    for (const form of encodings(secret)) {
      assert.ok(!url.includes(form), `${what} holds a secret: ${url}`);
    }
    assert.ok(!decoded.includes(secret), `${what} holds a secret once decoded: ${url}`);
  }
}

/**
 * Opens `pagePath` without JavaScript (revealing its hidden views unless `reveal` is false),
 * fills every field of `#formId` with a secret, clicks the form's submit button, and checks the
 * requests and the final URL.
 */
async function submitWithoutScript(pagePath, formId, { reveal = true, openDialog = false } = {}) {
  const { context, page } = await openPage(browser, { javaScriptEnabled: false });
  try {
    const marker = randomBytes(6).toString('hex');
    if (reveal) {
      // The worker's page, fetched here (see getPage), with its hidden views revealed.
      assert.equal(served[pagePath].status, 200, pagePath);
      const body = revealed(served[pagePath].body, { openDialog });
      await page.route(
        (url) => url.pathname === pagePath,
        (route) =>
          route.request().method() === 'GET'
            ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body })
            : route.fallback(),
      );
    }
    const requests = [];
    page.on('request', (request) => requests.push({ method: request.method(), url: request.url() }));
    // Only documents are loaded: this test is about where a form posts its fields, and a
    // render-blocking stylesheet the local dev proxy held for 30 s (seen twice, once in CI) kept
    // the page unpainted, so the click never happened.
    await page.route(
      () => true,
      (route) => (route.request().resourceType() === 'document' ? route.fallback() : route.abort()),
    );
    await page.goto(pagePath, { waitUntil: 'domcontentloaded' });
    const scripts = requests.filter((r) => /\.m?js$/.test(new URL(r.url).pathname));
    assert.deepEqual(scripts, [], 'without JavaScript the page loads no script at all');

    const form = page.locator(`#${formId}`);
    const secrets = [];
    for (const input of await form.locator('input').all()) {
      const type = (await input.getAttribute('type')) || 'text';
      const name = (await input.getAttribute('name')) || '';
      let value;
      if (type === 'checkbox' || type === 'hidden' || (await input.getAttribute('readonly')) !== null) continue;
      if (type === 'email') value = `leak.${marker}@example.com`;
      else if (type === 'password') value = `Leak-${marker}-Pw !&9`;
      else if (name === 'code') value = '482913';
      else if (name === 'recovery_code') value = `${marker.slice(0, 4)}-zq7x-9wk2-m4rd`;
      else value = `Name ${marker}`;
      await input.fill(value);
      secrets.push(value);
    }
    assert.ok(
      secrets.some((s) => s.startsWith('Leak-') || s === '482913'),
      `${formId}: a password or code field was filled`,
    );

    const submitted = page.waitForEvent('request', (request) => request.isNavigationRequest());
    await form.locator('button[type="submit"]').click();
    const navigation = await submitted;
    await page.waitForLoadState('load');

    assert.equal(navigation.method(), 'POST', `${formId}: submitted as ${navigation.method()} ${navigation.url()}`);
    assert.equal(new URL(navigation.url()).pathname, pagePath, `${formId}: posted to its own page`);
    const body = navigation.postData() || '';
    for (const secret of secrets) {
      assert.ok(body.includes(encodings(secret)[2]), `${formId}: the body carries every field`);
    }
    assert.ok(requests.length >= 1, 'requests recorded');
    for (const request of requests) assertNoSecretIn(request.url, secrets, `${formId}: ${request.method} request URL`);
    assertNoSecretIn(page.url(), secrets, `${formId}: the page's URL after submitting`);
  } finally {
    await context.close();
  }
}

test('without JavaScript, signing in posts the password and puts it in no URL', async () => {
  // The sign-in form is what a script-less visitor sees: no revealing needed.
  await submitWithoutScript('/login', 'signin-form', { reveal: false });
});

test('without JavaScript, the sign-up and second-factor forms post their secrets', async () => {
  await submitWithoutScript('/login', 'signup-form');
  await submitWithoutScript('/login', 'two-factor-form');
});

test('without JavaScript, the Security page forms post their secrets', async () => {
  await submitWithoutScript('/account/security', 'password-form');
  await submitWithoutScript('/account/security', 'two-factor-enable-form');
  await submitWithoutScript('/account/security', 'two-factor-disable-form');
  await submitWithoutScript('/account/security', 'reauth-form', { openDialog: true });
});

test('without JavaScript, the new-password and second-factor forms of a reset link post their secrets', async () => {
  await submitWithoutScript('/reset-password', 'password-form');
  await submitWithoutScript('/reset-password', 'two-factor-form');
});
