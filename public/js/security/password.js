// The Password card: when it was last changed, and the change form with its live rule checklist
// and "Sign out of other sessions" (SPEC §5.2, §5.3).
import { ApiError } from '../api.js';
import { showSuccess, showInfo } from '../messages.js';
import { blame } from '../form.js';
import { hidePasswords } from '../reveal.js';
import { liveChecklist } from '../password-rules.js';
import { isTime, dayOf, timeElement, plural } from './words.js';
import { state, reload, onSubmit } from './page.js';
import { sudo } from './reauth.js';

const $ = (id) => document.getElementById(id);

/** The card's "Last changed Nov 25, 2026." (the checkup says "Changed 3 days ago"). */
export function showChanged(changed) {
  const line = $('password-changed');
  line.replaceChildren();
  if (isTime(changed)) {
    line.append('Last changed ', timeElement(changed, dayOf(changed)), '.');
  } else {
    line.textContent = 'Change your account password at any time.';
  }
}

function changedWords(signOutOthers, answer) {
  if (!signOutOthers) return 'Your password was changed.';
  const count = typeof answer?.signed_out_sessions === 'number' ? answer.signed_out_sessions : 0;
  const others = count
    ? `${plural(count, 'other session was', 'other sessions were')} signed out.`
    : 'No other sessions were signed in.';
  return `Your password was changed. ${others}`;
}

/**
 * Opens the change: the card scrolled into view, focus in its first field, and `words` (why) in
 * its live region — after "Not me" on an unfamiliar session.
 */
export function openChange(words) {
  const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  $('password-card').scrollIntoView({ block: 'start', behavior: reduce ? 'auto' : 'smooth' });
  $('current-password').focus({ preventScroll: true });
  showInfo($('password-message'), words);
}

/** Wires the form (once, at start). */
export function init() {
  const form = $('password-form');
  const current = $('current-password');
  const next = $('new-password');
  const updateRules = liveChecklist($('new-password-rules'), next, () => ({
    email: state.user?.email || '',
    name: state.user?.name || '',
  }));

  onSubmit(form, () => {
    const signOutOthers = $('sign-out-others').checked;
    return {
      region: $('password-message'),
      check: () => {
        if (!current.value) return { field: current, message: 'Enter your current password.' };
        if (!next.value) return { field: next, message: 'Enter a new password.' };
        return null;
      },
      busyLabel: 'Changing password…',
      send: () =>
        sudo('/api/security/password', {
          method: 'PUT',
          body: { current_password: current.value, new_password: next.value, sign_out_other_sessions: signOutOthers },
        }),
      done: (answer) => {
        form.reset();
        hidePasswords(form);
        updateRules();
        showSuccess($('password-message'), changedWords(signOutOthers, answer));
        reload('overview', 'sessions', 'devices', 'activity');
      },
      failed: (err) => {
        if (!(err instanceof ApiError)) return;
        if (err.code === 'wrong_password') blame(current);
        else if (err.problems.length) blame(next);
      },
    };
  });
}
