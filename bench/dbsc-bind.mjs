// A session bound to a device key (DBSC, issue 25) for the bench's "GET /api/me (bound session)"
// row: signs up EMAIL at BASE, registers the session with a software ES256 key as a browser with
// DBSC does, and prints "<session token>; __Host-bound=<short cookie>" (wrk's BENCH_COOKIE).
// Usage: node bench/dbsc-bind.mjs BASE EMAIL PASSWORD
import { webcrypto } from 'node:crypto';

const [base, email, password] = process.argv.slice(2);
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const cookieOf = (response, name) =>
  response.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

const signUp = await fetch(`${base}/api/auth/signup`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Origin: base, 'CF-Connecting-IP': '2001:db8:77::1' },
  body: JSON.stringify({ email, password, name: 'Bench Person' }),
});
if (signUp.status !== 201) throw new Error(`sign-up answered ${signUp.status}`);
const token = cookieOf(signUp, '__Host-session');
const offer = signUp.headers.get('Secure-Session-Registration') || '';
const challenge = /challenge="([^"]+)"/.exec(offer)?.[1];
if (!token || !challenge) throw new Error(`no session or no registration offer: ${offer}`);

const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', keys.publicKey);
const part = (value) => b64url(JSON.stringify(value));
const input = `${part({ alg: 'ES256', typ: 'dbsc+jwt', jwk: { kty, crv, x, y } })}.${part({ jti: challenge, aud: `${base}/api/auth/dbsc/register`, iat: Math.floor(Date.now() / 1000) })}`;
const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, Buffer.from(input));
const registered = await fetch(`${base}/api/auth/dbsc/register`, {
  method: 'POST',
  headers: { Cookie: `__Host-session=${token}`, 'Secure-Session-Response': `"${input}.${b64url(signature)}"` },
});
const bound = cookieOf(registered, '__Host-bound');
if (registered.status !== 200 || !bound) throw new Error(`registration answered ${registered.status}: ${await registered.text()}`);
console.log(`${token}; __Host-bound=${bound}`);
