//! The one error type of the API (SPEC §4): each variant is a status and a stable `code`, with a
//! message meant for a person. Internal causes are logged where they happen and never answered.

use serde_json::{json, Value};
use worker::Response;

use crate::domain::password_rules::PasswordProblem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    InvalidJson,
    InvalidInput(String),
    WeakPassword(Vec<PasswordProblem>),
    Unauthenticated,
    InvalidCredentials,
    InvalidCode,
    Forbidden,
    CsrfRejected,
    WrongPassword,
    ReauthRequired,
    NotFound,
    /// The path exists, not with this method; the methods it has (the `Allow` header).
    MethodNotAllowed(String),
    EmailTaken,
    /// A link from a mail that is unknown, used, expired or of another purpose (one answer).
    InvalidToken,
    /// The address is verified already (no verification mail to send).
    AlreadyVerified,
    /// A passkey's answer to a challenge did not prove anything (counted like a wrong code).
    PasskeyRejected,
    /// A passkey sign-in with a credential no account has (the browser may stop offering it).
    PasskeyUnknown,
    /// The passkey being added is registered already.
    PasskeyExists,
    /// A device-bound session's request came without its short-lived cookie (DBSC): the
    /// session is not ended; the browser renews the cookie with a proof of its key.
    DeviceProofRequired,
    /// A DBSC registration or refresh whose proof proves nothing (wrong key, shape, audience).
    DeviceProofRejected,
    /// A DBSC registration for a session that is bound already.
    SessionBoundAlready,
    /// A stored TOTP secret cannot be decrypted with any configured key (a key was lost).
    SecondFactorUnavailable,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited {
        retry_after: u64,
    },
    Internal,
    /// `SECRET_KEY` (with `SECRET_KEY_PREVIOUS`) opens none of the data keys D1 holds: nothing
    /// that needs a key is done until an operator sets the right one (README "Rotating SECRET_KEY").
    SecretKeyMismatch,
}

