// My account → Security: the page entry. It checks who is signed in, wires the cards (each its own
// module under js/security/) and loads the overview (the Security checkup and the cards' status),
// the passkeys, the sessions, the trusted devices and the activity. It tells the browser's
// password manager the account's current name and address (Signal API), and after a password
// sign-in may ask it for a passkey (js/auto-passkey.js).
import { api, ApiError, messageOf } from './js/api.js';
import { showError } from './js/messages.js';
import { wireRevealButtons } from './js/reveal.js';
import { signalCurrentUserDetails } from './js/webauthn.js';
import { state, report, setLoaders } from './js/security/page.js';
import * as accountMenu from './js/security/account-menu.js';
import * as reauth from './js/security/reauth.js';
import * as password from './js/security/password.js';
import * as email from './js/security/email.js';
import * as twoFactor from './js/security/two-factor.js';
import * as passkeys from './js/security/passkeys.js';
import * as sessions from './js/security/sessions.js';
import * as devices from './js/security/devices.js';
import * as activity from './js/security/activity.js';
import * as checkup from './js/security/checkup.js';

const $ = (id) => document.getElementById(id);

/** GET /api/security: the Security checkup, the Password, E-mail and Two-factor cards' status, the passkey count. */
async function loadOverview() {
  try {
    const overview = await api('/api/security');
    if (state.user && typeof overview?.email === 'string' && overview.email !== state.user.email) {
      // The address changed since the page opened (its link was opened in another tab).
      state.user = { ...state.user, email: overview.email };
      accountMenu.showUser(state.user);
      signalCurrentUserDetails(state.user);
    }
    password.showChanged(overview?.password?.changed_at);
    email.render(overview || {});
    twoFactor.render(overview?.two_factor || {});
    passkeys.showCount(overview?.passkeys?.count);
    checkup.render(overview || {});
  } catch (err) {
    checkup.failed();
    report($('page-error'), err);
  }
}

/**
 * A link to a card's action: `#password` (where /.well-known/change-password sends password
 * managers), `#passkeys` (where /.well-known/passkey-endpoints sends them) or `#email`. The page is
 * invisible until the session is checked, so the browser's own jump to the fragment finds
 * nothing: it is made here, once the page shows.
 */
const CARD_LINKS = {
  '#password': ['password-card', 'current-password'],
  '#passkeys': ['passkeys-card', 'add-passkey'],
  '#email': ['email-card', 'email-change'],
};
function goToCardLink() {
  const [card, control] = CARD_LINKS[location.hash] || [];
  if (!card) return;
  $(card).scrollIntoView({ block: 'start' });
  // A browser that cannot make passkeys has no "Add a passkey": the card's heading instead.
  const target = $(control).hidden ? $(card).querySelector('h2') : $(control);
  target.focus({ preventScroll: true });
}

async function start() {
  wireRevealButtons();
  accountMenu.init();
  reauth.init();
  password.init();
  email.init();
  twoFactor.init();
  passkeys.init();
  sessions.init();
  setLoaders({
    overview: loadOverview,
    passkeys: passkeys.load,
    sessions: sessions.load,
    devices: devices.load,
    activity: activity.load,
  });
  try {
    const answer = await api('/api/me');
    if (!answer?.user) throw new ApiError(500, 'bad_response', 'Something went wrong on our side. Please try again in a moment.');
    state.user = answer.user;
    accountMenu.showUser(answer.user);
    // After an address change (made elsewhere, or confirmed in another tab), passkeys show the new one.
    signalCurrentUserDetails(answer.user);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      const back = `/account/security${Object.hasOwn(CARD_LINKS, location.hash) ? location.hash : ''}`;
      location.replace(`/login?next=${encodeURIComponent(back)}`);
      return;
    }
    document.body.classList.remove('is-loading');
    showError($('page-error'), err);
    return;
  }
  document.body.classList.remove('is-loading');
  document.body.classList.add('is-ready');
  goToCardLink();
  await Promise.all([loadOverview(), passkeys.load(), sessions.load(), devices.load(), activity.load()]);
  await passkeys.offerAutomatically();
}

window.addEventListener('unhandledrejection', (event) => {
  // Every action reports its own errors; anything left is shown rather than lost.
  event.preventDefault();
  showError($('page-error'), new Error(messageOf(event.reason)));
});

start();
