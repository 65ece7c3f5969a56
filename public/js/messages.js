// The live regions (`role="status"` / `role="alert"`, already in the markup) that say what
// happened. The regions stay in the page (an empty one takes no space), so screen readers
// announce each change. Never innerHTML: every word is set as text.
import { ApiError, messageOf } from './api.js';

function say(region, kind, text) {
  region.replaceChildren();
  const p = document.createElement('p');
  p.textContent = text;
  region.append(p);
  region.classList.add('message', `message-${kind}`);
  region.classList.remove(kind === 'error' ? 'message-success' : 'message-error', 'message-info');
}

/** Shows an error: the message, then the password rules it broke, if any. */
export function showError(region, error) {
  say(region, 'error', messageOf(error));
  const problems = error instanceof ApiError ? error.problems : [];
  if (problems.length) {
    const list = document.createElement('ul');
    for (const problem of problems) {
      const item = document.createElement('li');
      item.textContent = problem.message;
      list.append(item);
    }
    region.append(list);
  }
}

export function showSuccess(region, text) {
  say(region, 'success', text);
}

/** A calm word where nothing went wrong (the person called an action off). */
export function showInfo(region, text) {
  say(region, 'success', text);
  region.classList.add('message-info');
}

export function clearMessage(region) {
  region.replaceChildren();
}
