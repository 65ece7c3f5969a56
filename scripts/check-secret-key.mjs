#!/usr/bin/env node
// Does SECRET_KEY fit the data? Before `wrangler dev` (make dev) and before `wrangler deploy`: the
// worker keeps its data keys in D1 wrapped under a key derived from SECRET_KEY (README "Rotating
// SECRET_KEY"); a worker whose SECRET_KEY (with SECRET_KEY_PREVIOUS) wraps none of them refuses
// every request that needs a key (503 secret_key_mismatch). This says so before it starts.
//
//   node scripts/check-secret-key.mjs                                  # .dev.vars, local D1 (make dev)
//   SECRET_KEY=… node scripts/check-secret-key.mjs --remote --env production   # before a deploy
//
// Options: --remote, --env NAME, --persist-to DIR, --config FILE (passed to wrangler), --vars FILE.
// Locally the keys are read from the vars file (default .dev.vars, as `wrangler dev` reads them);
// with --remote from the environment (SECRET_KEY, SECRET_KEY_PREVIOUS: a Worker secret cannot be
// read back). Key ids are derived exactly as src/domain/secrets.rs (`RootKey::derive`) does; the
// check prints key ids, never a key.
// Exit: 0 the key fits (or there are no data keys yet), 1 it does not, 2 it could not be checked.

import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUERY = 'SELECT kid, purpose, wrapped_by FROM data_keys WHERE retired_at IS NULL ORDER BY purpose';

class CannotCheck extends Error {}

function parseArgs(argv) {
  const options = { remote: false, env: null, persistTo: null, config: null, vars: '.dev.vars' };
  const names = { '--env': 'env', '--persist-to': 'persistTo', '--config': 'config', '--vars': 'vars' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--remote') options.remote = true;
    else if (names[argv[i]] && i + 1 < argv.length) options[names[argv[i]]] = argv[++i];
    else throw new CannotCheck(`unknown argument ${argv[i]} (see the head of scripts/check-secret-key.mjs)`);
  }
  return options;
}

/** The raw bytes of a key as `RootKey::derive` reads it: standard base64 (quotes trimmed), else
 * base64url without padding; null when it is neither, or shorter than 32 bytes. */
export function keyMaterial(encoded) {
  const standard = encoded.trim().replace(/^"+|"+$/g, '');
  let bytes = Buffer.from(standard, 'base64');
  if (bytes.toString('base64') !== standard) {
    const urlSafe = encoded.trim().replace(/=+$/, '');
    bytes = Buffer.from(urlSafe, 'base64url');
    if (bytes.toString('base64url') !== urlSafe) return null;
  }
  return bytes.length >= 32 ? bytes : null;
}

/** The key id: the first 4 bytes of HMAC-SHA256(key, "wemasy/v1/key-id"), in hex. */
export function keyId(material) {
  return createHmac('sha256', material).update('wemasy/v1/key-id').digest().subarray(0, 4).toString('hex');
}

