//! The HTTP edge: one error type for the JSON error contract, body parsing with its limits,
//! the same-origin check, cookies and the response headers every answer carries.

pub mod body;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod url;

pub use error::ApiError;
