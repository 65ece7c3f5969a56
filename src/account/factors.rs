//! Second factors as typed (a code from the app or a recovery code) and their check against the
//! account's enabled factor. Only [`super::attempts::Attempt`] holders call these.

use super::attempts::Attempt;
use super::error::Unexpected;
use super::keys::{self, Unavailable};
use crate::app::Cx;
use crate::domain::secrets::Keyring;
use crate::domain::{recovery_codes, totp};
use crate::storage::two_factor::{FactorsRow, Proof};
use crate::storage::Store;

/// A second factor as typed: a code from the app or a recovery code.
pub enum SecondFactor {
    Code(String),
    RecoveryCode(String),
}

impl SecondFactor {
    /// From a body's optional `code` and `recovery_code`: at most one of them (else what to say).
    pub fn from_fields(code: Option<String>, recovery_code: Option<String>) -> Result<Option<Self>, &'static str> {
        match (code, recovery_code) {
            (Some(_), Some(_)) => Err("Send either a code or a recovery code, not both."),
            (Some(code), None) => Ok(Some(Self::Code(code))),
            (None, Some(recovery)) => Ok(Some(Self::RecoveryCode(recovery))),
            (None, None) => Ok(None),
        }
    }

    /// How it is named in events and sign-in methods.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Code(_) => "totp",
            Self::RecoveryCode(_) => "recovery_code",
        }
    }
}

/// A second factor that passed every check that needs no write: a TOTP code of a step after
/// the last accepted one, or a well-formed recovery code. The batch that uses it decides.
pub enum Candidate {
    Totp { secret: String, step: u64 },
    RecoveryCode { candidates: Vec<String> },
}

impl Candidate {
    pub fn proof(&self) -> Proof<'_> {
        match self {
            Self::Totp { secret, step } => Proof::Totp { secret, step: *step },
            Self::RecoveryCode { candidates } => Proof::RecoveryCode { candidates },
        }
    }
}

/// Checks `factor` against the account's enabled second factor; `None` when it is wrong;
/// [`Unavailable`] when the stored TOTP secret cannot be decrypted (a lost key).
pub fn candidate<S: Store>(
    cx: &Cx<S>,
    keyring: &Keyring,
    row: &FactorsRow,
    factor: &SecondFactor,
) -> Result<Option<Candidate>, Unavailable> {
    match factor {
        SecondFactor::Code(code) => {
            let Some(stored) = row.totp_secret.as_deref() else { return Ok(None) };
            let secret =
                keyring.decrypt(stored, &row.id).map_err(|why| keys::unavailable(cx, keyring, &row.id, why))?;
            Ok(totp::verify(&secret, code, cx.now(), row.totp_last_step)
                .map(|step| Candidate::Totp { secret: stored.to_string(), step }))
        }
        // A ring without data keys would take every code made under them for a wrong one.
        SecondFactor::RecoveryCode(_) if keyring.data_keys().is_empty() => Err(keys::not_loaded(cx)),
        SecondFactor::RecoveryCode(typed) => Ok(recovery_codes::normalize(typed)
            .map(|code| Candidate::RecoveryCode { candidates: keyring.recovery_code_candidates(&row.id, &code) })),
    }
}

/// [`candidate`], or, when the factor cannot be checked, the attempt handed back (a lost key is
/// not the person's failure) and the reason.
pub async fn candidate_or_hand_back<S, E>(
    cx: &Cx<S>,
    keyring: &Keyring,
    row: &FactorsRow,
    factor: &SecondFactor,
    attempt: Attempt,
) -> Result<(Attempt, Option<Candidate>), E>
where
    S: Store,
    E: From<Unavailable> + From<Unexpected>,
{
    match candidate(cx, keyring, row, factor) {
        Ok(candidate) => Ok((attempt, candidate)),
        Err(unavailable) => {
            attempt.refund(cx).await?;
            Err(unavailable.into())
        }
    }
}
