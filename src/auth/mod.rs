//! Who is asking: the session cookie resolved to a live, unrevoked session and its user; starting
//! and ending sessions; the "sudo" window.

pub mod session;

pub use session::require_sudo;
