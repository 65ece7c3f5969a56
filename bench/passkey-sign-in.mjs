// The passkey sign-in row of `make bench`: one account with an Ed25519 passkey (Node's own
// crypto as the authenticator), then N sign-ins, one at a time: POST /api/auth/passkey/options,
// sign, POST /api/auth/passkey/login. A challenge serves once, so this cannot be a wrk row.
//   node bench/passkey-sign-in.mjs BASE N          "STATUS SECONDS" per sign-in (both calls,
//                                                   without the signing) for report.mjs calls-row
//   node bench/passkey-sign-in.mjs BASE 1 --ops    the X-Storage-Ops of both calls (count-ops.mjs)
// The rp id is BASE's host, as the worker takes it from the request; the attestation object is
// CBOR the worker parses with ciborium, encoded here by the few lines below (maps, text, bytes, ints).
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

const [base, countArg, mode] = process.argv.slice(2);
const count = Number(countArg ?? 20);
const rpId = new URL(base).hostname;
const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (data) => createHash("sha256").update(data).digest();

function cbor(value) {
  const head = (major, n) =>
    n < 24 ? Buffer.from([(major << 5) | n]) : n < 256 ? Buffer.from([(major << 5) | 24, n]) : Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

let cookie = "";
async function call(path, body, ip) {
  const headers = { Origin: base, "Content-Type": "application/json", "CF-Connecting-IP": ip };
  if (cookie) headers.Cookie = cookie;
  const started = process.hrtime.bigint();
  const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const session = (response.headers.get("set-cookie") ?? "").match(/__Host-session=([^;]+)/);
  if (session) cookie = `__Host-session=${session[1]}`;
  const text = await response.text();
  return { status: response.status, seconds, json: text ? JSON.parse(text) : null, ops: response.headers.get("x-storage-ops") };
}

const UP_UV = 0x05; // user present, user verified
const ATTESTED = 0x40; // attested credential data follows
const tag = randomBytes(6).toString("hex");
// Each ceremony comes from a client address of its own: N sign-ins in seconds are the bench's load,
// not one person's, and the worker limits passkey options per address (30 a minute, wrangler.toml).
const addressOf = () => `10.77.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const ip = addressOf();
const signedUp = await call("/api/auth/signup", { email: `passkey-${tag}@example.com`, password: `Quiet-Lantern-42-${tag}!`, name: "Bench Passkey" }, ip);
if (signedUp.status !== 201) throw new Error(`sign-up answered ${signedUp.status}`);

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const x = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
const credentialId = randomBytes(16);
const options = await call("/api/security/passkeys/options", null, ip);
if (options.status !== 200) throw new Error(`registration options answered ${options.status}`);
const clientData = (type, challenge) => Buffer.from(JSON.stringify({ type, challenge, origin: base, crossOrigin: false }));
const coseKey = cbor(new Map([[1, 1], [3, -8], [-1, 6], [-2, x]]));
const authData = Buffer.concat([
  sha256(rpId), Buffer.from([UP_UV | ATTESTED]), Buffer.alloc(4), Buffer.alloc(16),
  Buffer.from([0, credentialId.length]), credentialId, coseKey,
]);
const registered = await call("/api/security/passkeys", {
  credential: {
    id: b64u(credentialId), rawId: b64u(credentialId), type: "public-key",
    response: {
      clientDataJSON: b64u(clientData("webauthn.create", options.json.publicKey.challenge)),
      attestationObject: b64u(cbor({ fmt: "none", attStmt: {}, authData })),
    },
  },
}, ip);
if (registered.status !== 201) throw new Error(`adding the passkey answered ${registered.status}: ${JSON.stringify(registered.json)}`);
cookie = "";

for (let i = 0; i < count; i++) {
  const ip = addressOf();
  const asked = await call("/api/auth/passkey/options", null, ip);
  const data = clientData("webauthn.get", asked.json.publicKey.challenge);
  const assertionData = Buffer.concat([sha256(rpId), Buffer.from([UP_UV]), Buffer.alloc(4)]);
  const signature = sign(null, Buffer.concat([assertionData, sha256(data)]), privateKey);
  const answered = await call("/api/auth/passkey/login", {
    credential: {
      id: b64u(credentialId), rawId: b64u(credentialId), type: "public-key",
      response: { clientDataJSON: b64u(data), authenticatorData: b64u(assertionData), signature: b64u(signature), userHandle: options.json.publicKey.user.id },
    },
  }, ip);
  cookie = "";
  if (mode === "--ops") {
    console.log(`passkey sign-in options (${asked.status})\t${asked.ops}`);
    console.log(`passkey sign-in (${answered.status})\t${answered.ops}`);
  } else {
    console.log(`${answered.status} ${(asked.seconds + answered.seconds).toFixed(6)}`);
  }
}
