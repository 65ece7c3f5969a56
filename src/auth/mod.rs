//! Who is asking: the session cookie resolved to a live, unrevoked session and its user, and
//! whether it is within its "sudo" window. Starting and ending sessions are use cases
//! (`account::sessions`).

pub mod session;
