//! The three ceremonies that use a passkey: a sign-in (both factors at once), the second step of
//! a sign-in after its password, and "Confirm it's you". The two sign-in steps go through the
//! one sign-in ceremony (`account::ceremony`); the confirmation counts against the session.

use futures_util::future::join;
use serde_json::json;

use super::assertion::{lost_race, passkey_use, refusal_detail, warn_of_clone, DecodedAssertion};
use super::{
    forget_challenge_later, issue_challenge, own_passkeys, request_options, Error, RelyingParty, RequestOptions,
};
use crate::account::attempts::Attempt;
use crate::account::ceremony::{self, Client, Pending};
use crate::account::sign_in::{self, SignedIn};
use crate::account::{credentials, devices, keys};
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::webauthn::{json::AuthenticationResponse, Rejection};
use crate::storage::attempts::Budget;
use crate::storage::events::EventType;
use crate::storage::passkeys::{Purpose, Recorded, SessionAssertion};
use crate::storage::sign_in::{Identifier, SecondStepRead};
use crate::storage::Store;

/// `POST /api/auth/passkey/options`: a challenge for signing in with any passkey of this site
/// (the browser offers them; autofill included).
pub async fn sign_in_options<S: Store>(cx: &Cx<S>, rp: &RelyingParty) -> Result<RequestOptions, Error> {
    let challenge = issue_challenge(cx, Purpose::SignIn, "", "").await?;
    Ok(request_options(challenge, rp, &[]))
}

/// `POST /api/auth/passkey/login`: a passkey with user verification is both factors at once.
pub async fn sign_in<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    rp: &RelyingParty,
    response: &AuthenticationResponse,
) -> Result<SignedIn, Error> {
    let assertion = DecodedAssertion::decode(response)?;
    let keys = keys::load(cx).await?;
    let client = Client::new(cx, device_cookie, &keys);
    let spent_by = crate::account::error::new_token("a spend id")?;
    let spend = assertion.spend(&spent_by);
    let identifier = Identifier::Credential(&assertion.credential_id);
    let reserve = ceremony::reserve_first::<S, Error>(cx, &client, identifier, Some(&spend));
    let (reserved, issued) = join(reserve, cx.store.challenge(&assertion.challenge)).await;
    forget_challenge_later(cx, &assertion.challenge);
    let (reserved, issued) = (reserved?, issued?);
    let verified = match (&reserved.user, &reserved.passkey, reserved.spent) {
        (Some(_), Some(passkey), true) => assertion
            .verify(rp, issued.as_ref(), (Purpose::SignIn, ""), passkey)
            // A discoverable sign-in names its user; a response without the handle proves nothing of it.
            .and_then(|v| if assertion.user_handle.is_some() { Ok(v) } else { Err(Rejection::WrongUser) }),
        (Some(_), Some(_), false) => Err(Rejection::WrongChallenge),
        _ => Err(Rejection::WrongUser),
    };
    let (user, passkey, asserted) = match (reserved.user, reserved.passkey, verified) {
        (Some(user), Some(passkey), Ok(asserted)) => (user, passkey, asserted),
        (user, _, verified) => {
            let rejection = verified.err().unwrap_or(Rejection::WrongUser);
            warn_of_clone(cx, user.as_ref().map_or("", |u| &*u.id), "sign_in", rejection).await?;
            let detail = refusal_detail("sign_in", rejection);
            return Err(ceremony::failed(cx, &client, reserved.attempt, None, detail, Error::Rejected).await?);
        }
    };
    let used = passkey_use(cx, &passkey, &asserted);
    let event = cx.event(&user.id, EventType::SignIn, json!({ "method": "passkey" }));
    let trust = devices::trusting(cx, &keys, client.device(), &user.id)?;
    let (budget, generations) = (reserved.attempt.budget(), Some(user.generations()));
    let recorded = cx.store.record_passkey_use(&used, &spend, budget, generations, &[event], Some(&trust.row)).await?;
    if recorded != Recorded::Applied {
        return Err(lost_race(cx, reserved.attempt, &user.id, "sign_in", recorded).await);
    }
    let who = (&*user.id, user.email.as_str(), user.name.as_str());
    Ok(sign_in::start(cx, trust.cookie, who, user.generations(), "passkey").await?)
}

/// `POST /api/auth/passkey/two-factor/options`: a challenge for the second step of this
/// pending sign-in, answerable with one of its user's passkeys.
pub async fn second_step_options<S: Store>(
    cx: &Cx<S>,
    rp: &RelyingParty,
    pending_token: &str,
) -> Result<RequestOptions, Error> {
    let pending = Pending::open::<S, Error>(cx, pending_token).await?;
    let rows = own_passkeys(cx, pending.user_id()).await?;
    let challenge = issue_challenge(cx, Purpose::SecondStep, pending.id(), pending.user_id()).await?;
    Ok(request_options(challenge, rp, &rows))
}

