// The E-mail card (docs/email.md): the account's address and whether it is verified, with "Send
// the link again" while it is not; changing it (needs a fresh password: "Confirm it's you"; the
// address changes only when the link sent to the new one is opened); and the "E-mail me when
// there's a new sign-in" switch (switching it off needs a fresh password too). The other
// security alerts are always sent.
import { api, ApiError } from '../api.js';
import { showSuccess, clearMessage } from '../messages.js';
import { blame } from '../form.js';
import { state, reload, run, onClick, onSubmit } from './page.js';
import { sudo } from './reauth.js';

const $ = (id) => document.getElementById(id);
const ADDRESS = /^[^\s@]+@[^\s@]+$/;
let address = '';

/** The card from the overview (GET /api/security: `email`, `email_verified`, `alerts`). */
export function render(overview) {
  address = typeof overview.email === 'string' ? overview.email : state.user?.email || '';
  $('email-address').textContent = address;

  const verified = overview.email_verified;
  const badge = $('email-status');
  badge.hidden = typeof verified !== 'boolean';
  badge.textContent = verified ? 'Verified' : 'Not verified';
  badge.classList.toggle('badge-on', verified === true);
  badge.classList.toggle('badge-off', verified === false);
  $('email-unverified').hidden = verified !== false;
  $('email-resend').hidden = verified !== false;

  const alerts = overview.alerts?.new_sign_in;
  const toggle = $('alert-new-sign-in');
  if (toggle.getAttribute('aria-busy') === 'true') return; // a change is on its way
  toggle.disabled = typeof alerts !== 'boolean';
  if (typeof alerts === 'boolean') toggle.checked = alerts;
}

function wireResend() {
  const region = $('email-message');
  onClick($('email-resend'), () => ({
    region,
    busyLabel: 'Sending…',
    send: () => api('/api/security/email/verification', { method: 'POST' }),
    done: () => {
      showSuccess(region, `We sent a new link to ${address}. It works for 24 hours.`);
      reload('activity');
    },
    handled: (err) => {
      if (!(err instanceof ApiError && err.code === 'already_verified')) return false;
      showSuccess(region, 'Your e-mail address is already verified.');
      reload('overview');
      return true;
    },
  }));
}

function wireChange() {
  const form = $('email-form');
  const opener = $('email-change');
  const input = $('new-email');
  const close = () => {
    form.hidden = true;
    opener.setAttribute('aria-expanded', 'false');
  };
  opener.addEventListener('click', () => {
    if (!form.hidden) {
      close();
      return;
    }
    form.reset();
    clearMessage($('email-form-error'));
    form.hidden = false;
    opener.setAttribute('aria-expanded', 'true');
    input.focus();
  });
  $('cancel-email').addEventListener('click', () => {
    close();
    opener.focus();
  });

  onSubmit(form, () => {
    const wanted = input.value.trim();
    return {
      region: $('email-form-error'),
      check: () => {
        if (!wanted) return { field: input, message: 'Enter your new e-mail address.' };
        if (!ADDRESS.test(wanted)) return { field: input, message: 'Enter an e-mail address, like name@example.com.' };
        if (wanted.toLowerCase() === address.toLowerCase()) return { field: input, message: 'That is already your e-mail address.' };
        return null;
      },
      busyLabel: 'Sending…',
      send: () => sudo('/api/security/email', { method: 'PUT', body: { email: wanted } }),
      done: () => {
        form.reset();
        close();
        showSuccess($('email-message'), `We sent a link to ${wanted}. Your address changes when you open it.`);
        opener.focus();
        reload('activity');
      },
      failed: () => blame(input),
    };
  });
}

function wireAlerts() {
  const toggle = $('alert-new-sign-in');
  const region = $('alerts-message');
  toggle.addEventListener('change', async () => {
    const wanted = toggle.checked;
    await run(toggle, {
      region,
      send: async () => {
        try {
          return await sudo('/api/security/alerts', { method: 'PUT', body: { new_sign_in: wanted } });
        } catch (err) {
          toggle.checked = !wanted; // refused or called off: the switch shows what holds
          throw err;
        }
      },
      done: (answer) => {
        const on = typeof answer?.new_sign_in === 'boolean' ? answer.new_sign_in : wanted;
        toggle.checked = on;
        showSuccess(
          region,
          on
            ? "We'll e-mail you when there's a new sign-in."
            : 'New sign-in alerts are off. We still e-mail you about every other security change.',
        );
        reload('activity');
      },
    });
    // The switch was disabled while it waited: give the keyboard its place back.
    if (document.activeElement === document.body) toggle.focus();
  });
}

/** Wires the card (once, at start). */
export function init() {
  wireResend();
  wireChange();
  wireAlerts();
}
