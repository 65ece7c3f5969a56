// The TOTP second-step row of `make bench`. A code is accepted once per 30 s step and account
// (SPEC §5.4), so this cannot be a wrk row: N accounts, each with two-factor authentication turned
// on (with the current step's code), each then signs in once from a new client: the password step
// (POST /api/auth/login → the pending cookie), then the code step (POST /api/auth/login/two-factor)
// with the next step's code (within the drift window, later than the one spent on turning it on).
//   node bench/totp-sign-in.mjs BASE N          "STATUS SECONDS" per code step, for report.mjs calls-row
//   node bench/totp-sign-in.mjs BASE 1 --ops    the X-Storage-Ops of both steps (count-ops.mjs)
import { createHmac, randomBytes } from "node:crypto";

const [base, countArg, mode] = process.argv.slice(2);
const count = Number(countArg ?? 20);

/** RFC 4648 base32 (no padding) → bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238: HMAC-SHA1, 30 s steps, 6 digits. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[19] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

function client(ip) {
  const cookies = new Map();
  return async function call(path, body) {
    const headers = { Origin: base, "Content-Type": "application/json", "CF-Connecting-IP": ip };
    if (cookies.size) headers.Cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const started = process.hrtime.bigint();
    const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const [name, value] = pair.split("=");
      if (value) cookies.set(name, value);
      else cookies.delete(name);
    }
    const text = await response.text();
    return { status: response.status, seconds, json: text ? JSON.parse(text) : null, ops: response.headers.get("x-storage-ops") };
  };
}

const ip = () => `10.88.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const expect = (answer, status, what) => {
  if (answer.status !== status) throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer;
};

for (let i = 0; i < count; i++) {
  const tag = randomBytes(6).toString("hex");
  const email = `totp-${tag}@example.com`;
  const password = `Quiet-Lantern-42-${tag}!`;
  const owner = client(ip());
  expect(await owner("/api/auth/signup", { email, password, name: "Bench Totp" }), 201, "sign-up");
  const setup = expect(await owner("/api/security/two-factor/setup"), 200, "two-factor set-up");
  const secret = base32(setup.json.secret.replace(/\s/g, ""));
  const step = Math.floor(Date.now() / 1000 / 30);
  expect(await owner("/api/security/two-factor/enable", { code: totp(secret, step) }), 200, "turning two-factor on");

  const signIn = client(ip());
  const password_step = expect(await signIn("/api/auth/login", { email, password }), 200, "the password step");
  if (password_step.json?.two_factor_required !== true) throw new Error("no second step was asked for");
  const code_step = await signIn("/api/auth/login/two-factor", { code: totp(secret, step + 1) });
  if (mode === "--ops") {
    console.log(`sign-in with TOTP, password step (${password_step.status})\t${password_step.ops}`);
    console.log(`sign-in with TOTP, code step (${code_step.status})\t${code_step.ops}`);
  } else {
    console.log(`${code_step.status} ${code_step.seconds.toFixed(6)}`);
  }
}
