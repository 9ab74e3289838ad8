//! Operator sign-in as the console uses it: sign in and out, refresh, invitations, password
//! resets, and the admin's invite/deactivate. The rules are in `crate::sign_in` (tokens,
//! cookies, CSRF, brute force) and in the operator decider (what each attempt means).

use async_graphql::{Context, ErrorExtensions, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_domain::operator::{
    Operator as OperatorAggregate, OperatorCommand, SessionEndReason, SignInFailure,
};
use switchboard_domain::DomainEvent;
use switchboard_projections::notifications::OperatorLink;
use switchboard_projections::operators::read;
use uuid::Uuid;

use crate::auth::{Authentication, Role};
use crate::error::{ApiError, ResultExt};
use crate::graphql::team::{handle, Operator, OperatorChange, OperatorProfileInput};
use crate::graphql::AppContext;
use crate::request::ClientIp;
use crate::sign_in::{
    check_password, hash_password, normalize_email, session_cookies, slow_down, system_meta,
    verify_password, OpenedSession, SessionCookies, SignIn,
};

/// A console session: the access token to send as `Authorization: Bearer …` until
/// `expiresAt`, then `refreshSession` (the refresh token is an HttpOnly cookie).
#[derive(Debug, SimpleObject)]
pub struct OperatorSession {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
    pub operator: Operator,
}

#[derive(Debug, InputObject)]
pub struct InviteOperatorInput {
    /// Where the invitation goes; the address they will sign in with.
    pub email: String,
    /// Who they are (its `email` is replaced by the one above).
    pub profile: OperatorProfileInput,
    /// To invite an operator registered before (who has no password yet); omit for a new one.
    pub operator_id: Option<Uuid>,
}

#[derive(Debug, SimpleObject)]
pub struct Invitation {
    pub operator_id: Uuid,
    /// The link the e-mail carries, relative to the console (`/#/invitation?token=…`): for an
    /// admin to pass on when e-mail is not set up. Good for 7 days, once.
    pub invitation_path: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct SignInMutation;

fn caller_ip(ctx: &Context<'_>) -> Option<String> {
    ctx.data_opt::<ClientIp>().and_then(|ip| ip.0.clone())
}

fn cookies<'a>(ctx: &'a Context<'_>) -> std::borrow::Cow<'a, SessionCookies> {
    match ctx.data_opt::<SessionCookies>() {
        Some(cookies) => std::borrow::Cow::Borrowed(cookies),
        None => std::borrow::Cow::Owned(SessionCookies::default()),
    }
}

/// An e-mail address as typed into the sign-in or reset form: no control characters (the
/// database takes no NUL) and no longer than an address can be; what is left is looked up.
fn typed_email(email: &str) -> Result<String, ApiError> {
    use switchboard_domain::values::InvalidInput;
    const MAX_EMAIL_BYTES: usize = 320;
    if email.chars().any(char::is_control) {
        return Err(InvalidInput::ControlCharacter { field: "email" }.into());
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(InvalidInput::TooLong {
            field: "email",
            actual: email.len(),
            limit: MAX_EMAIL_BYTES,
        }
        .into());
    }
    Ok(normalize_email(email))
}

/// Hands the session to the browser (cookies) and the client (the payload).
async fn answer(
    ctx: &Context<'_>,
    sign_in: &SignIn,
    opened: OpenedSession,
) -> async_graphql::Result<OperatorSession> {
    if let Some(refresh) = &opened.refresh_token {
        for cookie in session_cookies(
            Some((refresh.as_str(), opened.session_expires_at)),
            &sign_in.settings,
        ) {
            ctx.append_http_header("set-cookie", cookie);
        }
    }
    let operator = match read::operator(&sign_in.pool, opened.operator_id)
        .await
        .gql()?
    {
        Some(row) => Operator::from(row),
        None => from_log(sign_in, opened.operator_id).await?,
    };
    Ok(OperatorSession {
        access_token: opened.access_token,
        expires_at: opened.access_expires_at,
        operator,
    })
}

/// The operator as the log has them, when the projection has not caught up yet.
async fn from_log(sign_in: &SignIn, operator_id: Uuid) -> async_graphql::Result<Operator> {
    match sign_in.operators.state(operator_id).await.gql()? {
        OperatorAggregate::Registered(state) => Ok(Operator {
            id: state.id,
            name: state.profile.name.clone(),
            roles: state.profile.roles.iter().map(|&r| r.into()).collect(),
            branch_id: state.profile.branch_id,
            capacity: state.profile.capacity.map(i32::from),
            email: state.profile.email.clone(),
            telegram_linked: false,
            status: state.status.into(),
            status_changed_at: Utc::now(),
            load: 0,
            last_assigned_at: None,
            active: state.active,
            invitation_pending: state.access.invitation.is_some(),
        }),
        OperatorAggregate::NotRegistered => Err(ApiError::from(
            switchboard_domain::DomainError::OperatorNotFound(operator_id),
        )
        .extend()),
    }
}

/// A page of another site may not sign the browser in (login CSRF: it would plant its own
/// session in the victim's browser).
fn refuse_foreign_origin(ctx: &Context<'_>) -> async_graphql::Result<()> {
    if cookies(ctx).foreign_origin {
        return Err(ApiError::CsrfRejected.extend());
    }
    Ok(())
}

fn clear_cookies(ctx: &Context<'_>, sign_in: &SignIn) {
    for cookie in session_cookies(None, &sign_in.settings) {
        ctx.append_http_header("set-cookie", cookie);
    }
}

/// The end of an invitation's acceptance or a reset: the command (which spends the link),
/// then the new password's hash under the generation the command made, the other sessions
/// ended (a reset), and the new session.
async fn set_password_and_sign_in(
    ctx: &Context<'_>,
    sign_in: &SignIn,
    command: OperatorCommand,
    hash: &str,
) -> async_graphql::Result<OperatorSession> {
    let (operator_id, session_id, at) = match &command {
        OperatorCommand::AcceptInvitation {
            operator_id,
            session_id,
            at,
            ..
        }
        | OperatorCommand::ResetPassword {
            operator_id,
            session_id,
            at,
            ..
        } => (*operator_id, *session_id, *at),
        _ => unreachable!("only acceptances and resets set a password"),
    };
    let ip = caller_ip(ctx);
    let handled = sign_in
        .operators
        .handle(&system_meta(ip.clone()), &command)
        .await
        .gql()?;
    // After the event, never before: a used link must not reach the password. A crash in
    // between leaves the older hash, which the decider no longer takes (its generation is
    // past): a reset then sets one. The generation and the sign-in's time are the events'.
    let mut generation = 0;
    let mut signed_in_at = at;
    for event in &handled.events {
        match event {
            DomainEvent::OperatorInvitationAccepted(e) => generation = e.password_generation,
            DomainEvent::OperatorPasswordReset(e) => generation = e.password_generation,
            DomainEvent::OperatorSignedIn(e) => signed_in_at = e.signed_in_at,
            _ => {}
        }
    }
    sign_in
        .store_password(operator_id, hash, generation)
        .await
        .gql()?;
    if matches!(command, OperatorCommand::ResetPassword { .. }) {
        // The read side ends them too (sessions_revoked_at), whichever node they are on.
        sign_in
            .end_all_sessions(
                operator_id,
                Some(session_id),
                SessionEndReason::PasswordReset,
            )
            .await
            .gql()?;
    }
    let cookies = cookies(ctx);
    let opened = sign_in
        .open_session(
            operator_id,
            session_id,
            signed_in_at,
            ip.as_deref(),
            cookies.user_agent.as_deref(),
        )
        .await
        .gql()?;
    answer(ctx, sign_in, opened).await
}

#[Object]
impl SignInMutation {
    /// Signs an operator in with e-mail and password: the refresh token is set as an HttpOnly
    /// cookie, the access token answered. INVALID_CREDENTIALS, ACCOUNT_LOCKED (with
    /// `retryAfter`), OPERATOR_DEACTIVATED, RATE_LIMITED (too many failures from this address).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<OperatorSession> {
        refuse_foreign_origin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let sign_in = &app.sign_in;
        let ip = caller_ip(ctx);
        let address = ip.as_deref().and_then(|ip| ip.parse().ok());
        let email = typed_email(&email).gql()?;
        sign_in.address_failures.attempt(address).gql()?;
        let operator_id = sign_in.operator_of_email(&email).await.gql()?;
        let stored = match operator_id {
            Some(id) => sign_in.password_hash(id).await.gql()?,
            None => None,
        };
        let generation = stored.as_ref().map_or(0, |(_, generation)| *generation);
        let matched = verify_password(stored.map(|(hash, _)| hash), &password).await;
        let retry_after = |until: DateTime<Utc>| (until - Utc::now()).num_seconds().max(1) as u64;
        let Some(operator_id) = operator_id else {
            // What was typed is recorded only if it looks like an address: people type
            // passwords into the wrong field, and the log keeps everything for good.
            let looks_like_address = email.len() <= 254
                && email.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            let command = switchboard_domain::operator::RecordUnknownEmail {
                email: if looks_like_address {
                    email.clone()
                } else {
                    "[not an address]".to_owned()
                },
                at: Utc::now(),
            };
            let handled = sign_in
                .unknown_emails
                .handle(&system_meta(ip.clone()), &command)
                .await
                .gql()?;
            // Answered as a known address would be: slowed, then locked.
            let error = match handled.events.first() {
                Some(DomainEvent::SignInFailedForUnknownEmail(e)) => match e.locked_until {
                    Some(until) => ApiError::AccountLocked {
                        retry_after_secs: retry_after(until),
                    },
                    None => {
                        tokio::time::sleep(slow_down(e.failures)).await;
                        ApiError::InvalidCredentials
                    }
                },
                _ => ApiError::InvalidCredentials,
            };
            return Err(error.extend());
        };
        let session_id = Uuid::now_v7();
        let at = Utc::now();
        let handled = sign_in
            .operators
            .handle(
                &system_meta(ip.clone()),
                &OperatorCommand::SignIn {
                    operator_id,
                    session_id,
                    password_matched: matched,
                    password_generation: generation,
                    at,
                },
            )
            .await
            .gql()?;
        let mut failure = None;
        let mut locked_until = None;
        for event in &handled.events {
            match event {
                DomainEvent::OperatorSignedIn(_) => {
                    sign_in.address_failures.succeeded(address);
                    let cookies = cookies(ctx);
                    let opened = sign_in
                        .open_session(
                            operator_id,
                            session_id,
                            at,
                            ip.as_deref(),
                            cookies.user_agent.as_deref(),
                        )
                        .await
                        .gql()?;
                    return answer(ctx, sign_in, opened).await;
                }
                DomainEvent::OperatorSignInFailed(e) => failure = Some((e.reason, e.failures)),
                DomainEvent::OperatorLockedOut(e) => locked_until = Some(e.until),
                _ => {}
            }
        }
        let error = match (failure, locked_until) {
            (_, Some(until)) => ApiError::AccountLocked {
                retry_after_secs: retry_after(until),
            },
            (Some((SignInFailure::Locked, _)), None) => {
                let until = match sign_in.operators.state(operator_id).await.gql()? {
                    OperatorAggregate::Registered(state) => state.access.locked_until,
                    OperatorAggregate::NotRegistered => None,
                };
                ApiError::AccountLocked {
                    retry_after_secs: until.map(retry_after).unwrap_or(1),
                }
            }
            // The decider looks at deactivation only once the password matched.
            (Some((SignInFailure::Deactivated, _)), None) => ApiError::from(
                switchboard_domain::DomainError::OperatorDeactivated(operator_id),
            ),
            (Some((_, failures)), None) => {
                tokio::time::sleep(slow_down(failures)).await;
                ApiError::InvalidCredentials
            }
            (None, None) => ApiError::InvalidCredentials,
        };
        Err(error.extend())
    }

    /// A new access token for the session in the refresh cookie, which is rotated. Needs the
    /// `X-Switchboard-CSRF` header (the `sb_csrf` cookie's value). SESSION_ENDED,
    /// REFRESH_TOKEN_REUSED (the session is then over), CSRF_REJECTED.
    async fn refresh_session(&self, ctx: &Context<'_>) -> async_graphql::Result<OperatorSession> {
        let app = ctx.data::<AppContext>()?;
        let cookies = cookies(ctx);
        cookies.check_csrf().gql()?;
        let Some(refresh) = cookies.refresh.as_deref() else {
            return Err(ApiError::SessionEnded.extend());
        };
        match app.sign_in.refresh(refresh).await {
            Ok(opened) => answer(ctx, &app.sign_in, opened).await,
            Err(err) => {
                // A transient failure (the database busy) leaves the session as it is.
                if matches!(err, ApiError::SessionEnded | ApiError::RefreshTokenReused) {
                    clear_cookies(ctx, &app.sign_in);
                }
                Err(err.extend())
            }
        }
    }

    /// Ends the session in the refresh cookie (CSRF as for `refreshSession`). True if a
    /// session ended.
    async fn sign_out(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let app = ctx.data::<AppContext>()?;
        let cookies = cookies(ctx);
        cookies.check_csrf().gql()?;
        clear_cookies(ctx, &app.sign_in);
        let Some((operator_id, session_id)) = app
            .sign_in
            .owner_of_refresh(cookies.refresh.as_deref())
            .await
            .gql()?
        else {
            return Ok(false);
        };
        let meta = system_meta(caller_ip(ctx));
        app.sign_in
            .end_session(
                operator_id,
                session_id,
                SessionEndReason::SignedOut,
                Some(meta),
            )
            .await
            .gql()
    }

    /// The invitee sets their password from the invitation link's token, and is signed in.
    /// INVITATION_INVALID (used, replaced or expired), PASSWORD_TOO_WEAK.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> async_graphql::Result<OperatorSession> {
        refuse_foreign_origin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let sign_in = &app.sign_in;
        let (operator_id, invitation_id) = sign_in
            .open_link(&token, true)
            .ok_or(ApiError::from(
                switchboard_domain::DomainError::InvitationInvalid,
            ))
            .gql()?;
        check_password(&password).gql()?;
        let hash = hash_password(&password).await.gql()?;
        let session_id = Uuid::now_v7();
        let command = OperatorCommand::AcceptInvitation {
            operator_id,
            invitation_id,
            session_id,
            at: Utc::now(),
        };
        set_password_and_sign_in(ctx, sign_in, command, &hash).await
    }

    /// E-mails a password-reset link to the operator with this address, if there is one and
    /// they have signed up; the answer is true either way, so it tells nobody who has an
    /// account.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<bool> {
        let app = ctx.data::<AppContext>()?;
        let sign_in = &app.sign_in;
        let ip = caller_ip(ctx);
        let address = ip.as_deref().and_then(|ip| ip.parse().ok());
        let email = typed_email(&email).gql()?;
        // Each request takes a slot of the address like a failed sign-in: it sends an e-mail.
        sign_in.address_failures.attempt(address).gql()?;
        if let Some(operator_id) = sign_in.operator_of_email(&email).await.gql()? {
            sign_in
                .operators
                .handle(
                    &system_meta(ip),
                    &OperatorCommand::RequestPasswordReset {
                        operator_id,
                        reset_id: Uuid::now_v7(),
                        at: Utc::now(),
                    },
                )
                .await
                .gql()?;
        }
        Ok(true)
    }

    /// Sets a new password from the reset link's token and signs in; every other session of
    /// the operator ends, and a lock is lifted. RESET_LINK_INVALID, PASSWORD_TOO_WEAK.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> async_graphql::Result<OperatorSession> {
        refuse_foreign_origin(ctx)?;
        let app = ctx.data::<AppContext>()?;
        let sign_in = &app.sign_in;
        let (operator_id, reset_id) = sign_in
            .open_link(&token, false)
            .ok_or(ApiError::from(
                switchboard_domain::DomainError::ResetLinkInvalid,
            ))
            .gql()?;
        check_password(&password).gql()?;
        let hash = hash_password(&password).await.gql()?;
        let session_id = Uuid::now_v7();
        let command = OperatorCommand::ResetPassword {
            operator_id,
            reset_id,
            session_id,
            at: Utc::now(),
        };
        set_password_and_sign_in(ctx, sign_in, command, &hash).await
    }

    /// Invites someone to sign in (admins): registers them with the profile (or re-invites an
    /// operator who has not set a password yet) and e-mails a one-time link, good for 7 days.
    /// EMAIL_TAKEN, OPERATOR_ALREADY_SIGNED_UP.
    async fn invite_operator(
        &self,
        ctx: &Context<'_>,
        input: InviteOperatorInput,
    ) -> async_graphql::Result<Invitation> {
        ctx.data::<Authentication>()?
            .require_operator(&[Role::Admin])
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let mut profile_input = input.profile;
        profile_input.email = Some(normalize_email(&input.email));
        let profile = profile_input.validate().gql()?;
        let email = profile.email.clone().unwrap_or_default();
        let operator_id = input.operator_id.unwrap_or_else(Uuid::now_v7);
        // What the decider would refuse is refused before the address changes hands: a
        // signed-up or deactivated operator keeps the address they sign in with.
        if let OperatorAggregate::Registered(state) =
            app.operator_handler.state(operator_id).await.gql()?
        {
            if !state.active {
                return Err(
                    ApiError::from(switchboard_domain::DomainError::OperatorDeactivated(
                        operator_id,
                    ))
                    .extend(),
                );
            }
            if state.access.password_set {
                return Err(ApiError::from(
                    switchboard_domain::DomainError::OperatorAlreadySignedUp(operator_id),
                )
                .extend());
            }
        }
        app.sign_in.claim_email(operator_id, &email).await.gql()?;
        let invitation_id = Uuid::now_v7();
        let at = Utc::now();
        handle(
            ctx,
            &[Role::Admin],
            OperatorCommand::Invite {
                operator_id,
                profile,
                invitation_id,
                at,
            },
        )
        .await?;
        let token = app
            .sign_in
            .link_token(operator_id, OperatorLink::Invitation(invitation_id));
        Ok(Invitation {
            operator_id,
            invitation_path: format!("/#/invitation?token={token}"),
            expires_at: at + switchboard_domain::operator::invitation_lifetime(),
        })
    }

    /// Deactivates an operator (admins; not oneself): every session ends at once, they cannot
    /// sign in, and they go offline.
    async fn deactivate_operator(
        &self,
        ctx: &Context<'_>,
        operator_id: Uuid,
    ) -> async_graphql::Result<OperatorChange> {
        let app = ctx.data::<AppContext>()?;
        let change = handle(
            ctx,
            &[Role::Admin],
            OperatorCommand::Deactivate {
                operator_id,
                at: Utc::now(),
            },
        )
        .await?;
        app.sign_in
            .end_all_sessions(operator_id, None, SessionEndReason::Deactivated)
            .await
            .gql()?;
        Ok(change)
    }

    /// Lets a deactivated operator sign in again (admins).
    async fn reactivate_operator(
        &self,
        ctx: &Context<'_>,
        operator_id: Uuid,
    ) -> async_graphql::Result<OperatorChange> {
        handle(
            ctx,
            &[Role::Admin],
            OperatorCommand::Reactivate {
                operator_id,
                at: Utc::now(),
            },
        )
        .await
    }
}
