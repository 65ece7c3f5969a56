// The report of `make bench` (scripts/bench.sh): its rows, the verdicts on the targets (SPEC §7)
// and the section it writes into BENCHMARKS.md between the bench markers. Pure functions, tested
// by bench/report.test.mjs, and a command line that scripts/bench.sh calls:
//   wrk ... | node bench/report.mjs wrk-row NAME C   a row from bench/wrk/bench.lua's RESULT line
//   node bench/report.mjs timing-row KIND OUT        a sign-in timing row (KIND unknown or known)
//                                                    from OUT/timing-KIND.us and OUT/facts.txt
//   ... | node bench/report.mjs calls-row NAME       a row from "STATUS SECONDS" lines (curl)
//   node bench/report.mjs report OUT BENCHMARKS.md   OUT/report.md, printed and written into
//                                                    BENCHMARKS.md (see `report` for its inputs)
// A row is one line of OUT/rows.tsv: request, c, p50 ms, p99 ms, req/s, non-2xx/3xx.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const MET = "met";
export const NOT_MET = "**NOT met**";
export const TIMING_NAMES = {
  unknown: "sign-in, unknown e-mail (wrong password)",
  known: "sign-in, known e-mail, wrong password",
};
export const BEGIN = "<!-- bench:begin -->";
export const END = "<!-- bench:end -->";

const NUMBER = /^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
const isNumber = (value) => NUMBER.test(String(value).trim());
const fixed = (x, digits) => x.toFixed(digits);
const signed = (x, digits) => (x >= 0 ? "+" : "") + x.toFixed(digits);

/** "met" when `value` is a number no larger than `limit`. */
export function verdict(value, limit) {
  return isNumber(value) && Number(value) <= limit ? MET : NOT_MET;
}

/** "key=value key=value" (a RESULT line without its first word) → { key: value }. */
export function keyValues(text) {
  const out = {};
  for (const word of text.trim().split(/\s+/)) {
    const at = word.indexOf("=");
    if (at > 0) out[word.slice(0, at)] = word.slice(at + 1);
  }
  return out;
}

/** The RESULT line in wrk's output, as { key: value }; throws without one. */
export function resultOf(output) {
  const line = output.split("\n").find((l) => l.startsWith("RESULT"));
  if (!line) throw new Error("wrk printed no RESULT line");
  return keyValues(line.slice("RESULT".length));
}

const socketNote = (sock) => (sock > 0 ? ` (+${sock} socket errors/timeouts)` : "");

/** A load row from bench.lua's RESULT (p50_us, p99_us, requests, duration_us, bad_status, socket_errors). */
export function wrkRow(name, c, result, cpuMs = NaN, expected = 0) {
  const n = Number(result.requests);
  const bad = Number(result.bad_status);
  // A row whose every answer is the one status it expects (the floor's 404) has no bad answer.
  const errs = `${expected && bad === n ? 0 : bad}${socketNote(Number(result.socket_errors))}`;
  if (n === 0) return [name, String(c), "none answered in the row", "", "0", errs, ""];
  const perSecond = n / (Number(result.duration_us) / 1e6);
  const cpu = Number.isFinite(cpuMs) && n > 0 ? fixed(cpuMs / n, 2) : "";
  return [name, String(c), fixed(result.p50_us / 1000, 2), fixed(result.p99_us / 1000, 2), fixed(perSecond, 1), errs, cpu];
}

/** Answers of the other statuses, "STATUSxCOUNT,...", counted. */
export function countOther(other) {
  return String(other || "")
    .split(",")
    .reduce((n, part) => n + (Number(part.split("x")[1]) || 0), 0);
}

/** Median (mean of the middle two) and 99th percentile (nearest rank) of numbers. */
export function percentiles(values) {
  const t = [...values].sort((a, b) => a - b);
  const n = t.length;
  const p50 = n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
  return { p50, p99: t[Math.max(1, Math.ceil(n * 0.99)) - 1] };
}

/**
 * A sign-in timing row (c=1) from all rounds' latencies in µs and the counts of one kind:
 * { s401, s429, other ("STATUSxCOUNT,..."), sock, rounds }.
 */
