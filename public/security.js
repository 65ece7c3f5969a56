// My account → Security: the page entry. It checks who is signed in, wires the cards (each its own
// module under js/security/) and loads the overview, the passkeys, the sessions, the trusted
// devices and the activity.
import { api, ApiError, messageOf } from './js/api.js';
import { showError } from './js/messages.js';
import { wireRevealButtons } from './js/reveal.js';
import { state, report, setLoaders } from './js/security/page.js';
import * as accountMenu from './js/security/account-menu.js';
import * as reauth from './js/security/reauth.js';
import * as password from './js/security/password.js';
import * as twoFactor from './js/security/two-factor.js';
import * as passkeys from './js/security/passkeys.js';
import * as sessions from './js/security/sessions.js';
import * as devices from './js/security/devices.js';
import * as activity from './js/security/activity.js';
import { plural } from './js/security/words.js';

const $ = (id) => document.getElementById(id);

/** GET /api/security: the overview line, the Password and Two-factor cards' status, the passkey count. */
async function loadOverview() {
  try {
    const overview = await api('/api/security');
    password.showChanged(overview?.password?.changed_at);
    twoFactor.render(overview?.two_factor || {});
    passkeys.showCount(overview?.passkeys?.count);
    const active = overview?.sessions?.active;
    if (typeof active === 'number') $('overview-sessions').textContent = plural(active, 'device', 'devices');
  } catch (err) {
    report($('page-error'), err);
  }
}

async function start() {
  wireRevealButtons();
  accountMenu.init();
  reauth.init();
  password.init();
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
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.replace(`/login?next=${encodeURIComponent('/account/security')}`);
      return;
    }
    document.body.classList.remove('is-loading');
    showError($('page-error'), err);
    return;
  }
  document.body.classList.remove('is-loading');
  document.body.classList.add('is-ready');
  await Promise.all([loadOverview(), passkeys.load(), sessions.load(), devices.load(), activity.load()]);
}

window.addEventListener('unhandledrejection', (event) => {
  // Every action reports its own errors; anything left is shown rather than lost.
  event.preventDefault();
  showError($('page-error'), new Error(messageOf(event.reason)));
});

start();
