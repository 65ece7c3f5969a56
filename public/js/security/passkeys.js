// The Passkeys card (SPEC §5.11): the account's passkeys, each with when it was added and last
// used, "Synced" when it syncs across the person's devices and the name of the password manager
// or device that holds it when known; "Add a passkey" (needs a fresh "Confirm it's you"),
// "Rename" (a small form in the row) and "Remove" (asked once more in the row, then confirmed).
// Each time the list loads, the browser's password manager is told which passkeys the account
// still has (Signal API), so one removed here or elsewhere stops being offered. Right after a
// password sign-in, the password manager may be asked for a passkey without a prompt
// (`offerAutomatically`, issue 24).
import { api, ApiError } from '../api.js';
import { showError, showSuccess, showInfo, clearMessage } from '../messages.js';
import { blame } from '../form.js';
import {
  passkeysSupported,
  createPasskey,
  PasskeyCancelled,
  conditionalCreateAvailable,
  inBackground,
  signalAcceptedCredentials,
  signalUnknownCredential,
} from '../webauthn.js';
import { takePasswordSignIn } from '../auto-passkey.js';
import { isTime, dayOf, timeElement } from './words.js';
import { state, loadList, reload, run, onClick, onSubmit } from './page.js';
import { sudo } from './reauth.js';
import * as checkup from './checkup.js';

const $ = (id) => document.getElementById(id);
const MAX_NAME = 64;
const path = (passkey) => `/api/security/passkeys/${encodeURIComponent(passkey.id)}`;
const quoted = (name) => `“${name}”`;

/** How many passkeys the account has (the overview, the list): the checkup, and whether "Confirm it's you" offers one. */
export function showCount(count) {
  if (typeof count !== 'number') return;
  state.passkeyCount = count;
  checkup.update({ passkeys: count });
}

/** A name as the API takes it: trimmed, 1 to 64 characters. */
function nameProblem(input) {
  const name = input.value.trim();
  if (!name) return { field: input, message: 'Enter a name for the passkey.' };
  if ([...name].length > MAX_NAME) return { field: input, message: `A passkey's name can be at most ${MAX_NAME} characters.` };
  return null;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function button(label, className, ariaLabel) {
  const el = element('button', `button ${className} button-small`, label);
  el.type = 'button';
  if (ariaLabel) el.setAttribute('aria-label', ariaLabel);
  return el;
}

function titleOf(passkey) {
  const title = element('p', 'session-title');
  title.append(element('span', 'passkey-name', passkey.name));
  if (passkey.synced) {
    const badge = element('span', 'badge', 'Synced');
    badge.append(element('span', 'visually-hidden', ' across your devices'));
    title.append(' ', badge);
  }
  return title;
}

function metaOf(passkey) {
  const meta = element('p', 'session-meta');
  if (typeof passkey.authenticator === 'string' && passkey.authenticator) meta.append(`${passkey.authenticator} · `);
  if (isTime(passkey.created_at)) meta.append('Added ', timeElement(passkey.created_at, dayOf(passkey.created_at)), ' · ');
  if (isTime(passkey.last_used_at)) meta.append('Last used ', timeElement(passkey.last_used_at));
  else meta.append('Not used yet');
  return meta;
}

/** A row's form closes with its Cancel button, or Escape inside it. */
function closesWith(part, cancel, close) {
  cancel.addEventListener('click', close);
  part.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    close();
  });
}

