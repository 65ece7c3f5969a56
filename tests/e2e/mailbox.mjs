// The mails the local worker sent, for the browser tests that follow a link from one. Under
// `wrangler dev` the `send_email` binding sends nothing: it writes each mail's text and HTML to
// files and logs where, with From, To and Subject (docs/email.md "Pipeline"). scripts/run-tests.sh
// names the worker's log in WEMASY_WORKER_LOG; without it these tests are skipped.
import { readFileSync, existsSync } from 'node:fs';

const LOG = process.env.WEMASY_WORKER_LOG || '';

/** Why a test that needs the mails cannot run here (its `skip`), or false when it can. */
export const noMailbox = LOG && existsSync(LOG) ? false : 'needs WEMASY_WORKER_LOG: the local worker logs the mails it sends';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Every mail the log names so far: `{ to, subject, text }` (text: the plain-text body). */
export function mails() {
  const log = readFileSync(LOG, 'utf8').replace(ANSI, '');
  const found = [];
  for (const chunk of log.split('send_email binding called with MessageBuilder:').slice(1)) {
    const to = /^.*?To: (.+)$/m.exec(chunk)?.[1]?.trim();
    const subject = /^.*?Subject: (.+)$/m.exec(chunk)?.[1]?.trim();
    const file = /^.*?Text: (\S+)$/m.exec(chunk)?.[1]?.trim();
    if (!to || !subject || !file) continue;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // being written; seen on the next look
    }
    found.push({ to, subject, text });
  }
  return found;
}

/** The site path of the first link to one of the mail pages (`/reset-password#token=…`). */
export function linkOf(mail, page) {
  const match = new RegExp(`/${page}#token=[A-Za-z0-9_-]+`).exec(mail.text);
  if (!match) throw new Error(`no /${page} link in the mail "${mail.subject}":\n${mail.text}`);
  return match[0];
}

/**
 * Waits for the mail to `address` whose subject matches `subject`; `skip` mails like it that came
 * before are passed over (the second of two reset mails: skip 1). Fails after `timeout` ms, listing
 * what did come.
 */
export async function waitForMail(address, subject, { skip = 0, timeout = 30000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const matching = mails().filter((m) => m.to.toLowerCase().includes(address.toLowerCase()) && subject.test(m.subject));
    if (matching.length > skip) return matching[skip];
    if (Date.now() > deadline) {
      const seen = mails()
        .filter((m) => m.to.toLowerCase().includes(address.toLowerCase()))
        .map((m) => m.subject);
      throw new Error(`no mail to ${address} matching ${subject} within ${timeout} ms (seen: ${JSON.stringify(seen)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** How many mails to `address` match `subject` so far. */
export function countMails(address, subject) {
  return mails().filter((m) => m.to.toLowerCase().includes(address.toLowerCase()) && subject.test(m.subject)).length;
}
