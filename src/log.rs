//! The worker's log lines (Workers Logs, `wrangler tail`): `console.error` / `.warn` / `.log` in
//! the runtime, standard error on the host, where the use cases also run in tests. Never a
//! password, code, secret or token: callers log ids, kinds and causes.

#[cfg(target_arch = "wasm32")]
pub fn error(line: &str) {
    worker::console_error!("{line}");
}

#[cfg(target_arch = "wasm32")]
pub fn warn(line: &str) {
    worker::console_warn!("{line}");
}

#[cfg(target_arch = "wasm32")]
pub fn info(line: &str) {
    worker::console_log!("{line}");
}

#[cfg(not(target_arch = "wasm32"))]
pub fn error(line: &str) {
    eprintln!("error: {line}");
}

#[cfg(not(target_arch = "wasm32"))]
pub fn warn(line: &str) {
    eprintln!("warn: {line}");
}

#[cfg(not(target_arch = "wasm32"))]
pub fn info(line: &str) {
    eprintln!("{line}");
}
