//! What can go wrong in storage: a binding call failed (after its retries), or what it answered
//! did not have the expected shape. Use cases carry it as the cause of their unexpected failures;
//! the route that answers logs the chain and answers an opaque 500.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// D1, the rate limiter or another binding.
    #[error("a binding call failed")]
    Binding(#[from] worker::Error),
    #[error("a KV call failed")]
    Kv(#[from] worker::KvError),
    /// A row or record that did not (de)serialize.
    #[error("a record of an unexpected shape")]
    Shape(#[from] serde_json::Error),
    /// A statement that always answers a row answered none.
    #[error("no row from {0}")]
    Missing(&'static str),
    /// The send_email binding refused or failed a send.
    #[error("a mail could not be sent: {0}")]
    Send(String),
    /// The system's randomness failed (an id could not be made).
    #[error("no randomness: {0}")]
    Randomness(String),
}
