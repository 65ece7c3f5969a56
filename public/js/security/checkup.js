// The Security checkup (issue 24), at the top of the Security page: the help page's best
// practices, each checked against this account, with its status in words and one action. Drawn
// from the overview the page loads anyway (GET /api/security), then kept up to date by the cards
// whose lists say more (the passkeys, the sessions). A fact the API does not give (an older
// worker) leaves its item out rather than guess.
//
//   password.changed_at, password.breached       Password: changed when; red when breached
//   two_factor.enabled, .recovery_codes_remaining, .recovery_codes_need_regenerating
//                                                Two-factor: red when off; amber at ≤ 3 codes
//   passkeys.count                               Passkeys: suggested when there are none
//   sessions.active, sessions.unfamiliar         Active sessions: amber while some are unreviewed
//   devices.unused                               Trusted devices: amber when some idle 30 days
import { showSuccess, clearMessage } from '../messages.js';
import { passkeysSupported } from '../webauthn.js';
import { ago, isTime, plural } from './words.js';
import { run } from './page.js';
import { forgetUnused } from './devices.js';

const $ = (id) => document.getElementById(id);
const LOW_RECOVERY_CODES = 3;
const count = (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null);

/** What each level says in words, so the status never rests on colour alone. */
const LEVELS = {
  ok: 'Done',
  info: 'Suggested',
  warn: 'To do',
  bad: 'Important',
};

// What is known of the account: the overview's facts, then the lists' counts as they load.
let facts = null;

