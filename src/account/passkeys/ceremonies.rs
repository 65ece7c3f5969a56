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
use crate::account::sign_in::{self, SecondStepDone, SignedIn};
use crate::account::{credentials, devices, keys};
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::secrets::Keyring;
use crate::domain::webauthn::{json::AuthenticationResponse, Asserted, Rejection};
use crate::storage::attempts::{Budget, Generations};
use crate::storage::events::EventType;
use crate::storage::passkeys::{
    IssuedChallenge, PasskeyRow, Purpose, Recorded, SessionAssertion, SessionAssertionReserved, Spend,
};
use crate::storage::sign_in::{Identifier, SecondStepRead, SecondStepReserved};
use crate::storage::two_factor::FactorsRow;
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
    let answer = if reserved.passkey.is_none() { Error::Unknown } else { Error::Rejected };
    let verified = match (&reserved.user, reserved.passkey, reserved.spent) {
        (Some(_), Some(passkey), true) => assertion
            .verify(rp, issued.as_ref(), (Purpose::SignIn, ""), &passkey)
            // A discoverable sign-in names its user; a response without the handle proves nothing of it.
            .and_then(|v| if assertion.user_handle.is_some() { Ok(v) } else { Err(Rejection::WrongUser) })
            .map(|asserted| Verified { passkey, asserted, spend: &spend }),
        (Some(_), Some(_), false) => Err(Rejection::WrongChallenge),
        _ => Err(Rejection::WrongUser),
    };
    let (user, verified) = match (reserved.user, verified) {
        (Some(user), Ok(verified)) => (user, verified),
        (user, Err(rejection)) => {
            let user_id = user.as_ref().map_or("", |u| &*u.id);
            return Err(refused(cx, &client, reserved.attempt, (None, user_id), rejection, answer).await);
        }
        (None, Ok(_)) => return Err(Error::Rejected),
    };
    let who = (&*user.id, user.email.as_str(), user.name.as_str());
    let completing = Completing { keys: &keys, client: &client, generations: user.generations(), method: "passkey" };
    complete(cx, reserved.attempt, verified, who, completing).await
}

/// An assertion that passed every check, to be recorded.
struct Verified<'a> {
    passkey: PasskeyRow,
    asserted: Asserted,
    spend: &'a Spend<'a>,
}

/// What a passkey sign-in step completes with besides the assertion.
struct Completing<'a> {
    keys: &'a Keyring,
    client: &'a Client,
    /// The generations the sign-in is under.
    generations: Generations,
    method: &'a str,
}

/// Records a verified assertion that completes a sign-in (ending the run of `attempt`, trusting
/// the browser, under the sign-in's generations) and starts its session.
async fn complete<S: Store>(
    cx: &Cx<S>,
    attempt: Attempt,
    verified: Verified<'_>,
    who: (&str, &str, &str),
    completing: Completing<'_>,
) -> Result<SignedIn, Error> {
    let used = passkey_use(cx, &verified.passkey, &verified.asserted);
    let trust = devices::trusting(cx, completing.keys, completing.client.device(), who.0)?;
    let detail = json!({ "method": completing.method, "new_device": trust.new_device, "sign_in": cx.facts.request_id });
    let event = cx.event(who.0, EventType::SignIn, detail);
    let (budget, generations) = (attempt.budget(), Some(completing.generations));
    let recorded =
        cx.store.record_passkey_use(&used, verified.spend, budget, generations, &[event], Some(&trust.row)).await?;
    if recorded != Recorded::Applied {
        return Err(lost_race(cx, attempt, who.0, "sign_in", recorded).await);
    }
    Ok(sign_in::start(cx, trust.cookie, who, completing.generations, completing.method).await?)
}