/// `POST /api/auth/passkey/two-factor`: completes a pending sign-in with a passkey of its user.
pub async fn second_step<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    rp: &RelyingParty,
    pending_token: &str,
    response: &AuthenticationResponse,
) -> Result<SignedIn, Error> {
    let assertion = DecodedAssertion::decode(response)?;
    let keys = keys::load(cx).await?;
    let client = Client::new(cx, device_cookie, &keys);
    let mut pending = Pending::open::<S, Error>(cx, pending_token).await?;
    let spent_by = crate::account::error::new_token("a spend id")?;
    let spend = assertion.spend(&spent_by);
    let read = SecondStepRead::Passkey { credential_id: &assertion.credential_id, spend: &spend };
    let reserve = ceremony::reserve_second::<S, Error>(cx, &client, &pending, read);
    let (reserved, issued) = join(reserve, cx.store.challenge(&assertion.challenge)).await;
    forget_challenge_later(cx, &assertion.challenge);
    let (attempt, reserved) = reserved?;
    let verified = match (reserved.spent, &reserved.passkey) {
        (true, Some(passkey)) => assertion.verify(rp, issued?.as_ref(), (Purpose::SecondStep, pending.id()), passkey),
        (false, _) => Err(Rejection::WrongChallenge),
        // Not a passkey of this account.
        (true, None) => Err(Rejection::WrongUser),
    };
    let (passkey, asserted, row) = match (reserved.passkey, verified, reserved.factors) {
        (Some(passkey), Ok(asserted), Some(row)) => (passkey, asserted, row),
        (_, verified, _) => {
            let rejection = verified.err().unwrap_or(Rejection::WrongUser);
            warn_of_clone(cx, pending.user_id(), "sign_in", rejection).await?;
            let detail = refusal_detail("sign_in", rejection);
            return Err(ceremony::failed(cx, &client, attempt, Some(&mut pending), detail, Error::Rejected).await?);
        }
    };
    let method = "password+passkey";
    let event = cx.event(pending.user_id(), EventType::SignIn, json!({ "method": method }));
    let used = passkey_use(cx, &passkey, &asserted);
    let trust = devices::trusting(cx, &keys, client.device(), pending.user_id())?;
    let (budget, generations) = (attempt.budget(), Some(pending.generations()));
    let recorded = cx.store.record_passkey_use(&used, &spend, budget, generations, &[event], Some(&trust.row)).await?;
    if recorded != Recorded::Applied {
        return Err(lost_race(cx, attempt, pending.user_id(), "sign_in", recorded).await);
    }
    pending.end(cx).await?;
    let who = (&*row.id, row.email.as_str(), row.name.as_str());
    Ok(sign_in::start(cx, trust.cookie, who, pending.generations(), method).await?)
}

/// `POST /api/auth/passkey/confirm/options`: a challenge for "Confirm it's you" with a passkey.
pub async fn confirm_options<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    rp: &RelyingParty,
) -> Result<RequestOptions, Error> {
    let rows = own_passkeys(cx, &current.user.id).await?;
    let challenge = issue_challenge(cx, Purpose::Confirm, &current.id, &current.user.id).await?;
    Ok(request_options(challenge, rp, &rows))
}

/// `POST /api/auth/passkey/confirm`: a passkey of this account opens the sudo window on a new
/// token, as the password (and code) would; failures count against this session.
pub async fn confirm<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    rp: &RelyingParty,
    response: &AuthenticationResponse,
) -> Result<(), Error> {
    let assertion = DecodedAssertion::decode(response)?;
    let spent_by = crate::account::error::new_token("a spend id")?;
    let spend = assertion.spend(&spent_by);
    let budget = Budget::Session(current.id.to_string());
    let asking = SessionAssertion {
        user_id: &current.user.id,
        budget: &budget,
        credential_id: &assertion.credential_id,
        spend: &spend,
        policy: cx.config().throttle,
        now: cx.now(),
    };
    let (reserved, issued) =
        join(cx.store.reserve_for_session(&asking), cx.store.challenge(&assertion.challenge)).await;
    forget_challenge_later(cx, &assertion.challenge);
    let reserved = reserved?;
    let attempt = Attempt::from_reservation(cx.now(), &current.user.id, budget.clone(), reserved.reservation)?;
    let verified = match (reserved.spent, &reserved.passkey) {
        (true, Some(passkey)) => assertion.verify(rp, issued?.as_ref(), (Purpose::Confirm, &current.id), passkey),
        (false, _) => Err(Rejection::WrongChallenge),
        (true, None) => Err(Rejection::WrongUser),
    };
    let (passkey, asserted) = match (reserved.passkey, verified) {
        (Some(passkey), Ok(asserted)) => (passkey, asserted),
        (_, verified) => {
            let rejection = verified.err().unwrap_or(Rejection::WrongUser);
            warn_of_clone(cx, &current.user.id, "confirm", rejection).await?;
            let detail = refusal_detail("confirm", rejection);
            return Err(attempt.failed(cx, detail, Error::Rejected).await?);
        }
    };
    let used = passkey_use(cx, &passkey, &asserted);
    let recorded = cx.store.record_passkey_use(&used, &spend, attempt.budget(), None, &[], None).await?;
    if recorded != Recorded::Applied {
        return Err(lost_race(cx, attempt, &current.user.id, "confirm", recorded).await);
    }
    credentials::open_sudo::<S, Error>(cx, current, None).await
}