export function timingRow(kind, samples, counts) {
  const name = TIMING_NAMES[kind];
  const { s401 = 0, s429 = 0, other = "", sock = 0, rounds = 0 } = counts;
  let errs = `${s401} × 401 (expected), ${Number(s429) + countOther(other)} other`;
  if (s429 > 0) errs += `, 429 × ${s429}`;
  if (other !== "") errs += `, ${other}`;
  errs += socketNote(Number(sock));
  if (samples.length === 0) return [name, "1", "none answered in the row", "", "0", errs];
  const { p50, p99 } = percentiles(samples);
  return [name, "1", fixed(p50 / 1000, 2), fixed(p99 / 1000, 2), `(${samples.length} requests, ${rounds} rounds)`, errs];
}

/** A row of single timed calls from curl's "HTTP_CODE TIME_TOTAL" lines: median, slowest. */
export function callsRow(name, lines) {
  const calls = lines.filter((l) => l.trim()).map((l) => l.trim().split(/\s+/));
  const ms = calls.map(([, seconds]) => Number(seconds) * 1000).sort((a, b) => a - b);
  const bad = calls.filter(([status]) => !status.startsWith("2")).length;
  return [name, "1", fixed(ms[Math.floor((ms.length + 1) / 2) - 1], 2), fixed(ms[ms.length - 1], 2), `(${calls.length} calls)`, String(bad)];
}

/** Tab-separated rows (rows.tsv, ops.tsv) → arrays of fields. */
export const parseTsv = (text) => text.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
/** KEY=value lines (facts.txt) → { KEY: value }; a later line wins. */
export function parseFacts(text) {
  const facts = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) facts[line.slice(0, at)] = line.slice(at + 1);
  }
  return facts;
}

/**
 * The sign-in figure a run must stay within 10 % of: BENCH_SIGNIN_BASELINE (ms), else the pinned
 * "Sign-in baseline:" line of the BENCHMARKS.md the run started with (in the notes, outside the
 * markers, so runs never move it), else that file's sign-in c=1 p50. { ms, from, native } or null.
 */
export function baseline(previous, override) {
  if (override) return { ms: override, from: "BENCH_SIGNIN_BASELINE", native: "" };
  if (previous == null) return null;
  const pinned = previous.split("\n").find((l) => /^Sign-in baseline: \*\*[0-9.]* ms\*\*/.test(l));
  if (pinned) {
    const ms = pinned.match(/^Sign-in baseline: \*\*([0-9.]*) ms\*\*/)[1];
    if (ms === "") return null;
    return {
      ms,
      from: `BENCHMARKS.md baseline, ${pinned.match(/.* p50 at c=1, ([^(]*[^ (])/)?.[1] ?? ""}`,
      native: pinned.match(/.*native argon2id median ([0-9.]*) ms/)?.[1] ?? "",
    };
  }
  let on = false;
  let ms = "";
  for (const line of previous.split("\n")) {
    if (line.includes(BEGIN)) on = true;
    if (line.includes(END)) on = false;
    const f = line.split(/ *[|] */);
    if (on && f[1] === "sign-in (password)" && f[2] === "1") {
      ms = f[3] ?? "";
      break;
    }
  }
  if (ms === "") return null;
  const measured = previous.split("\n").map((l) => l.match(/^Measured (.*) at commit `([0-9a-f]*)`/)).find(Boolean);
  return { ms, from: `previous run, ${measured ? `${measured[2]}, ${measured[1]}` : ""}`, native: "" };
}

/** Median of the worker's own duration_ms for sign-ins that answered 200, from its log. */
export function signInWorkerMs(log) {
  const line = /\{"duration_ms":([0-9]+),"method":"POST","msg":"request","route":"\/api\/auth\/login","status":200\}/g;
  const ms = [...log.matchAll(line)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return ms.length ? String(ms[Math.floor((ms.length + 1) / 2) - 1]) : "n/a";
}

/** Counts of the worker's own log lines per route and status: [route, status, count]. */
export function statuses(log) {
  const counts = new Map();
  for (const [key] of log.matchAll(/"route":"[^"]*","status":[0-9]*/g)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.keys()].sort().map((key) => {
    const [, route, status] = key.match(/^"route":"([^"]*)","status":([0-9]*)$/);
    return [route, status, counts.get(key)];
  });
}

