//! The one place where what a use case refused becomes the wire error of SPEC §4, and where an
//! unexpected failure is logged with its whole cause chain, once, before it is answered as an
//! opaque 500.

use crate::account::attempts::Refused;
use crate::account::error::{cause_chain, Unexpected};
use crate::account::keys::{self, Unavailable};
use crate::account::{address, credentials, device_bound, devices, passkeys, reset, sessions, sign_in, two_factor};
use crate::auth::session;
use crate::http::ApiError;

/// Logs `error` with its causes and answers the opaque 500.
fn internal(error: &dyn std::error::Error) -> ApiError {
    crate::log::error(&format!("internal error: {}", cause_chain(error)));
    ApiError::Internal
}

impl From<Unexpected> for ApiError {
    fn from(error: Unexpected) -> Self {
        internal(&error)
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::RateLimited { retry_after } => Self::RateLimited { retry_after },
            Refused::SignedOut => Self::Unauthenticated,
        }
    }
}

impl From<keys::Error> for ApiError {
    fn from(error: keys::Error) -> Self {
        match error {
            keys::Error::Mismatch => Self::SecretKeyMismatch,
            other => internal(&other),
        }
    }
}

impl From<Unavailable> for ApiError {
    fn from(unavailable: Unavailable) -> Self {
        match unavailable {
            Unavailable::SecondFactor => Self::SecondFactorUnavailable,
            // Ask to try again: the keys are being read for the next request.
            Unavailable::NotLoaded => internal(&unavailable),
        }
    }
}

impl From<session::Error> for ApiError {
    fn from(error: session::Error) -> Self {
        match error {
            session::Error::SignedOut => Self::Unauthenticated,
            session::Error::WithoutDeviceProof => Self::DeviceProofRequired,
            session::Error::Keys(error) => error.into(),
            session::Error::Storage(_) => internal(&error),
        }
    }
}

impl From<crate::storage::Error> for ApiError {
    fn from(error: crate::storage::Error) -> Self {
        internal(&error)
    }
}

impl From<sign_in::Error> for ApiError {
    fn from(error: sign_in::Error) -> Self {
        use sign_in::Error as E;
        match error {
            E::InvalidCredentials => Self::InvalidCredentials,
            E::InvalidCode => Self::InvalidCode,
            E::InvalidInput(message) => Self::invalid_input(message),
            E::WeakPassword(problems) => Self::WeakPassword(problems),
            E::EmailTaken => Self::EmailTaken,
            E::ResetLinkUsed => Self::InvalidToken,
            E::Refused(refused) => refused.into(),
            E::Unavailable(unavailable) => unavailable.into(),
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<credentials::Error> for ApiError {
    fn from(error: credentials::Error) -> Self {
        use credentials::Error as E;
        match error {
            E::WrongPassword => Self::WrongPassword,
            E::InvalidCode => Self::InvalidCode,
            E::InvalidInput(message) => Self::invalid_input(message),
            E::WeakPassword(problems) => Self::WeakPassword(problems),
            E::Refused(refused) => refused.into(),
            E::Unavailable(unavailable) => unavailable.into(),
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<two_factor::Error> for ApiError {
    fn from(error: two_factor::Error) -> Self {
        use two_factor::Error as E;
        match error {
            E::AlreadyOn => {
                Self::invalid_input("Two-factor authentication is already on. Turn it off first to set it up again.")
            }
            E::NotOn => Self::invalid_input("Two-factor authentication is not on."),
            E::NoSetup => {
                Self::invalid_input("There is no set-up to finish. Start setting up two-factor authentication again.")
            }
            E::SetupUnreadable => Self::invalid_input(
                "This set-up can no longer be finished. Start setting up two-factor authentication again.",
            ),
            E::WrongPassword => Self::WrongPassword,
            E::InvalidCode => Self::InvalidCode,
            E::Refused(refused) => refused.into(),
            E::Unavailable(unavailable) => unavailable.into(),
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<passkeys::Error> for ApiError {
    fn from(error: passkeys::Error) -> Self {
        use passkeys::Error as E;
        match error {
            E::Rejected => Self::PasskeyRejected,
            E::Unknown => Self::PasskeyUnknown,
            E::Malformed(reason) => Self::invalid_input(format!("The passkey response is not valid ({reason}).")),
            E::InvalidName(message) => Self::invalid_input(message),
            E::Exists => Self::PasskeyExists,
            E::TooMany => Self::invalid_input(format!(
                "You can keep at most {} passkeys. Remove one first.",
                crate::storage::passkeys::MAX_PER_USER
            )),
            E::NoPasskey => Self::invalid_input("Your account has no passkey yet."),
            E::NotFound => Self::NotFound,
            E::ResetLinkUsed => Self::InvalidToken,
            E::Refused(refused) => refused.into(),
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<sessions::Error> for ApiError {
    fn from(error: sessions::Error) -> Self {
        use sessions::Error as E;
        match error {
            E::NotFound => Self::NotFound,
            E::ReauthRequired => Self::ReauthRequired,
            E::SignedOut => Self::Unauthenticated,
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<devices::Error> for ApiError {
    fn from(error: devices::Error) -> Self {
        use devices::Error as E;
        match error {
            E::NotFound => Self::NotFound,
            E::ReauthRequired => Self::ReauthRequired,
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<reset::Error> for ApiError {
    fn from(error: reset::Error) -> Self {
        use reset::Error as E;
        match error {
            E::InvalidToken => Self::InvalidToken,
            E::InvalidInput(message) => Self::invalid_input(message),
            E::WeakPassword(problems) => Self::WeakPassword(problems),
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<address::Error> for ApiError {
    fn from(error: address::Error) -> Self {
        use address::Error as E;
        match error {
            E::InvalidToken => Self::InvalidToken,
            E::InvalidInput(message) => Self::invalid_input(message),
            E::AlreadyVerified => Self::AlreadyVerified,
            E::EmailTaken => Self::EmailTaken,
            E::TooMany { retry_after } => Self::RateLimited { retry_after },
            E::Unexpected(error) => error.into(),
        }
    }
}

impl From<device_bound::Error> for ApiError {
    fn from(error: device_bound::Error) -> Self {
        use device_bound::Error as E;
        match error {
            E::Refused(refusal) => {
                crate::log::warn(&format!("a device proof was refused: {}", refusal.reason()));
                Self::DeviceProofRejected
            }
            E::ChallengeNotOpen => Self::DeviceProofRejected,
            E::BoundAlready => Self::SessionBoundAlready,
            E::Keys(error) => error.into(),
            E::Unexpected(error) => error.into(),
        }
    }
}
