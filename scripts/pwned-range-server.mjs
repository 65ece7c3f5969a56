#!/usr/bin/env node
// A local stand-in for Pwned Passwords' range API (https://api.pwnedpasswords.com/range/{prefix}),
// for tests and the bench (issue 24): `node scripts/pwned-range-server.mjs PORT [LOG]`.
// GET /range/{5 hex digits} answers tests/data/pwned/{PREFIX}.txt (real range lines,
// `SUFFIX:COUNT`), or padding alone for any other prefix; prefixes listed in slow.txt answer after
// 3 s, those in down.txt with 503. Every request's path and `Add-Padding` header is appended to LOG
// (one JSON line each), so a test can check that only five hex digits ever left the worker.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const DATA = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'tests', 'data', 'pwned');
const [port, log] = [Number(process.argv[2] || 8899), process.argv[3]];
const listed = (file) => (existsSync(path.join(DATA, file)) ? readFileSync(path.join(DATA, file), 'utf8').split(/\s+/) : []);
const [slow, down] = [listed('slow.txt'), listed('down.txt')];

/** Made-up suffixes with count 0, as the real service pads an answer. */
function padding(prefix) {
  return Array.from({ length: 8 }, (_, i) => `${prefix}${i}`.padEnd(35, 'A').slice(0, 35) + ':0').join('\r\n');
}

http
  .createServer((req, res) => {
    const match = /^\/range\/([0-9A-Fa-f]{5})$/.exec(req.url ?? '');
    if (log) appendFileSync(log, `${JSON.stringify({ path: req.url, padding: req.headers['add-padding'] ?? null })}\n`);
    if (!match) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('The hash prefix was not in a valid format');
      return;
    }
    const prefix = match[1].toUpperCase();
    if (down.includes(prefix)) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    const file = path.join(DATA, `${prefix}.txt`);
    const body = `${existsSync(file) ? readFileSync(file, 'utf8') : ''}${padding(prefix)}\r\n`;
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    if (slow.includes(prefix)) setTimeout(answer, 3000);
    else answer();
  })
  .listen(port, '127.0.0.1', () => console.log(`pwned range server on http://127.0.0.1:${port}/range/`));