/** `NAME=value` lines of a .dev.vars file (quotes around the value removed). */
function readVars(path) {
  const vars = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (match) vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/** SECRET_KEY and SECRET_KEY_PREVIOUS (comma-separated) as ids, and where they came from. */
function configuredKeys(options) {
  let [source, vars] = ['the environment', process.env];
  if (!options.remote) {
    const path = resolve(options.vars);
    if (!existsSync(path)) throw new CannotCheck(`${options.vars} is missing: run scripts/setup.sh (or make dev)`);
    [source, vars] = [options.vars, readVars(path)];
  }
  const id = (name, encoded) => {
    const material = keyMaterial(encoded);
    if (!material) throw new CannotCheck(`${name} in ${source} is not base64 of at least 32 bytes`);
    return keyId(material);
  };
  if (!vars.SECRET_KEY) {
    const why = options.remote ? ' (a Worker secret cannot be read back: export the one you keep)' : '';
    throw new CannotCheck(`SECRET_KEY is not set in ${source}${why}`);
  }
  const previous = (vars.SECRET_KEY_PREVIOUS || '').split(',').filter((k) => k.trim());
  const current = id('SECRET_KEY', vars.SECRET_KEY);
  return { source, current, previous: previous.map((k) => id('SECRET_KEY_PREVIOUS', k)) };
}

/** The active data keys, read with `wrangler d1 execute --json`. */
function activeDataKeys(options) {
  const args = ['d1', 'execute', 'DB', options.remote ? '--remote' : '--local', '--json', '--command', QUERY];
  if (options.env) args.push('--env', options.env);
  if (options.persistTo) args.push('--persist-to', resolve(options.persistTo));
  if (options.config) args.push('--config', resolve(options.config));
  let out;
  try {
    out = execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
  } catch (error) {
    const said = `${error.stdout || ''}${error.stderr || ''}`;
    const migrate = ' (apply the D1 migrations first: make migrate, or README Deploy step 5)';
    const hint = /no such table/.test(said) ? migrate : '';
    throw new CannotCheck(`wrangler d1 execute failed${hint}:\n${said.trim().split('\n').slice(-8).join('\n')}`);
  }
  const parsed = JSON.parse(out.slice(out.search(/[[{]/)));
  return (Array.isArray(parsed) ? parsed[0] : parsed).results || [];
}

/** The verdict, in words for the person who runs it; null when the key fits. */
export function verdict(keys, rows, where) {
  const known = new Set([keys.current, ...keys.previous]);
  const foreign = rows.filter((row) => !known.has(row.wrapped_by));
  if (foreign.length === 0) return null;
  const wrappedBy = [...new Set(foreign.map((row) => row.wrapped_by))];
  const previous = keys.previous.length ? keys.previous.join(', ') : 'none';
  const none = foreign.length === rows.length;
  return [
    `SECRET_KEY does not fit the data in ${where.db}.`,
    `  SECRET_KEY (${keys.source}) has key id ${keys.current}; SECRET_KEY_PREVIOUS: ${previous}.`,
    `  ${none ? 'The' : 'Some'} data keys are wrapped by key id ${wrappedBy.join(' and ')}:`,
    ...foreign.map((row) => `    ${row.purpose.padEnd(9)} data key ${row.kid}, wrapped by ${row.wrapped_by}`),
    '  With this key the worker refuses every request that needs a key (503 secret_key_mismatch):',
    '  sign-in, sign-up, two-factor, recovery codes.',
    `  What to do: ${where.fix(wrappedBy.join(' or '))}`,
    '  (During a rotation keep the old key in SECRET_KEY_PREVIOUS: README "Rotating SECRET_KEY".)',
  ].join('\n');
}

function place(options) {
  if (options.remote) {
    const env = options.env ? ` --env ${options.env}` : '';
    return {
      db: `the remote D1${env ? ` (${options.env})` : ''}`,
      fix: (id) =>
        `find the key whose key id is ${id} (where you keep it), check again with it, and make it the ` +
        `Worker's SECRET_KEY before deploying: npx wrangler secret put SECRET_KEY${env}.`,
    };
  }
  return {
    db: options.persistTo ? `the local D1 in ${options.persistTo}` : 'the local D1 (.wrangler/state)',
    fix: (id) =>
      `put the SECRET_KEY whose key id is ${id} back into ${options.vars}. If that key is lost and the ` +
      `local data does not matter, start from an empty local state: rm -rf ${options.persistTo || '.wrangler/state'}` +
      ' (make dev applies the migrations again).',
  };
}

function main() {
  try {
    const options = parseArgs(process.argv.slice(2));
    const keys = configuredKeys(options);
    const rows = activeDataKeys(options);
    const where = place(options);
    const problem = verdict(keys, rows, where);
    if (problem) {
      console.error(`check-secret-key: ${problem}`);
      return 1;
    }
    const fits = rows.length
      ? `opens the ${rows.length} data keys in ${where.db}`
      : `fits: ${where.db} holds no data keys yet (the worker makes them under it)`;
    console.log(`check-secret-key: ok, SECRET_KEY ${keys.current} (${keys.source}) ${fits}`);
    return 0;
  } catch (error) {
    if (!(error instanceof CannotCheck)) throw error;
    console.error(`check-secret-key: cannot check: ${error.message}`);
    return 2;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
