// The Recent security activity card shows what the server really wrote, in words: wrong passwords
// typed into the change form are failed attempts "while changing the password", and the fifth in a
// row locks that session's attempts for 30 seconds (SPEC §5.7, §5.9).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, freshUser, signUp, assertNoConsoleErrors, readableMessage } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('activity: wrong current passwords read as failed attempts, and the lock they cause as a lock', async () => {
  const { context, page, errors } = await openPage(browser);
  const user = freshUser('activity');
  try {
    await signUp(page, user);
    const message = page.locator('#password-message');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      await page.getByLabel('Current password').fill(`Not-my-password-${attempt}!`);
      await page.getByLabel('New password', { exact: true }).fill(user.newPassword);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.waitForFunction(() => !document.querySelector('#password-form button[type="submit"]').disabled);
      const text = await readableMessage(message);
      if (attempt < 5) assert.match(text, /current password is incorrect/, `attempt ${attempt}`);
      else assert.match(text, /Too many attempts\. Try again in 30 seconds\./, 'the fifth locks');
    }

    await page.getByRole('button', { name: 'Refresh' }).click();
    const failed = page.locator('#activity-list .event', { hasText: 'Failed sign-in attempt' });
    await failed.first().waitFor();
    assert.equal(await failed.count(), 5);
    assert.match(await failed.first().locator('.event-meta').innerText(), /^Wrong password while changing the password · /);
    const lock = page.locator('#activity-list .event', { hasText: 'Sign-in paused after too many failed attempts' });
    assert.equal(await lock.count(), 1);
    assert.match(
      await lock.locator('.event-meta').innerText(),
      /^Locked for 30 seconds after 5 wrong attempts in a row, for one signed-in session · /,
    );
    assert.equal(await lock.evaluate((el) => el.classList.contains('event-warning')), true);
    assertNoConsoleErrors(errors, { allowStatuses: [403, 429] });
  } finally {
    await context.close();
  }
});