/** The columns of the ops table, in the order of "X-Storage-Ops". */
const OPS_KEYS = ["d1_calls", "d1_near", "d1_statements", "kv_get", "kv_put", "kv_list", "kv_delete"];

/** The "X-Storage-Ops" value "d1_calls=1 ..." as its numbers (absent counters 0), or null when it is not one. */
const opsValues = (value) => {
  const kv = keyValues(value);
  return kv.d1_calls === undefined ? null : OPS_KEYS.map((key) => kv[key] ?? "0");
};

/** The request with the most D1 round trips and the one with the most KV lists. */
export function worstOps(ops) {
  let d1 = 0, d1Name = "", list = 0, listName = "";
  for (const [name, value = ""] of ops) {
    const kv = keyValues(value);
    if (Number(kv.d1_calls) > d1) [d1, d1Name] = [Number(kv.d1_calls), name];
    if (Number(kv.kv_list) > list) [list, listName] = [Number(kv.kv_list), name];
  }
  return { d1, d1Name, list, listName, verdict: d1 <= 2 && list <= 1 ? MET : NOT_MET };
}

/** Bad statuses and socket errors/timeouts of the c=16 rows. */
export function errorsAt16(rows) {
  let bad = 0, sock = 0;
  for (const [, c, , , , errs = ""] of rows) {
    if (c !== "16" || errs === "") continue;
    bad += Number(errs.split(" ")[0]) || 0;
    if (errs.includes("socket")) sock += parseFloat(errs.split("+")[1]) || 0;
  }
  return { bad, sock };
}

