// The top bar: the user's initials, and the account menu they open ("My account", "Sign out"),
// keyboard-usable as a menu button (arrows, Home, End, Escape, Tab).
import { signOut } from './page.js';

const $ = (id) => document.getElementById(id);

/** "Ada Lovelace" → "AL"; one word → its first letter; nothing → the e-mail's first letter. */
export function initialsOf(name, email) {
  const words = (name || '').trim().split(/\s+/).filter(Boolean);
  const first = (word) => [...word][0] || '';
  let initials = '';
  if (words.length >= 2) initials = first(words[0]) + first(words[words.length - 1]);
  else if (words.length === 1) initials = first(words[0]);
  else initials = first(email || '?');
  return initials.toLocaleUpperCase();
}

/** Puts who is signed in into the top bar and its menu. */
export function showUser(user) {
  $('avatar-initials').textContent = initialsOf(user.name, user.email);
  $('account-button').setAttribute('aria-label', `Account menu for ${user.name || user.email}`);
  $('menu-name').textContent = user.name || '';
  $('menu-email').textContent = user.email || '';
}

/** Wires the menu button and the menu (once, at start). */
export function init() {
  const menuButton = $('account-button');
  const menu = $('account-menu');
  const menuItems = () => [...menu.querySelectorAll('[role="menuitem"]')];

  function openMenu(focusLast = false) {
    menu.hidden = false;
    menuButton.setAttribute('aria-expanded', 'true');
    const items = menuItems();
    (focusLast ? items[items.length - 1] : items[0]).focus();
  }

  function closeMenu(focusButton = true) {
    if (menu.hidden) return;
    menu.hidden = true;
    menuButton.setAttribute('aria-expanded', 'false');
    if (focusButton) menuButton.focus();
  }

  menuButton.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu()));
  menuButton.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      openMenu(event.key === 'ArrowUp');
    }
  });
  menu.addEventListener('keydown', (event) => {
    const items = menuItems();
    const index = items.indexOf(document.activeElement);
    const moves = {
      ArrowDown: () => items[(index + 1) % items.length],
      ArrowUp: () => items[(index - 1 + items.length) % items.length],
      Home: () => items[0],
      End: () => items[items.length - 1],
    };
    if (event.key === 'Escape') {
      event.preventDefault();
      closeMenu();
    } else if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]().focus();
    } else if (event.key === 'Tab') {
      closeMenu(false);
    }
  });
  document.addEventListener('click', (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !menuButton.contains(event.target)) closeMenu(false);
  });

  $('menu-signout').addEventListener('click', () => {
    closeMenu(false);
    signOut();
  });
}
