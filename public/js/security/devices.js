// The Trusted devices card (SPEC §5.7): browsers the person signed in with before, which can still
// sign in when someone else has locked sign-ins by guessing the password. Each with its browser,
// system, place and last sign-in, "This device" first; "Forget" per row (another device needs
// "Confirm it's you", this one does not). A password change or "Sign out all other sessions"
// forgets every other device, so those cards load this list again. The Security checkup's "Forget
// them" forgets every device idle for 30 days at once (`forgetUnused`).
import { api, ApiError } from '../api.js';
import { showError, showSuccess } from '../messages.js';
import { isTime, dayOf, timeElement, placeOf, browserOnOs } from './words.js';
import { loadList, reload, run, currentFirst, deviceRow } from './page.js';
import { sudo } from './reauth.js';

const $ = (id) => document.getElementById(id);

function line(...parts) {
  const p = document.createElement('p');
  p.className = 'session-meta';
  p.append(...parts);
  return p;
}

function whenOf(device) {
  const parts = [];
  if (isTime(device.last_used_at)) parts.push('Last signed in ', timeElement(device.last_used_at));
  if (isTime(device.created_at)) {
    if (parts.length) parts.push(' · ');
    parts.push('Trusted since ', timeElement(device.created_at, dayOf(device.created_at)));
  }
  return line(...parts);
}

function trustedRow(device) {
  const name = browserOnOs(device);
  const place = placeOf(device);
  const row = deviceRow(device, name, [line(place), whenOf(device)], {
    text: 'Forget',
    label: device.current ? `Forget this device (${name})` : `Forget ${name}, ${place}`,
    act: (button) => forget(device, name, button),
  });
  row.dataset.deviceId = String(device.id ?? '');
  return row;
}

/** Loads the list; resolves true when it is up to date. */
export function load() {
  const list = $('devices-list');
  return loadList(list, $('devices-message'), '/api/security/devices', (answer) => {
    const devices = currentFirst(answer?.devices);
    list.replaceChildren(...devices.map(trustedRow));
    $('no-devices').hidden = devices.length !== 0;
  });
}

function forget(device, name, button) {
  const message = $('devices-message');
  return run(button, {
    region: message,
    busyLabel: 'Forgetting…',
    send: () => sudo(`/api/security/devices/${encodeURIComponent(device.id)}`, { method: 'DELETE' }),
    // The row, and the busy button with it, is drawn again.
    stay: true,
    done: async () => {
      await load();
      const which = device.current ? 'This device' : name;
      showSuccess(message, `${which} is no longer a trusted device. Signing in with it again trusts it again.`);
      $('devices-title').focus();
      reload('overview', 'activity');
    },
    handled: (err) => {
      if (!(err instanceof ApiError && err.code === 'not_found')) return false;
      showError(message, new ApiError(404, 'not_found', 'That device was already forgotten.'));
      load();
      return true;
    },
  });
}

/** A device is unused when its last sign-in is over 30 days old (as the overview's `devices.unused` counts). */
const UNUSED_SECONDS = 30 * 24 * 3600;

const unusedSince = (device, cutoff) => isTime(device.last_used_at) && device.last_used_at < cutoff;

/**
 * Forgets every trusted device but this one that has not signed in for 30 days, one after the
 * other: the first may ask "Confirm it's you" (closing it forgets none), the rest run in the
 * window it opens. One forgotten elsewhere meanwhile (404) is not an error. Resolves how many
 * were forgotten, once the overview and this list (and the activity, when any was) are loaded
 * again.
 */
export async function forgetUnused() {
  const answer = await api('/api/security/devices');
  const cutoff = Date.now() / 1000 - UNUSED_SECONDS;
  const unused = (Array.isArray(answer?.devices) ? answer.devices : []).filter(
    (device) => device && !device.current && device.id !== undefined && device.id !== null && unusedSince(device, cutoff),
  );
  let forgotten = 0;
  try {
    for (const device of unused) {
      try {
        await sudo(`/api/security/devices/${encodeURIComponent(device.id)}`, { method: 'DELETE' });
        forgotten += 1;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
  } finally {
    // The checkup follows the overview, whatever this list held.
    await reload('overview', 'devices', ...(forgotten ? ['activity'] : []));
  }
  return forgotten;
}