impl ApiError {
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            // A wrong code is a mistake in what was typed, not a signed-out state: 401 would make
            // the page start over, where it should ask for the code again.
            Self::InvalidJson
            | Self::InvalidInput(_)
            | Self::WeakPassword(_)
            | Self::InvalidCode
            | Self::InvalidToken
            | Self::PasskeyRejected
            | Self::PasskeyUnknown
            | Self::DeviceProofRejected => 400,
            Self::Unauthenticated | Self::InvalidCredentials | Self::DeviceProofRequired => 401,
            Self::Forbidden | Self::CsrfRejected | Self::WrongPassword | Self::ReauthRequired => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::EmailTaken
            | Self::SecondFactorUnavailable
            | Self::PasskeyExists
            | Self::AlreadyVerified
            | Self::SessionBoundAlready => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited { .. } => 429,
            Self::Internal => 500,
            Self::SecretKeyMismatch => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidInput(_) | Self::WeakPassword(_) => "invalid_input",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::Forbidden => "forbidden",
            Self::CsrfRejected => "csrf_rejected",
            Self::WrongPassword => "wrong_password",
            Self::ReauthRequired => "reauth_required",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::EmailTaken => "email_taken",
            Self::InvalidToken => "invalid_token",
            Self::AlreadyVerified => "already_verified",
            Self::SecondFactorUnavailable => "second_factor_unavailable",
            Self::PasskeyRejected => "passkey_rejected",
            Self::PasskeyUnknown => "passkey_unknown",
            Self::PasskeyExists => "passkey_exists",
            Self::DeviceProofRequired => "device_proof_required",
            Self::DeviceProofRejected => "device_proof_rejected",
            Self::SessionBoundAlready => "session_bound_already",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Internal => "internal_error",
            Self::SecretKeyMismatch => "secret_key_mismatch",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::InvalidJson => "The request body is not valid JSON.".into(),
            Self::InvalidInput(message) => message.clone(),
            Self::WeakPassword(_) => "Choose a stronger password.".into(),
            Self::Unauthenticated => "You are signed out. Sign in to continue.".into(),
            Self::InvalidCredentials => "The e-mail address or password is incorrect.".into(),
            Self::InvalidCode => "That code is not valid. Check your authenticator app and try again.".into(),
            Self::Forbidden => "You are not allowed to do that.".into(),
            Self::CsrfRejected => "This request did not come from the WEMASY page and was refused.".into(),
            Self::WrongPassword => "Your current password is incorrect.".into(),
            Self::ReauthRequired => "For your security, confirm your password to continue.".into(),
            Self::NotFound => "Not found.".into(),
            Self::MethodNotAllowed(_) => "That method is not allowed here.".into(),
            Self::EmailTaken => "An account with this e-mail address already exists.".into(),
            Self::InvalidToken => "This link has expired or was already used. Ask for a new one.".into(),
            Self::AlreadyVerified => "Your e-mail address is already verified.".into(),
            Self::SecondFactorUnavailable => "Codes from your authenticator app cannot be checked at the moment. \
                Use one of your recovery codes instead, or contact support."
                .into(),
            Self::PasskeyRejected => "That passkey could not be verified. Try again, or sign in another way.".into(),
            Self::PasskeyUnknown => {
                "That passkey is not registered with WEMASY. Sign in with your password or another passkey.".into()
            }
            Self::PasskeyExists => "This passkey is already registered.".into(),
            Self::DeviceProofRequired => "This session is bound to a device, and this request came without its proof. \
                Reload the page; if this keeps happening, sign in again."
                .into(),
            Self::DeviceProofRejected => "This device could not prove it holds the session's key.".into(),
            Self::SessionBoundAlready => "This session is already bound to a device.".into(),
            Self::PayloadTooLarge => "The request is too large.".into(),
            Self::UnsupportedMediaType => "Send the request as JSON (Content-Type: application/json).".into(),
            Self::RateLimited { retry_after } => {
                format!("Too many attempts. Try again in {}.", human_duration(*retry_after))
            }
            Self::Internal => "Something went wrong on our side. Please try again.".into(),
            Self::SecretKeyMismatch => "The service is not configured correctly. Please try again later.".into(),
        }
    }

    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.message() });
        if let Self::WeakPassword(problems) = self {
            error["problems"] = problems.iter().map(|p| json!({ "code": p.code(), "message": p.message() })).collect();
        }
        json!({ "error": error })
    }

    pub fn into_response(self) -> Response {
        let response = Response::from_json(&self.body())
            .map(|r| r.with_status(self.status()))
            .unwrap_or_else(|_| Response::empty().unwrap().with_status(500));
        if let Self::RateLimited { retry_after } = self {
            let _ = response.headers().set("Retry-After", &retry_after.to_string());
        }
        if let Self::MethodNotAllowed(allow) = &self {
            let _ = response.headers().set("Allow", allow);
        }
        response
    }
}

fn human_duration(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "a minute".into(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

/// Binding and runtime failures become an opaque 500; the cause goes to the log only.
impl From<worker::Error> for ApiError {
    fn from(error: worker::Error) -> Self {
        crate::log::error(&format!("internal error: {error}"));
        Self::Internal
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(error: serde_json::Error) -> Self {
        crate::log::error(&format!("serialization error: {error}"));
        Self::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_password_lists_every_problem() {
        let body = ApiError::WeakPassword(vec![PasswordProblem::TooShort, PasswordProblem::Common]).body();
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(body["error"]["problems"][0]["code"], "too_short");
        assert_eq!(body["error"]["problems"][1]["code"], "common");
    }

    #[test]
    fn rate_limit_message_reads_like_a_sentence() {
        assert_eq!(ApiError::RateLimited { retry_after: 30 }.message(), "Too many attempts. Try again in 30 seconds.");
        assert_eq!(ApiError::RateLimited { retry_after: 900 }.message(), "Too many attempts. Try again in 15 minutes.");
    }

    #[test]
    fn a_wrong_secret_key_is_a_503_that_names_no_key() {
        let error = ApiError::SecretKeyMismatch;
        assert_eq!((error.status(), error.code()), (503, "secret_key_mismatch"));
        assert_eq!(
            error.body()["error"]["message"],
            "The service is not configured correctly. Please try again later."
        );
    }

    #[test]
    fn internal_errors_say_nothing_about_the_cause() {
        assert_eq!(
            ApiError::Internal.body()["error"]["message"],
            "Something went wrong on our side. Please try again."
        );
    }
}