const FLOOR = "worker floor (404 under /api/)";
const BOUND_ME = "GET /api/me (bound session)";
const p50Of = (rows, name, c) => rows.find((r) => r[0] === name && r[1] === String(c))?.[2] ?? "";
const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map(() => "---|").join("")}`, ...rows];

/**
 * The report (Markdown lines, no trailing newline). `facts` are what bench.sh measured outside
 * the rows (see scripts/bench.sh); `rows` and `ops` the parsed rows.tsv and ops.tsv; `log` the
 * first worker's log; `base` what `baseline` returned.
 */
export function report({ facts: f, rows, ops, log, base }) {
  const seconds = Number(f.seconds_per_row);
  const staticP50 = p50Of(rows, f.static_row, 1);
  const me = p50Of(rows, "GET /api/me", 1);
  const signIn = p50Of(rows, "sign-in (password)", 1);
  const out = [
    `Measured ${f.measured_at} at commit \`${f.commit}\`${f.dirty === "1" ? " (plus uncommitted work in the tree)" : ""}, on ${f.machine};`,
    `load average before: ${f.load_before}, after: ${f.load_after}. wrk, ${seconds} s per row (${seconds * 3} s for sign-in and password change; the two sign-in timing rows ${f.timing_rounds} × ${f.timing_round_seconds} s each, alternating), loopback.`,
    "",
    ...table(
      ["request", "c", "p50 ms", "× floor", "p99 ms", "req/s", "non-2xx/3xx", "workerd CPU ms/req"],
      rows.map((r) => {
        const floor = p50Of(rows, FLOOR, Number(r[1]));
        const times = isNumber(r[2]) && isNumber(floor) && Number(floor) > 0 ? `${fixed(r[2] / floor, 2)}×` : "";
        return `| ${[r[0], r[1], r[2], times, r[3], r[4], r[5], r[6]].map((v) => v ?? "").join(" | ")} |`;
      }),
    ),
    "",
  ];
  const targets = [];
  const floor = p50Of(rows, FLOOR, 1);
  // The same storage calls made alone (bench/storage-alone.mjs): what the local simulators cost.
  const storageAlone = (name) => {
    const row = rows.find((r) => r[0].startsWith("storage alone (JS)") && r[0].endsWith(`as ${name}`) && r[1] === "1");
    if (!row || !isNumber(row[2]) || !isNumber(floor) || Number(floor) <= 0) return "";
    return `; the same storage calls alone (JS, ${row[0].replace(/^storage alone \(JS\): /, "").replace(/, as .*$/, "")}): ${row[2]} ms = ${fixed(row[2] / floor, 2)}× the floor`;
  };
  const timesFloor = (name, limit, what = name, aloneName = name) => {
    const p50 = p50Of(rows, name, 1);
    const r = isNumber(p50) && isNumber(floor) && Number(floor) > 0 ? fixed(p50 / floor, 2) : "n/a";
    targets.push(`| ${what} p50 ≤ ${limit}× the worker floor (SPEC §7, c=1) | ${p50} vs ${floor} ms: ${r}×${storageAlone(aloneName)} | ${verdict(r, limit)} |`);
  };
  timesFloor("GET /api/me", 1.5);
  // A session bound to a device key (DBSC, issue 25) between refreshes: its short cookie is
  // checked with a MAC, no read, so its ratio to the floor stays an unbound session's.
  const bound = p50Of(rows, BOUND_ME, 1);
  if (bound !== "") {
    const me1 = p50Of(rows, "GET /api/me", 1);
    const ok = [bound, me1, floor].every(isNumber) && Number(floor) > 0;
    const delta = ok ? fixed(Math.abs(bound - me1) / floor, 2) : "n/a";
    const ratios = ok ? `${fixed(bound / floor, 2)}× vs ${fixed(me1 / floor, 2)}× the floor` : "n/a";
    targets.push(`| ${BOUND_ME} p50: ratio to the worker floor unchanged, within 0.25 of an unbound session's (issue 25, c=1) | ${bound} vs ${me1} ms: ${ratios} (difference ${delta}) | ${verdict(delta, 0.25)} |`);
  }
  timesFloor("GET /api/security/sessions (1)", 2, undefined, "the session list (1)");
  timesFloor("GET /api/security/sessions (50)", 2, undefined, "the session list (50)");
  const list50 = p50Of(rows, "GET /api/security/sessions (50)", 1);
  const revoke = p50Of(rows, "revoke-others (50 sessions)", 1);
  const revokeRatio = isNumber(revoke) && isNumber(list50) && Number(list50) > 0 ? fixed(revoke / list50, 2) : "n/a";
  targets.push(`| revoke-others (50) p50 ≤ 2× the session list (50) (SPEC §7) | ${revoke} vs ${list50} ms: ${revokeRatio}× | ${verdict(revokeRatio, 2)} |`);
  for (const [name, c, p50] of rows) {
    if (!name.startsWith("GET") || c !== "1" || p50 === "not yet") continue;
    const over = isNumber(p50) && isNumber(staticP50) ? signed(p50 - staticP50, 2) : "n/a";
    targets.push(`| ${name} p50 ≤ static + 1 ms (c=1, earlier target) | ${p50} vs ${staticP50} ms: ${over} ms | ${verdict(over, 1)} |`);
  }
  const argon = isNumber(signIn) && isNumber(me) ? fixed(signIn - me, 1) : "n/a";
  // argon2id alone in workerd (a worker that only hashes), less the worker floor, when measured;
  // else sign-in − /api/me, which also holds the storage a sign-in does and /api/me does not.
  const alone = isNumber(f.argon2_workerd_ms) && isNumber(floor) ? fixed(f.argon2_workerd_ms - floor, 1) : null;
  const argonMs = alone ?? argon;
  const ratio = isNumber(argonMs) && Number(f.native_ms) > 0 ? fixed(argonMs / f.native_ms, 2) : "n/a";
  const how = alone
    ? `alone in workerd: request p50 ${f.argon2_workerd_ms} − floor ${floor} = ${alone} ms (sign-in p50 − /api/me p50, argon2id plus the storage /api/me does not do: ${argon} ms)`
    : `sign-in p50 − /api/me p50 = ${argon} ms (worker's own duration_ms median: ${signInWorkerMs(log)})`;
  targets.push(
    `| argon2id in workerd ≤ 1.5× native (SPEC §7) | ${how}; native median ${f.native_ms} ms: ${ratio}× | ${verdict(ratio, 1.5)} |`,
    `| argon2id in workerd ≤ 1.3× native (issue target) | ${ratio}× | ${verdict(ratio, 1.3)} |`,
  );
  const [timing, timingVerdict] = timingVerdictOf(f, p50Of(rows, TIMING_NAMES.known, 1), p50Of(rows, TIMING_NAMES.unknown, 1));
  targets.push(`| sign-in, unknown vs known e-mail + wrong password: same awaited work, p50 ratio (known/unknown) within 5 % (SPEC §5.7; c=1, ${f.timing_rounds} interleaved rounds each) | ${timing} | ${timingVerdict} |`);
  if (base) {
    const [versus, versusVerdict] = baselineVerdictOf(signIn, base, f.native_ms);
    targets.push(`| sign-in p50 (c=1) within 10 % of ${base.ms} ms (${base.from}) | ${versus} | ${versusVerdict} |`);
  } else {
    targets.push("| sign-in p50 (c=1) within 10 % of the previous figure | no previous figure found in BENCHMARKS.md | n/a |");
  }
  const kib = Math.floor(f.wasm_gz / 1024);
  targets.push(
    `| gzip'd worker ≤ 1 MiB (Free-plan limit 3 MB) | ${f.wasm_raw} B raw, ${f.wasm_gz} B gzip (${kib} KiB) | ${verdict(f.wasm_gz, 1048576)} |`,
    `| gzip'd worker ≤ 512 KiB (team target) | ${kib} KiB | ${verdict(f.wasm_gz, 524288)} |`,
  );
  const extra = Number(f.first_worker || 0) - Number(f.first_static || 0);
  targets.push(`| worker start-up ≤ 50 ms | first request after start (workerd loads the worker): ${f.first_worker} ms vs static-only worker ${f.first_static} ms: ${signed(extra, 0)} ms; launch → first answer ${f.cold_worker} ms vs ${f.cold_static} ms (mostly wrangler) | ${verdict(extra, 50)} |`);
  const at16 = errorsAt16(rows);
  targets.push(`| non-2xx/3xx under c=16 = 0 | ${at16.bad} bad statuses, ${at16.sock} socket errors/timeouts (wrk timeout 10 s) | ${verdict(at16.bad + at16.sock, 0)} |`);
  const worst = worstOps(ops);
  targets.push(`| ≤ 1 KV list and ≤ 2 D1 queries per request | most D1 round trips: ${worst.d1} (${worst.d1Name}); most KV lists: ${worst.list} (${worst.listName}); table below | ${worst.verdict} |`);
  out.push(
    ...table(["target (SPEC §7)", "measured", "verdict"], targets),
    "",
    "Statuses the worker logged during seeding, the load rows and revoke-others (its own log line per request):",
    "",
    ...table(["route", "status", "count"], statuses(log).map(([route, status, n]) => `| ${route} | ${status} | ${n} |`)),
    "",
    "Storage operations per request, counted at the binding boundary (`bench/count-ops.mjs`; a D1",
    "`batch` is one round trip, `d1_statements` counts the statements in it; \"near the user\": D1",
    "round trips in a session that may start at a read replica):",
    "",
    ...table(
      ["request", "D1 round trips", "of them near the user", "D1 statements", "KV get", "KV put", "KV list", "KV delete"],
      ops.map(([name, value = ""]) => {
        const values = opsValues(value);
        return values ? `| ${name} | ${values.join(" | ")} |` : `| ${name} | ${value} | | | | | | |`;
      }),
    ),
  );
  return out.join("\n");
}

