//! Who is asking: the session cookie resolved to a live, unrevoked session and its user; starting
//! and ending sessions; the "sudo" window; the per-account failure throttle.

pub mod session;
pub mod throttle;

pub use session::{current_session, require_sudo};
