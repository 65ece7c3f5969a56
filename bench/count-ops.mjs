// Bench-only entry module: runs the real worker (./index.js, the worker-build output next to it)
// and counts what each request does to D1 and KV, at the binding boundary, by wrapping the
// binding methods the worker calls. Reported in the response header X-Storage-Ops, e.g.
// "d1_calls=1 d1_near=0 d1_statements=3 kv_get=1 kv_put=0 kv_list=0 kv_delete=0" (`d1_near`: of the
// D1 round trips, those in a Sessions API session that may start at a read replica, i.e. not
// "first-primary"). Counters are global:
// read them from requests sent one at a time (background work after the response may spill over).
import { WorkerEntrypoint } from "cloudflare:workers";
import Worker from "./index.js";

const ops = { d1_calls: 0, d1_near: 0, d1_statements: 0, kv_get: 0, kv_put: 0, kv_list: 0, kv_delete: 0 };
const reset = () => Object.keys(ops).forEach((k) => (ops[k] = 0));
const format = () => Object.entries(ops).map(([k, v]) => `${k}=${v}`).join(" ");

function wrap(proto, name, count) {
  const original = proto[name];
  if (typeof original !== "function" || original.__counted) return;
  const counted = function (...args) {
    count.call(this, args);
    return original.apply(this, args);
  };
  counted.__counted = true;
  Object.defineProperty(proto, name, { value: counted, writable: true, configurable: true });
}

let patched = false;
function patch(env) {
  if (patched) return;
  patched = true;
  // The worker reaches D1 through sessions (`withSession`); a session is tagged with where it may
  // start. `D1Database.batch` runs through a session of the same class, so only the session's
  // `batch` is wrapped.
  const db = Object.getPrototypeOf(env.DB);
  const withSession = db.withSession;
  db.withSession = function (constraintOrBookmark) {
    const session = withSession.call(this, constraintOrBookmark);
    session.__near = constraintOrBookmark !== "first-primary";
    return session;
  };
  const near = (session) => (session && session.__near ? 1 : 0);
  const session = Object.getPrototypeOf(env.DB.withSession("first-primary"));
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1"));
  for (const name of ["first", "all", "run", "raw"]) {
    wrap(statement, name, function () { ops.d1_calls++; ops.d1_near += near(this.dbSession); ops.d1_statements++; });
  }
  wrap(session, "batch", function ([statements]) {
    ops.d1_calls++;
    ops.d1_near += near(this);
    ops.d1_statements += statements.length;
  });
  wrap(db, "exec", () => { ops.d1_calls++; ops.d1_statements++; });
  const kv = Object.getPrototypeOf(env.SESSIONS);
  wrap(kv, "get", () => ops.kv_get++);
  wrap(kv, "getWithMetadata", () => ops.kv_get++);
  wrap(kv, "put", () => ops.kv_put++);
  wrap(kv, "list", () => ops.kv_list++);
  wrap(kv, "delete", () => ops.kv_delete++);
}

export default class extends WorkerEntrypoint {
  async fetch(request) {
    patch(this.env);
    reset();
    const response = await new Worker(this.ctx, this.env).fetch(request);
    const counted = new Response(response.body, response);
    counted.headers.set("X-Storage-Ops", format());
    return counted;
  }

  async scheduled(event) {
    return new Worker(this.ctx, this.env).scheduled(event);
  }
}