/** Unknown vs known e-mail, wrong password: p50s within 5 % and nothing but 401 answers. */
function timingVerdictOf(f, known, unknown) {
  if (!isNumber(known) || !isNumber(unknown) || Number(unknown) === 0) return ["no samples", NOT_MET];
  const n429 = Number(f.timing_unknown_429 || 0) + Number(f.timing_known_429 || 0);
  const bad = n429 + countOther(f.timing_unknown_other) + countOther(f.timing_known_other);
  const sock = Number(f.timing_unknown_sock || 0) + Number(f.timing_known_sock || 0);
  const r = known / unknown;
  const d = (r - 1) * 100;
  let v = d <= 5 && d >= -5 ? MET : NOT_MET;
  let note = "";
  if (bad > 0) {
    v = NOT_MET;
    note = `; ${bad} answers other than 401 (${n429} × 429): the rows do not measure the wrong-password work`;
  }
  if (sock > 0) {
    v = NOT_MET;
    note += `; ${sock} socket errors/timeouts`;
  }
  return [`known ${fixed(Number(known), 2)} ms / unknown ${fixed(Number(unknown), 2)} ms p50: ${fixed(r, 3)}× (${signed(d, 1)} %)${note}`, v];
}

/** Sign-in p50 now vs the baseline: within 10 %. */
function baselineVerdictOf(now, base, native) {
  if (!isNumber(now) || !(Number(base.ms) > 0)) return ["no figure", NOT_MET];
  const r = now / base.ms;
  const extra =
    Number(base.native) > 0 && Number(native) > 0
      ? `; per native argon2id median of the same run: ${fixed(now / native, 2)}× now vs ${fixed(base.ms / base.native, 2)}× then`
      : "";
  return [`${fixed(Number(now), 2)} vs ${fixed(Number(base.ms), 2)} ms: ${signed((r - 1) * 100, 1)} %${extra}`, r <= 1.1 ? MET : NOT_MET];
}

