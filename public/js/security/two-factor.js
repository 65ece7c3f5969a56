// The Two-factor authentication card (SPEC §5.4–§5.6): its status; set up with a QR code and a
// setup key, then a code; the recovery codes, shown once with copy and download; regenerate
// them; turn it off with the password and a code or a recovery code.
import { ApiError } from '../api.js';
import { showError, showSuccess, clearMessage } from '../messages.js';
import { blame } from '../form.js';
import { hidePasswords } from '../reveal.js';
import { factorSwitch, factorProblem, digitsOf, SIX_DIGITS } from '../second-factor.js';
import { isTime, dayOf, fullDate, plural } from './words.js';
import { state, reload, onSubmit, onClick } from './page.js';
import { sudo } from './reauth.js';

const $ = (id) => document.getElementById(id);
const PARTS = ['two-factor-off', 'two-factor-setup-panel', 'recovery-panel', 'two-factor-on'];
let setupSecret = '';
let recoveryCodes = [];

function showPart(part) {
  for (const id of PARTS) $(id).hidden = id !== part;
}

const showResting = () => showPart(state.twoFactorEnabled ? 'two-factor-on' : 'two-factor-off');

/** The status from the overview (`two_factor` of GET /api/security). */
export function render(info) {
  state.twoFactorEnabled = Boolean(info.enabled);
  const badge = $('two-factor-status');
  badge.textContent = state.twoFactorEnabled ? 'On' : 'Off';
  badge.classList.toggle('badge-on', state.twoFactorEnabled);
  badge.classList.toggle('badge-off', !state.twoFactorEnabled);
  if (state.twoFactorEnabled) {
    const since = isTime(info.enabled_at) ? ` since ${dayOf(info.enabled_at)}` : '';
    $('two-factor-on-text').textContent = `Two-factor authentication is on${since}. When you sign in, you will be asked for a code from your authenticator app.`;
    const remaining = info.recovery_codes_remaining;
    $('recovery-remaining').textContent =
      typeof remaining === 'number'
        ? `${plural(remaining, 'recovery code', 'recovery codes')} left.${remaining <= 3 ? ' Regenerate them soon so you are not locked out.' : ''}`
        : '';
    // After a key rotation (README "Rotating SECRET_KEY"), codes made with the old key must be
    // regenerated to keep working.
    $('recovery-stale').hidden = !info.recovery_codes_need_regenerating;
  }
  // Do not hide a setup or recovery-code panel that is in use.
  const inUse = !$('two-factor-setup-panel').hidden || !$('recovery-panel').hidden;
  if (!inUse) showResting();
}

/** An SVG string as an image (never as markup in this page). */
function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

