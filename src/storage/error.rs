//! What can go wrong in storage: a binding call failed (after its retries), or what it answered
//! did not have the expected shape. Callers turn it into the wire error in one place
//! (`impl From<storage::Error> for ApiError`), which logs the cause and answers an opaque 500.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// D1, the rate limiter or another binding.
    Binding(worker::Error),
    Kv(worker::KvError),
    /// A row or record that did not (de)serialize.
    Shape(serde_json::Error),
    /// A statement that always answers a row answered none.
    Missing(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Binding(e) => write!(f, "binding: {e}"),
            Self::Kv(e) => write!(f, "kv: {e}"),
            Self::Shape(e) => write!(f, "shape: {e}"),
            Self::Missing(what) => write!(f, "no row from {what}"),
        }
    }
}

impl From<worker::Error> for Error {
    fn from(error: worker::Error) -> Self {
        Self::Binding(error)
    }
}

impl From<worker::KvError> for Error {
    fn from(error: worker::KvError) -> Self {
        Self::Kv(error)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::Shape(error)
    }
}
