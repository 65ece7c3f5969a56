// The pages' scripts are plain ES modules with no build step: each page has one entry
// (`<script type="module">`), and the entry imports the rest by relative paths. This checks,
// without a browser, that every import names a module that exists (a wrong path would otherwise
// show only as a page that never loads) and that every module under public/js/ is used by a page.
// Pure Node: it reads the files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const PUBLIC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');
const fileOf = (sitePath) => path.join(PUBLIC, ...sitePath.split('/'));

/** The site paths (`/js/api.js`) a module imports, resolved against its own path. */
function importsOf(sitePath) {
  const source = readFileSync(fileOf(sitePath), 'utf8');
  const specifiers = [
    ...[...source.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]),
    ...[...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]),
  ];
  return specifiers.map((specifier) => {
    // Relative, so that Node can import the same modules (tests/e2e/event-types.test.mjs does).
    assert.match(specifier, /^\.{1,2}\//, `${sitePath} imports ${specifier}: a relative path`);
    const target = new URL(specifier, `https://site${sitePath}`).pathname;
    assert.ok(existsSync(fileOf(target)), `${sitePath} imports ${specifier}: public${target} exists`);
    return target;
  });
}

/** Every module `entry` loads, directly or not, the entry included. */
function graphOf(entry) {
  const seen = new Set([entry]);
  const walk = (sitePath) => {
    for (const dependency of importsOf(sitePath)) {
      if (seen.has(dependency)) continue;
      seen.add(dependency);
      walk(dependency);
    }
  };
  walk(entry);
  return seen;
}

const entries = readdirSync(PUBLIC)
  .filter((file) => file.endsWith('.html'))
  .map((file) => {
    const html = readFileSync(path.join(PUBLIC, file), 'utf8');
    return { file, scripts: [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]) };
  });

test('each page loads one module entry, and every module it imports is there', () => {
  assert.deepEqual(entries.map((e) => e.file).sort(), [
    'login.html',
    'not-me.html',
    'reset-password.html',
    'security.html',
    'verify-email.html',
  ]);
  for (const { file, scripts } of entries) {
    assert.equal(scripts.length, 1, `${file}: one <script>`);
    assert.ok(graphOf(scripts[0]).size > 1, `${file}: ${scripts[0]} imports modules`);
  }
});

test('every module under public/js/ is used by a page', () => {
  const used = new Set(entries.flatMap(({ scripts }) => [...graphOf(scripts[0])]));
  const modules = readdirSync(path.join(PUBLIC, 'js'), { recursive: true })
    .filter((file) => file.endsWith('.js'))
    .map((file) => `/js/${file.split(path.sep).join('/')}`);
  assert.deepEqual(modules.filter((m) => !used.has(m)), [], 'modules no page imports');
});