/** BENCHMARKS.md with `section` between the markers (the notes around them kept). */
export function splice(benchmarks, section) {
  const text = benchmarks ?? `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const out = [];
  let skip = false;
  for (const line of text.replace(/\n$/, "").split("\n")) {
    if (line.includes(BEGIN)) {
      out.push(line, ...section.split("\n"));
      skip = true;
      continue;
    }
    if (line.includes(END)) skip = false;
    if (!skip) out.push(line);
  }
  return `${out.join("\n")}\n`;
}

const read = (path) => (existsSync(path) ? readFileSync(path, "utf8") : null);
const tsvLine = (row) => `${row.join("\t")}\n`;

function main([command, ...args]) {
  const stdin = () => readFileSync(0, "utf8");
  switch (command) {
    case "wrk-row": {
      const [name, c] = args;
      const cpu = process.env.BENCH_CPU_MS === undefined ? NaN : Number(process.env.BENCH_CPU_MS);
      const expected = Number(process.env.BENCH_EXPECT_STATUS || 0);
      process.stdout.write(tsvLine(wrkRow(name, c, resultOf(stdin()), cpu, expected)));
      return;
    }
    case "timing-row": {
      const [kind, dir] = args;
      const f = parseFacts(read(join(dir, "facts.txt")) ?? "");
      const samples = (read(join(dir, `timing-${kind}.us`)) ?? "").split("\n").filter(Boolean).map(Number);
      const counts = {
        s401: Number(f[`timing_${kind}_401`] || 0),
        s429: Number(f[`timing_${kind}_429`] || 0),
        other: f[`timing_${kind}_other`] ?? "",
        sock: Number(f[`timing_${kind}_sock`] || 0),
        rounds: f.timing_rounds,
      };
      process.stdout.write(tsvLine(timingRow(kind, samples, counts)));
      return;
    }
    case "calls-row":
      process.stdout.write(tsvLine(callsRow(args[0], stdin().split("\n"))));
      return;
    case "report": {
      // OUT holds facts.txt, rows.tsv, ops.tsv, worker-1.log and BENCHMARKS.previous.md (the
      // BENCHMARKS.md the run started with, for the sign-in baseline).
      const [dir, benchmarks] = args;
      const section = report({
        facts: parseFacts(read(join(dir, "facts.txt")) ?? ""),
        rows: parseTsv(read(join(dir, "rows.tsv")) ?? ""),
        ops: parseTsv(read(join(dir, "ops.tsv")) ?? ""),
        log: read(join(dir, "worker-1.log")) ?? "",
        base: baseline(read(join(dir, "BENCHMARKS.previous.md")), process.env.BENCH_SIGNIN_BASELINE),
      });
      writeFileSync(join(dir, "report.md"), `${section}\n`);
      process.stdout.write(`${section}\n`);
      if (benchmarks) writeFileSync(benchmarks, splice(read(benchmarks), section));
      return;
    }
    default:
      process.stderr.write("usage: node bench/report.mjs wrk-row NAME C | timing-row KIND OUT | calls-row NAME | report OUT [BENCHMARKS.md]\n");
      process.exit(2);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