/** The row's "Rename" form: the name, Save and Cancel; Escape cancels too. */
function renameForm(passkey, index, close) {
  const form = element('form', 'passkey-form');
  form.method = 'post';
  form.noValidate = true;
  form.hidden = true;
  const field = element('div', 'field');
  const label = element('label', '', 'Name of this passkey');
  const input = element('input');
  label.htmlFor = input.id = `passkey-name-${index}`;
  input.name = 'name';
  input.type = 'text';
  input.autocomplete = 'off';
  input.maxLength = MAX_NAME;
  input.required = true;
  const hint = element('p', 'hint', 'For example the device or password manager that holds it, like “Work laptop”.');
  hint.id = `passkey-name-hint-${index}`;
  input.setAttribute('aria-describedby', hint.id);
  field.append(label, input, hint);
  const error = element('div', 'message message-error');
  error.setAttribute('role', 'alert');
  const save = element('button', 'button button-primary button-small', 'Save name');
  save.type = 'submit';
  const cancel = button('Cancel', 'button-secondary');
  const actions = element('div', 'actions');
  actions.append(save, cancel);
  form.append(field, error, actions);

  closesWith(form, cancel, close);
  onSubmit(form, () => {
    clearMessage($('passkeys-message'));
    return {
      region: error,
      check: () => nameProblem(input),
      busyLabel: 'Saving…',
      send: () => api(path(passkey), { method: 'PATCH', body: { name: input.value.trim() } }),
      stay: true,
      done: async (answer) => {
        const name = answer?.passkey?.name || input.value.trim();
        await load();
        showSuccess($('passkeys-message'), `The passkey is now called ${quoted(name)}.`);
        rowButton(passkey.id, 'rename')?.focus();
      },
      handled: (err) => gone(err),
      failed: () => blame(input, { select: true }),
    };
  });
  return { form, input, error };
}

/** The row's "Remove" question: what removing means, then Remove or Cancel. */
function removeQuestion(passkey, index, close) {
  const box = element('div', 'passkey-form');
  box.hidden = true;
  const question = element(
    'p',
    '',
    `Remove ${quoted(passkey.name)}? You will no longer be able to sign in with it. Your password keeps working.`,
  );
  question.id = `passkey-remove-question-${index}`;
  const remove = button('Remove passkey', 'button-danger');
  remove.setAttribute('aria-describedby', question.id);
  const cancel = button('Cancel', 'button-secondary');
  const actions = element('div', 'actions');
  actions.append(remove, cancel);
  box.append(question, actions);
  closesWith(box, cancel, close);
  remove.addEventListener('click', () =>
    run(remove, {
      region: $('passkeys-message'),
      busyLabel: 'Removing…',
      send: () => sudo(path(passkey), { method: 'DELETE' }),
      // The list, and this row with it, is drawn again.
      stay: true,
      done: async () => {
        await load();
        showSuccess($('passkeys-message'), `${quoted(passkey.name)} was removed. Your password keeps working.`);
        $('add-passkey').focus();
        reload('overview', 'activity');
      },
      handled: (err) => gone(err),
    }),
  );
  return { box, remove };
}

/** A passkey removed elsewhere (404): said, and the list drawn again. */
function gone(err) {
  if (!(err instanceof ApiError && err.status === 404)) return false;
  showError($('passkeys-message'), new ApiError(404, 'not_found', 'That passkey was already removed.'));
  load();
  return true;
}

// What each drawn row can be asked to do from outside it: open its Rename form.
const renamers = new Map();

function rowButton(id, action) {
  const row = [...$('passkeys-list').children].find((item) => item.dataset.passkeyId === id);
  return row?.querySelector(`[data-action="${action}"]`);
}

function passkeyRow(passkey, index) {
  const item = element('li', 'passkey');
  item.dataset.passkeyId = passkey.id;
  const icon = element('img', 'session-icon');
  icon.src = '/icons/passkey.svg';
  icon.alt = '';
  icon.width = 24;
  icon.height = 24;

  const buttons = element('div', 'passkey-actions');
  const rename = button('Rename', 'button-secondary', `Rename passkey ${quoted(passkey.name)}`);
  rename.dataset.action = 'rename';
  const remove = button('Remove', 'button-danger-outline', `Remove passkey ${quoted(passkey.name)}`);
  remove.dataset.action = 'remove';
  buttons.append(rename, remove);

  const showButtons = (focus) => () => {
    renaming.form.hidden = true;
    removing.box.hidden = true;
    buttons.hidden = false;
    focus.focus();
  };
  const renaming = renameForm(passkey, index, showButtons(rename));
  const removing = removeQuestion(passkey, index, showButtons(remove));
  const openRename = () => {
    buttons.hidden = true;
    removing.box.hidden = true;
    renaming.form.hidden = false;
    clearMessage(renaming.error);
    renaming.input.value = passkey.name;
    renaming.input.removeAttribute('aria-invalid');
    renaming.input.focus();
    renaming.input.select();
  };
  renamers.set(passkey.id, openRename);
  rename.addEventListener('click', () => {
    clearMessage($('passkeys-message'));
    openRename();
  });
  remove.addEventListener('click', () => {
    clearMessage($('passkeys-message'));
    buttons.hidden = true;
    renaming.form.hidden = true;
    removing.box.hidden = false;
    removing.remove.focus();
  });

  const body = element('div', 'session-body');
  body.append(titleOf(passkey), metaOf(passkey), renaming.form, removing.box);
  item.append(icon, body, buttons);
  return item;
}

