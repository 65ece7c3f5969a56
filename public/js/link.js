// What the pages opened from a link in a mail share (/reset-password, /verify-email, /not-me,
// docs/email.md "Pages"): the link's token, and one view of the page at a time.
//
// The token comes in the URL's fragment (`#token=…`), which the browser never sends to a server.
// It is read once and dropped from the address bar at once, so it is not bookmarked, copied from
// the bar or shown to someone looking at the screen; from then on only this page's memory holds
// it, and it leaves only in a POST body.

const $ = (id) => document.getElementById(id);

/** A link token's shape (256 random bits in base64url; a little room either way). */
const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/**
 * The link's token, or null when there is none (or it is not one); the fragment is dropped. A
 * second link opened in this tab changes only the fragment: the page starts again with it.
 */
export function takeToken() {
  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.slice(1)).has('token')) location.reload();
  });
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
  return typeof token === 'string' && TOKEN.test(token) ? token : null;
}

/**
 * The page's views: `<section id="<name>-view" class="auth-view">` each, one shown at a time.
 * `titles` names each view's document title. `show(name, { focus })` shows one and moves focus to
 * `focus` (an element), or by default to the view's heading, so the change is announced (`false`:
 * focus stays, as when the page opens).
 */
export function viewsOf(titles) {
  const names = Object.keys(titles);
  return function show(name, { focus } = {}) {
    for (const other of names) $(`${other}-view`).hidden = other !== name;
    document.title = `${titles[name]} – WEMASY`;
    if (focus === false) return;
    const target = focus || $(`${name}-view`).querySelector('h1');
    target?.focus();
  };
}
