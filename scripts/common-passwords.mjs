// Regenerates public/data/common-passwords.txt from the npm package @zxcvbn-ts/language-common (MIT,
// Dropbox's zxcvbn frequency list): the 10,000 most common passwords plus every listed password
// of 12 or more characters, lower-cased, sorted, one per line.
// Usage: node scripts/common-passwords.mjs path/to/language-common/src/passwords.json
import { readFileSync, writeFileSync } from "node:fs";

const [source] = process.argv.slice(2);
if (!source) throw new Error("usage: node scripts/common-passwords.mjs passwords.json");
const ranked = JSON.parse(readFileSync(source, "utf8"));
const chosen = new Set(
  [...ranked.slice(0, 10000), ...ranked.filter((p) => [...p].length >= 12)].map((p) => p.toLowerCase()),
);
const sorted = [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
writeFileSync(new URL("../public/data/common-passwords.txt", import.meta.url), sorted.join("\n") + "\n");
console.log(`${sorted.length} passwords written`);
