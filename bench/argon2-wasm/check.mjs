// argon2id.rs, as built for wasm with simd128, against RFC 9106's vector and the `argon2` crate
// on random inputs, in V8: node check.mjs file.wasm [cases]. Exits 1 on any disagreement.
// Run through check.sh (and by run.sh before it times anything).
import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const cases = Number(process.argv[3] ?? 200);
const disagreements = instance.exports.check(cases);
console.log(`argon2id in wasm (simd128): RFC 9106 vector + ${cases} random cases vs the argon2 crate: ${disagreements} disagreement(s)`);
process.exit(disagreements === 0 ? 0 : 1);
