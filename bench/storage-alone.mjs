// Bench-only entry module: what the storage calls of `GET /api/me` and of the session list cost
// on this machine with nothing else around them, so the worker's rows can be read against them.
// Under /bench/storage/ it answers itself, in plain JS on the same bindings and local state:
//   /bench/storage/floor   404 without storage (this module's own floor)
//   /bench/storage/me      the session cookie → KV get ∥ one D1 query (the worker's auth view)
//   /bench/storage/list    the same, ∥ the user's KV list, D1 batch with the revoked ids
// Every other path goes to the real worker (./index.js), unchanged. Nothing of it ships.
import { WorkerEntrypoint } from "cloudflare:workers";
import Worker from "./index.js";

const AUTH_VIEW =
  "SELECT id, email, name, password_hash, password_changed_at, totp_enabled_at, " +
  "sessions_valid_after, totp_secret, totp_pending_secret, totp_last_step, " +
  "session_generation, password_generation, " +
  "EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?2) AS session_revoked, " +
  "(SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS recovery_codes_remaining, " +
  "(SELECT COUNT(*) FROM passkeys WHERE user_id = ?1) AS passkeys " +
  "FROM users WHERE id = ?1";
const REVOKED = "SELECT session_id FROM revoked_sessions WHERE user_id = ?1";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function session(request) {
  const cookie = (request.headers.get("Cookie") || "").match(/__Host-session=([^;]+)/)?.[1] ?? "";
  const userId = cookie.split(".")[0];
  const id = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(cookie)));
  return { userId, id };
}

async function storageAlone(request, env, path) {
  if (path === "/bench/storage/floor") return Response.json({ error: "not found" }, { status: 404 });
  const { userId, id } = await session(request);
  const record = env.SESSIONS.get(`session:${id}`, "json");
  if (path === "/bench/storage/me") {
    const [rec, user] = await Promise.all([record, env.DB.prepare(AUTH_VIEW).bind(userId, id).first()]);
    return Response.json({ ok: !!rec && !!user, user: user && { id: user.id, email: user.email, name: user.name } });
  }
  if (path === "/bench/storage/list") {
    const [rec, [user, revoked], listed] = await Promise.all([
      record,
      env.DB.batch([env.DB.prepare(AUTH_VIEW).bind(userId, id), env.DB.prepare(REVOKED).bind(userId)]),
      env.SESSIONS.list({ prefix: `user:${userId}:session:` }),
    ]);
    const gone = new Set(revoked.results.map((r) => r.session_id));
    const sessions = listed.keys.filter((k) => !gone.has(k.name)).map((k) => ({ id: k.name, ...k.metadata }));
    return Response.json({ ok: !!rec && user.results.length === 1, sessions });
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

export default class extends WorkerEntrypoint {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/bench/storage/")) return storageAlone(request, this.env, path);
    return new Worker(this.ctx, this.env).fetch(request);
  }
}
