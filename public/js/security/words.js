// Words for times, places and devices, as the sessions and activity cards show them.

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
let regionNames = null;
try {
  regionNames = new Intl.DisplayNames(undefined, { type: 'region' });
} catch {
  regionNames = null;
}

export const isTime = (t) => typeof t === 'number' && Number.isFinite(t) && t > 0;

export function fullDate(seconds) {
  return dateFormat.format(new Date(seconds * 1000));
}

/** The day of a moment, without the time ("Nov 28, 2026"). */
export function dayOf(seconds) {
  return dayFormat.format(new Date(seconds * 1000));
}

export function ago(seconds) {
  const diff = Math.round(seconds - Date.now() / 1000);
  const abs = Math.abs(diff);
  if (abs < 60) return 'just now';
  const units = [
    ['year', 31536000],
    ['month', 2592000],
    ['week', 604800],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (abs >= size) return relativeFormat.format(Math.round(diff / size), unit);
  }
  return 'just now';
}

/** A <time> element: relative words, the exact moment in `datetime` and as a tooltip. */
export function timeElement(seconds, words) {
  const el = document.createElement('time');
  const date = new Date(seconds * 1000);
  el.dateTime = date.toISOString();
  el.title = fullDate(seconds);
  el.textContent = words ?? ago(seconds);
  return el;
}

function countryName(code) {
  if (typeof code !== 'string' || !code || code === 'XX' || code === 'T1') return null;
  try {
    return regionNames?.of(code.toUpperCase()) || code;
  } catch {
    return code;
  }
}

export function placeOf(item) {
  const parts = [typeof item.city === 'string' ? item.city : null, countryName(item.country)].filter(Boolean);
  return parts.length ? parts.join(', ') : 'Unknown location';
}

const KNOWN_DEVICES = new Set(['desktop', 'mobile', 'tablet']);

export function deviceKind(device) {
  const kind = typeof device === 'string' ? device : device?.kind;
  return KNOWN_DEVICES.has(kind) ? kind : 'unknown';
}

/** "Chrome on Linux", from a session or an event (whose device may be a string or an object). */
export function browserOnOs(item) {
  if (typeof item.device === 'string' && !KNOWN_DEVICES.has(item.device) && item.device !== 'unknown' && !item.browser) {
    // Events describe the device in words already ("Chrome on Linux").
    const words = item.device.replace(/ on Unknown OS$/, '').trim();
    return !words || words.startsWith('Unknown browser') ? 'Unknown device' : words;
  }
  const source = item.device && typeof item.device === 'object' ? item.device : item;
  const browser = typeof source.browser === 'string' && source.browser ? source.browser : 'Unknown browser';
  const os = typeof source.os === 'string' && source.os ? source.os : null;
  if (browser.startsWith('Unknown') && (!os || os.startsWith('Unknown'))) {
    return typeof item.device === 'string' && KNOWN_DEVICES.has(item.device)
      ? `Unknown browser on a ${item.device}`
      : 'Unknown device';
  }
  return os && !os.startsWith('Unknown') ? `${browser} on ${os}` : browser;
}

/** How a session or sign-in was made (`sign_in_method`, `detail.method`), as words after "with". */
export function signInMethod(method) {
  if (typeof method !== 'string') return null;
  if (method === 'passkey') return 'a passkey';
  if (/passkey/.test(method)) return 'password and a passkey';
  if (/recovery/.test(method)) return 'password and a recovery code';
  if (/totp|two|code|2fa/.test(method)) return 'password and authenticator code';
  if (method === 'password') return 'password';
  return method.replace(/_/g, ' ');
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** Why a sign-in was unfamiliar, as the API names the reasons, in the order it gives them. */
const REASONS = ['new_country', 'new_network', 'new_device', 'impossible_travel'];

/**
 * The words for why a sign-in was unfamiliar (issue 24): `reasons` as the API names them,
 * `item` the session or event with its place, `travelKmh` the speed from the sign-in before.
 * `short`: the activity list's wording ("Impossible travel (2,400 km/h)"); otherwise the session
 * row's ("Impossible travel: 2,400 km/h from your previous sign-in"). Unknown reasons say nothing.
 */
export function unfamiliarWords(reasons, item, travelKmh, { short = false } = {}) {
  const known = Array.isArray(reasons) ? REASONS.filter((reason) => reasons.includes(reason)) : [];
  const speed = typeof travelKmh === 'number' && Number.isFinite(travelKmh) && travelKmh >= 0 ? `${numberFormat.format(travelKmh)} km/h` : null;
  return known.map((reason) => {
    switch (reason) {
      case 'new_country': {
        const place = placeOf(item);
        return place === 'Unknown location' ? 'New country' : `New place: ${place}`;
      }
      case 'new_network':
        return 'New network';
      case 'new_device':
        return 'New device';
      default:
        if (!speed) return 'Impossible travel from your previous sign-in';
        return short ? `Impossible travel (${speed})` : `Impossible travel: ${speed} from your previous sign-in`;
    }
  });
}
