//! Failures a person cannot do anything about, kept with their causes. Each use-case module has
//! an error enum of its own (what it may refuse, in its own words); all of them carry these for
//! the rest. The route that answers turns them into `500 internal_error` and logs the whole cause
//! chain there, once (`routes::errors`).

use crate::domain::password::HashError;

/// What failed, and why.
#[derive(Debug, thiserror::Error)]
pub enum Unexpected {
    #[error("storage")]
    Storage(#[from] crate::storage::Error),
    #[error("no random bytes for {0}")]
    Randomness(&'static str, #[source] getrandom::Error),
    #[error("password hashing")]
    Hashing(#[from] HashError),
    #[error("encoding a record")]
    Encoding(#[from] serde_json::Error),
    /// Something the code relies on did not hold (a stored value of the wrong shape).
    #[error("{0}")]
    Broken(&'static str),
}

/// Random bytes for `what`.
pub fn random(what: &'static str, bytes: &mut [u8]) -> Result<(), Unexpected> {
    getrandom::fill(bytes).map_err(|cause| Unexpected::Randomness(what, cause))
}

/// A new random token (32 bytes, base64url) for `what`.
pub fn new_token(what: &'static str) -> Result<String, Unexpected> {
    crate::domain::tokens::new_token().map_err(|cause| Unexpected::Randomness(what, cause))
}

/// An error and its sources, as one log line: `a: b: c`.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// `From` the storage's errors for a use-case error with an `Unexpected` variant (two steps,
/// which `#[from]` cannot take).
macro_rules! unexpected_from_storage {
    ($error:ty) => {
        impl From<crate::storage::Error> for $error {
            fn from(error: crate::storage::Error) -> Self {
                Self::Unexpected(error.into())
            }
        }
    };
}
pub(crate) use unexpected_from_storage;
