//! The keys derived from `SECRET_KEY` (and `SECRET_KEY_PREVIOUS` during a rotation).

use crate::app::App;
use crate::domain::secrets::Keyring;
use crate::http::ApiError;

pub fn keyring(app: &App) -> Result<Keyring, ApiError> {
    let current = app.env.secret("SECRET_KEY").map(|s| s.to_string()).map_err(|_| {
        worker::console_error!("SECRET_KEY is not set");
        ApiError::Internal
    })?;
    let previous = app.env.secret("SECRET_KEY_PREVIOUS").ok().map(|s| s.to_string());
    Keyring::new(&current, previous.as_deref()).map_err(|_| {
        worker::console_error!("SECRET_KEY or SECRET_KEY_PREVIOUS is not base64 of at least 32 bytes");
        ApiError::Internal
    })
}