/** Loads the list; resolves true when it is up to date. */
export function load() {
  const list = $('passkeys-list');
  return loadList(list, $('passkeys-message'), '/api/security/passkeys', (answer) => {
    const passkeys = Array.isArray(answer?.passkeys) ? answer.passkeys.filter((p) => p && typeof p.id === 'string') : [];
    renamers.clear();
    if (passkeys.length) list.replaceChildren(...passkeys.map(passkeyRow));
    else list.replaceChildren(element('li', 'empty', 'You have no passkeys yet. Add one to sign in without typing your password.'));
    showCount(passkeys.length);
    // The whole list, as the worker answered it: the password manager may hide the account's others.
    signalAcceptedCredentials(state.user, passkeys.map((p) => p.id));
  });
}

/**
 * After a password sign-in in this tab (a few minutes ago at most), where the browser can create
 * a passkey without a prompt: asks the password manager for one, in the background. It decides;
 * when it makes one, the worker adds it and the card says so. Nothing else shows: not when the
 * browser or password manager declines, nor when the worker refuses (then the password manager
 * is told to drop the passkey it made), nor when "Confirm it's you" would be needed (a dialog
 * nobody asked for). A passkey the person asks for meanwhile ("Add a passkey", "Use a passkey")
 * makes this request give way.
 */
export async function offerAutomatically() {
  if (!takePasswordSignIn() || !passkeysSupported() || !(await conditionalCreateAvailable())) return false;
  let credential;
  try {
    const options = await api('/api/security/passkeys/options', { method: 'POST', body: { mediation: 'conditional' } });
    credential = await createPasskey(options, { mediation: 'conditional', signal: inBackground() });
  } catch {
    return false; // declined, called off, or not now (too many passkeys, no sudo window)
  }
  let answer;
  try {
    answer = await api('/api/security/passkeys', { method: 'POST', body: { credential } });
  } catch (err) {
    // Refused (4xx): the passkey just made is no one's here, and never will be. A 409 means the
    // worker has it already; after a 5xx or no answer, the next load of the list tells.
    const refused = err instanceof ApiError && err.status >= 400 && err.status < 500 && err.code !== 'passkey_exists';
    if (refused) signalUnknownCredential(credential.id);
    return false;
  }
  await load();
  reload('overview', 'activity');
  const name = answer?.passkey?.name;
  showSuccess(
    $('passkeys-message'),
    `Your password manager saved a passkey for WEMASY${name ? ` (${quoted(name)})` : ''}. Next time you can sign in with it instead of your password.`,
  );
  return true;
}

/** Wires the card (once, at start). */
export function init() {
  const message = $('passkeys-message');
  const supported = passkeysSupported();
  $('add-passkey').hidden = !supported;
  $('passkeys-unsupported').hidden = supported;

  onClick($('add-passkey'), () => ({
    region: message,
    busyLabel: 'Adding a passkey…',
    send: async () => {
      const options = await sudo('/api/security/passkeys/options', { method: 'POST' });
      const credential = await createPasskey(options);
      return api('/api/security/passkeys', { method: 'POST', body: { credential } });
    },
    done: async (answer) => {
      await load();
      reload('overview', 'activity');
      // The new passkey's row opens its Rename form: the name the server gave may say little.
      renamers.get(answer?.passkey?.id)?.();
      showSuccess(
        message,
        'Passkey added. From now on you can sign in with it instead of your password. Give it a name you will recognise, or keep this one.',
      );
    },
    handled: (err) => {
      if (!(err instanceof PasskeyCancelled)) return false;
      showInfo(message, 'No passkey was added. You can try again whenever you like.');
      return true;
    },
  }));
}