/** Scrolling to a card glides, unless the person asked for less motion. */
const behavior = () => (window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth');

/** Scrolls to a card and puts focus on one of its controls (or its heading). */
function goTo(card, control) {
  $(card).scrollIntoView({ block: 'start', behavior: behavior() });
  $(control).focus({ preventScroll: true });
}

/** Runs a card's own button, after bringing the card into view. */
function press(card, button) {
  $(card).scrollIntoView({ block: 'start', behavior: behavior() });
  $(button).click();
}

const link = (text, href, label) => ({ kind: 'link', text, href, label });
const button = (text, act) => ({ kind: 'button', text, act });

function passwordCheck(password) {
  if (!password) return null;
  const tip = 'Use a strong, unique password for your WEMASY account.';
  if (password.breached === true) {
    return {
      key: 'password',
      title: 'Password',
      level: 'bad',
      status: 'Found in a data breach. Change it now, to one you use nowhere else.',
      tip,
      action: button('Change your password', () => goTo('password-card', 'current-password')),
    };
  }
  return {
    key: 'password',
    title: 'Password',
    level: 'ok',
    status: isTime(password.changed_at) ? `Changed ${ago(password.changed_at)}` : 'Set',
    tip,
    action: link('Change password', '#password-card'),
  };
}

function twoFactorCheck(twoFactor) {
  if (!twoFactor || typeof twoFactor.enabled !== 'boolean') return null;
  const item = { key: 'two-factor', title: 'Two-factor authentication', tip: 'Enable two-factor authentication for an extra layer of security.' };
  if (!twoFactor.enabled) {
    return {
      ...item,
      level: 'bad',
      status: 'Off. Anyone who learns your password can sign in.',
      action: button('Turn on two-factor authentication', () => {
        // The setup may be open already (the card's own button was pressed): go there.
        if (!$('two-factor-setup-panel').hidden) goTo('two-factor-card', 'setup-title');
        else press('two-factor-card', 'two-factor-setup');
      }),
    };
  }
  const left = count(twoFactor.recovery_codes_remaining);
  const makeNew = button('Make new recovery codes', () => press('two-factor-card', 'regenerate-codes'));
  if (twoFactor.recovery_codes_need_regenerating === true) {
    return { ...item, level: 'warn', status: 'On, but your recovery codes need to be made again.', action: makeNew };
  }
  if (left !== null && left <= LOW_RECOVERY_CODES) {
    const codes = left === 0 ? 'No recovery codes left' : `${plural(left, 'recovery code', 'recovery codes')} left`;
    return { ...item, level: 'warn', status: `On. ${codes} — make new ones.`, action: makeNew };
  }
  return {
    ...item,
    level: 'ok',
    status: left === null ? 'On' : `On · ${plural(left, 'recovery code', 'recovery codes')} left`,
    action: link('Manage', '#two-factor-card', 'Manage two-factor authentication'),
  };
}

function passkeysCheck(passkeys) {
  if (passkeys === null) return null;
  const item = { key: 'passkeys', title: 'Passkeys', tip: 'Sign in with your fingerprint, face or screen lock instead of your password.' };
  if (passkeys > 0) {
    return { ...item, level: 'ok', status: plural(passkeys, 'passkey', 'passkeys'), action: link('Manage', '#passkeys-card', 'Manage passkeys') };
  }
  if (!passkeysSupported()) {
    return { ...item, level: 'info', status: 'No passkey yet. This browser cannot create one.', action: link('About passkeys', '#passkeys-card') };
  }
  return {
    ...item,
    level: 'info',
    status: 'No passkey yet. A passkey cannot be phished or guessed.',
    action: button('Create a passkey', () => press('passkeys-card', 'add-passkey')),
  };
}

function sessionsCheck(active, unfamiliar) {
  if (active === null && unfamiliar === null) return null;
  const item = { key: 'sessions', title: 'Active sessions', tip: 'Review your active sessions regularly to spot any unauthorized access.' };
  if (unfamiliar !== null && unfamiliar > 0) {
    return {
      ...item,
      level: 'warn',
      status: `${plural(unfamiliar, 'unfamiliar session', 'unfamiliar sessions')} to review.`,
      action: button('Review', () => goTo('sessions-card', 'sessions-title')),
    };
  }
  return {
    ...item,
    level: 'ok',
    status: active === null ? 'Nothing unfamiliar' : `${plural(active, 'device', 'devices')} signed in`,
    action: link('Review', '#sessions-card', 'Review active sessions'),
  };
}

function devicesCheck(unused) {
  if (unused === null) return null;
  const item = { key: 'devices', title: 'Trusted devices', tip: 'Sign out from devices you no longer use.' };
  if (unused > 0) {
    return {
      ...item,
      level: 'warn',
      status: `${plural(unused, 'trusted device', 'trusted devices')} not used for 30 days.`,
      action: button('Forget them', (pressed) => forgetThem(pressed)),
    };
  }
  return { ...item, level: 'ok', status: 'None unused for 30 days', action: link('Manage', '#devices-card', 'Manage trusted devices') };
}

/** "Forget them": every trusted device idle for 30 days, through "Confirm it's you" if asked. */
function forgetThem(pressed) {
  const region = $('checkup-message');
  return run(pressed, {
    region,
    busyLabel: 'Forgetting…',
    send: forgetUnused,
    done: (forgotten) => {
      showSuccess(
        region,
        forgotten
          ? `${plural(forgotten, 'unused device was', 'unused devices were')} forgotten. Signing in with one again trusts it again.`
          : 'There were no unused devices left to forget.',
      );
      $('checkup-title').focus();
    },
  });
}

function checksOf(known) {
  return [
    passwordCheck(known.password),
    twoFactorCheck(known.twoFactor),
    passkeysCheck(known.passkeys),
    sessionsCheck(known.sessionsActive, known.sessionsUnfamiliar),
    devicesCheck(known.devicesUnused),
  ].filter(Boolean);
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function actionOf(check, statusId) {
  const { action } = check;
  let el;
  if (action.kind === 'link') {
    el = element('a', '', action.text);
    el.href = action.href;
    if (action.label) el.setAttribute('aria-label', action.label);
  } else {
    el = element('button', `button button-small ${check.level === 'bad' ? 'button-primary' : 'button-secondary'}`, action.text);
    el.type = 'button';
    el.setAttribute('aria-describedby', statusId);
    el.addEventListener('click', () => {
      clearMessage($('checkup-message'));
      action.act(el);
    });
  }
  el.classList.add('practice-action');
  return el;
}

function rowOf(check) {
  const row = element('li', `practice practice-${check.level}`);
  row.dataset.check = check.key;
  row.dataset.level = check.level;
  const icon = element('span', 'practice-icon');
  icon.setAttribute('aria-hidden', 'true');
  const body = element('div', 'practice-body');
  const title = element('h3', 'practice-title', check.title);
  const status = element('p', 'practice-status');
  status.id = `practice-status-${check.key}`;
  status.append(element('span', 'practice-level', `${LEVELS[check.level]}:`), ' ', element('span', 'practice-text', check.status));
  const tip = element('p', 'practice-tip', check.tip);
  body.append(title, status, tip);
  row.append(icon, body, actionOf(check, status.id));
  return row;
}

function draw() {
  const list = $('checkup-list');
  const checks = checksOf(facts);
  const open = checks.filter((c) => c.level === 'warn' || c.level === 'bad').length;
  list.replaceChildren(...checks.map(rowOf));
  list.setAttribute('aria-busy', 'false');
  const summary = $('checkup-summary');
  summary.textContent = open
    ? `${plural(open, 'thing needs', 'things need')} your attention.`
    : 'Your account follows every best practice.';
  summary.classList.toggle('checkup-summary-ok', open === 0);
  summary.classList.toggle('checkup-summary-open', open > 0);
}

/** The checkup from the overview (GET /api/security). */
export function render(overview) {
  facts = {
    password: overview?.password && typeof overview.password === 'object' ? overview.password : null,
    twoFactor: overview?.two_factor && typeof overview.two_factor === 'object' ? overview.two_factor : null,
    passkeys: count(overview?.passkeys?.count),
    sessionsActive: count(overview?.sessions?.active),
    sessionsUnfamiliar: count(overview?.sessions?.unfamiliar),
    devicesUnused: count(overview?.devices?.unused),
  };
  draw();
}

/**
 * A card's list knows a count first-hand (`passkeys`, `sessionsActive`): the item follows it.
 * Before the overview has come, there is nothing to draw yet.
 */
export function update(known) {
  if (!facts) return;
  let changed = false;
  for (const [key, value] of Object.entries(known)) {
    const number = count(value);
    if (number === null || facts[key] === number) continue;
    facts[key] = number;
    changed = true;
  }
  if (changed) draw();
}

/** The overview could not be loaded: said in the list, which stays as it was or empty. */
export function failed() {
  const list = $('checkup-list');
  list.setAttribute('aria-busy', 'false');
  if (facts) return;
  list.replaceChildren(element('li', 'empty', 'We could not check your account just now. Reload the page to try again.'));
  $('checkup-summary').textContent = '';
}
