// argon2id alone in workerd: every request hashes once with the worker's parameters (m=19456 KiB,
// t=2, p=1) through the argon2 crate built by bench/argon2-wasm (copied next to this file as
// argon2.wasm by scripts/bench/argon2.sh), and answers 200. Its request time minus the worker
// floor is argon2id's time in workerd, without the storage a sign-in does.
import module from "./argon2.wasm";

const instance = new WebAssembly.Instance(module, {});

export default {
  async fetch() {
    const failed = instance.exports.hash_crate(19456, 2, 1);
    return new Response(failed ? "hash failed" : "ok", { status: failed ? 500 : 200 });
  },
};