/// A refused assertion of a sign-in step: a clone warning when its counter went back, and the
/// failure, counted by the one ceremony.
async fn refused<S: Store>(
    cx: &Cx<S>,
    client: &Client,
    attempt: Attempt,
    (pending, user_id): (Option<&mut Pending>, &str),
    rejection: Rejection,
    answer: Error,
) -> Error {
    if let Err(error) = warn_of_clone(cx, user_id, "sign_in", rejection).await {
        return error;
    }
    let detail = refusal_detail("sign_in", rejection);
    match ceremony::failed(cx, client, attempt, pending, detail, answer).await {
        Ok(answer) => answer,
        Err(error) => error.into(),
    }
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
) -> Result<SecondStepDone, Error> {
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
    let ceremony = (Purpose::SecondStep, pending.id().as_ref());
    let (verified, row) = match verify_second_step(&assertion, rp, issued?.as_ref(), ceremony, reserved, &spend) {
        Ok(verified) => verified,
        Err(rejection) => {
            let user_id = pending.user_id().clone();
            return Err(refused(cx, &client, attempt, (Some(&mut pending), &user_id), rejection, Error::Rejected).await);
        }
    };
    let who = (&*row.id, row.email.as_str(), row.name.as_str());
    if pending.reset().is_some() {
        return complete_reset(cx, attempt, verified, &pending, who).await;
    }
    pending.end(cx).await?;
    let completing =
        Completing { keys: &keys, client: &client, generations: pending.generations(), method: "password+passkey" };
    Ok(SecondStepDone::SignedIn(complete(cx, attempt, verified, who, completing).await?))
}

/// The assertion of a second step, checked against what its reservation read: the challenge this
/// request spent and the passkey, which must be one of the pending sign-in's account.
fn verify_second_step<'a>(
    assertion: &DecodedAssertion,
    rp: &RelyingParty,
    issued: Option<&IssuedChallenge>,
    ceremony: (Purpose, &str),
    reserved: SecondStepReserved,
    spend: &'a Spend<'a>,
) -> Result<(Verified<'a>, FactorsRow), Rejection> {
    match (reserved.spent, reserved.passkey, reserved.factors) {
        (true, Some(passkey), Some(row)) => assertion
            .verify(rp, issued, ceremony, &passkey)
            .map(|asserted| (Verified { passkey, asserted, spend }, row)),
        (false, _, _) => Err(Rejection::WrongChallenge),
        // Not a passkey of this account.
        _ => Err(Rejection::WrongUser),
    }
}

/// A passkey as the second factor of a password reset: records its use (no sign-in, no trust),
/// then completes the reset the pending step held.
async fn complete_reset<S: Store>(
    cx: &Cx<S>,
    attempt: Attempt,
    verified: Verified<'_>,
    pending: &Pending,
    who: (&str, &str, &str),
) -> Result<SecondStepDone, Error> {
    let used = passkey_use(cx, &verified.passkey, &verified.asserted);
    let generations = Some(pending.generations());
    let recorded = cx.store.record_passkey_use(&used, verified.spend, attempt.budget(), generations, &[], None).await?;
    if recorded != Recorded::Applied {
        return Err(lost_race(cx, attempt, who.0, "sign_in", recorded).await);
    }
    match sign_in::finish_second_step(cx, pending, None, who, "password+passkey").await {
        Ok(done) => Ok(done),
        Err(sign_in::Error::Unexpected(error)) => Err(error.into()),
        Err(_) => Err(Error::ResetLinkUsed),
    }
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
    let (attempt, reserved, issued) = reserve_confirmation(cx, current, &assertion, &spend).await?;
    let verified = match (reserved.spent, reserved.passkey) {
        (true, Some(passkey)) => assertion
            .verify(rp, issued.as_ref(), (Purpose::Confirm, &current.id), &passkey)
            .map(|asserted| (passkey, asserted)),
        (false, _) => Err(Rejection::WrongChallenge),
        (true, None) => Err(Rejection::WrongUser),
    };
    let (passkey, asserted) = match verified {
        Ok(verified) => verified,
        Err(rejection) => {
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

/// Spends the confirmation's challenge and reserves its attempt in the session's run (one
/// transaction), while the challenge as issued is read.
async fn reserve_confirmation<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    assertion: &DecodedAssertion,
    spend: &Spend<'_>,
) -> Result<(Attempt, SessionAssertionReserved, Option<IssuedChallenge>), Error> {
    let budget = Budget::Session(current.id.to_string());
    let asking = SessionAssertion {
        user_id: &current.user.id,
        budget: &budget,
        credential_id: &assertion.credential_id,
        spend,
        policy: cx.config().throttle,
        now: cx.now(),
    };
    let (reserved, issued) =
        join(cx.store.reserve_for_session(&asking), cx.store.challenge(&assertion.challenge)).await;
    forget_challenge_later(cx, &assertion.challenge);
    let reserved = reserved?;
    let attempt = Attempt::from_reservation(cx.now(), &current.user.id, budget.clone(), reserved.reservation)?;
    Ok((attempt, reserved, issued?))
}