function groupKey(secret) {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

function forgetSetup() {
  setupSecret = '';
  $('setup-qr').removeAttribute('src');
  $('setup-key').textContent = '';
}

/** Copies text; resolves true when it worked. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

async function copyInto(region, text, copied, refused) {
  if (await copyText(text)) showSuccess(region, copied);
  else showError(region, new ApiError(0, 'copy_failed', refused));
}

// ---------- recovery codes, shown once ----------

function showRecoveryCodes(codes, heading) {
  recoveryCodes = Array.isArray(codes) ? codes.filter((c) => typeof c === 'string') : [];
  const list = $('recovery-codes');
  list.replaceChildren();
  for (const code of recoveryCodes) {
    const item = document.createElement('li');
    const text = document.createElement('code');
    text.textContent = code;
    item.append(text);
    list.append(item);
  }
  clearMessage($('codes-message'));
  showPart('recovery-panel');
  showSuccess($('two-factor-message'), `${heading} Save your recovery codes now: they are shown only once.`);
  $('recovery-title').focus();
}

function codesText() {
  const email = state.user?.email || '';
  return [
    `WEMASY recovery codes${email ? ` for ${email}` : ''}`,
    `Created ${fullDate(Date.now() / 1000)}`,
    'Each code can be used once to sign in when you cannot use your authenticator app.',
    '',
    ...recoveryCodes,
    '',
  ].join('\n');
}

function download(text, filename) {
  const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function wireRecoveryCodes() {
  $('copy-codes').addEventListener('click', () =>
    copyInto(
      $('codes-message'),
      codesText(),
      'Recovery codes copied.',
      'Copying is not allowed here. Download the codes instead, or select them and copy them by hand.',
    ),
  );
  $('download-codes').addEventListener('click', () => {
    download(codesText(), 'wemasy-recovery-codes.txt');
    showSuccess($('codes-message'), 'Recovery codes downloaded as wemasy-recovery-codes.txt.');
  });
  $('codes-done').addEventListener('click', () => {
    recoveryCodes = [];
    $('recovery-codes').replaceChildren();
    clearMessage($('codes-message'));
    clearMessage($('two-factor-message'));
    showResting();
    reload('overview');
    $('two-factor-title').scrollIntoView({ block: 'nearest' });
    (state.twoFactorEnabled ? $('regenerate-codes') : $('two-factor-setup')).focus();
  });
  onClick($('regenerate-codes'), () => ({
    region: $('two-factor-message'),
    busyLabel: 'Creating new codes…',
    send: () => sudo('/api/security/two-factor/recovery-codes', { method: 'POST' }),
    done: (answer) => {
      showRecoveryCodes(answer?.recovery_codes, 'New recovery codes were created and your old ones no longer work.');
      reload('activity');
    },
  }));
}

// ---------- turning it on: set up, then a code ----------

function wireSetup() {
  onClick($('two-factor-setup'), () => ({
    region: $('two-factor-message'),
    busyLabel: 'Preparing…',
    send: () => sudo('/api/security/two-factor/setup', { method: 'POST' }),
    done: (setup) => {
      if (!setup || typeof setup.secret !== 'string' || typeof setup.qr_svg !== 'string') {
        throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
      }
      setupSecret = setup.secret;
      $('setup-qr').src = svgDataUrl(setup.qr_svg);
      $('setup-key').textContent = groupKey(setup.secret);
      $('setup-account').textContent = state.user?.email || '';
      $('two-factor-enable-form').reset();
      clearMessage($('enable-error'));
      showPart('two-factor-setup-panel');
      $('setup-title').focus();
    },
  }));
  $('copy-setup-key').addEventListener('click', () =>
    copyInto($('two-factor-message'), setupSecret, 'Setup key copied.', 'Copying is not allowed here. Select the setup key and copy it by hand.'),
  );
  $('cancel-setup').addEventListener('click', () => {
    forgetSetup();
    showPart('two-factor-off');
    clearMessage($('two-factor-message'));
    $('two-factor-setup').focus();
  });

  const input = $('enable-code');
  onSubmit($('two-factor-enable-form'), () => {
    const code = digitsOf(input);
    return {
      region: $('enable-error'),
      check: () =>
        SIX_DIGITS.test(code) ? null : { field: input, message: 'Enter the 6-digit code your authenticator app shows.' },
      busyLabel: 'Verifying…',
      send: () => sudo('/api/security/two-factor/enable', { method: 'POST', body: { code } }),
      done: (answer) => {
        forgetSetup();
        state.twoFactorEnabled = true;
        showRecoveryCodes(answer?.recovery_codes, 'Two-factor authentication is on.');
        reload('overview', 'activity');
      },
      failed: () => blame(input, { select: true }),
    };
  });
}

// ---------- turning it off: password and a code (or a recovery code) ----------

function wireDisable() {
  const form = $('two-factor-disable-form');
  const password = $('disable-password');
  const factor = factorSwitch({
    button: $('disable-use-recovery'),
    codeField: $('disable-code-field'),
    recoveryField: $('disable-recovery-field'),
    codeInput: $('disable-code'),
    recoveryInput: $('disable-recovery'),
  });

  $('two-factor-disable').addEventListener('click', () => {
    form.reset();
    hidePasswords(form);
    factor.reset();
    clearMessage($('disable-error'));
    clearMessage($('two-factor-message'));
    form.hidden = false;
    password.focus();
  });
  $('cancel-disable').addEventListener('click', () => {
    form.hidden = true;
    $('two-factor-disable').focus();
  });

  onSubmit(form, () => {
    const typed = factor.current();
    return {
      region: $('disable-error'),
      check: () =>
        password.value
          ? factorProblem(typed, 'Enter the 6-digit code from your authenticator app.')
          : { field: password, message: 'Enter your password.' },
      busyLabel: 'Turning off…',
      send: () => sudo('/api/security/two-factor/disable', { method: 'POST', body: { password: password.value, ...typed.body } }),
      done: () => {
        form.reset();
        form.hidden = true;
        state.twoFactorEnabled = false;
        showPart('two-factor-off');
        showSuccess($('two-factor-message'), 'Two-factor authentication is off. We recommend turning it back on.');
        reload('overview', 'activity');
        $('two-factor-setup').focus();
      },
      failed: (err) => {
        if (!(err instanceof ApiError)) return;
        if (err.code === 'wrong_password') blame(password);
        else if (err.status !== 401) blame(typed.input);
      },
    };
  });
}

/** Wires the card (once, at start). */
export function init() {
  wireSetup();
  wireRecoveryCodes();
  wireDisable();
}
