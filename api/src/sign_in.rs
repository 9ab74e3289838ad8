//! Operator sign-in for the console: passwords, sessions, one-time links, and the check every
//! request with a console token passes.
//!
//! # What lives where
//! - The log (the operator's stream, `switchboard_domain::operator`) records every invitation,
//!   acceptance, sign-in, failure, lock, reset request, reset, sign-out, deactivation, and the
//!   decider decides them: whether an invitation or reset link is still the current one,
//!   when wrong passwords lock the account. Failures with an address no operator has go to
//!   that address's own stream.
//! - `operator_logins` (address → operator), `operator_passwords` (argon2id PHC strings) and
//!   `operator_sessions` (SHA-256 of each session's refresh secret) are written here, beside
//!   the commands: none of it may be in an append-only log that Kafka carries.
//!
//! # Tokens
//! - The access token is a JWT of kind `operator_session` naming the operator and the session,
//!   good for [`SignInSettings::access_ttl`]. It carries no roles: each request reads the
//!   operator's roles from their profile (the operators projection) and checks that the session
//!   is open and the operator active — so a role change, a sign-out or a deactivation holds at
//!   the next request, on every node.
//! - The refresh token `<session id>.<generation>.<secret>` is an `HttpOnly`, `SameSite=Strict`
//!   cookie (`sb_refresh`, path `/graphql`), rotated at every use; the token names its
//!   generation. Any token the session replaced, used again, ends the session
//!   ([`SessionEndReason::RefreshTokenReused`]), except the last one within [`REUSE_GRACE`] of
//!   the rotation, which is two tabs refreshing at once.
//! - What the cookie authorises (`refreshSession`, `signOut`) also needs the CSRF token: the
//!   `X-Switchboard-CSRF` header equal to the `sb_csrf` cookie, which only pages of the
//!   service's own origin can read; and a foreign `Origin` is refused outright.
//! - Invitation and reset links carry `base64url(operator id ‖ link id ‖ HMAC-SHA256)`, keyed
//!   by the service's secret: the log holds only the link's id, never something that opens it.
//!
//! # Brute force
//! Per account: the decider locks after `LOCK_AFTER_FAILURES` wrong passwords in a row, and
//! answers are slowed from the third ([`slow_down`]); an address no operator has is counted,
//! slowed and locked the same way in its own stream, so the answers tell nobody which
//! addresses exist. Per address: [`AddressFailures`] takes a slot for each attempt before the
//! password is checked and refuses an address after [`ADDRESS_FAILURES`] in [`ADDRESS_WINDOW`]
//! (`RATE_LIMITED`); a success gives its slot back. The address count is per process (issue 23
//! shares limits across nodes).
//!
//! # Ending sessions
//! A password reset or a deactivation ends the open sessions (their rows, each recorded), and,
//! for whatever that misses (a sign-in racing it, another node), the operators projection's
//! `sessions_revoked_at`: a session whose sign-in was decided before it is refused at its next
//! request, refresh or socket recheck. The decider dates resets and deactivations after every
//! sign-in before them in the stream, so clocks cannot reorder them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use switchboard_commands::handler::{system_clock, CommandHandler, CommandMeta, OperatorHandler};
use switchboard_domain::operator::{Operator, Role, SessionEndReason, UnknownEmailDecider};
use switchboard_projections::notifications::OperatorLink;
use uuid::Uuid;

use crate::auth::{Auth, AuthError, Verified, Viewer};
use crate::error::ApiError;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest: argon2 hashes whatever it is given, so the length is bounded.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A replaced refresh token used again this soon after its rotation is a second tab, not theft.
pub const REUSE_GRACE: Duration = Duration::from_secs(30);

/// Failed sign-ins from one address before it is refused for the rest of the window.
pub const ADDRESS_FAILURES: u32 = 20;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);

pub const REFRESH_COOKIE: &str = "sb_refresh";
pub const CSRF_COOKIE: &str = "sb_csrf";
pub const CSRF_HEADER: &str = "x-switchboard-csrf";

/// How long tokens live.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    pub access_ttl: Duration,
    /// A session's whole life: after it, sign in again.
    pub session_ttl: Duration,
    /// Cookies get `Secure` (the service is served over https).
    pub secure_cookies: bool,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(10 * 60),
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            secure_cookies: false,
        }
    }
}

/// Everything sign-in needs. Cheap to clone.
#[derive(Clone)]
pub struct SignIn {
    pub pool: PgPool,
    pub auth: Auth,
    pub operators: OperatorHandler,
    /// Failed sign-ins with addresses no operator has.
    pub unknown_emails: CommandHandler<UnknownEmailDecider>,
    link_key: Arc<Vec<u8>>,
    pub settings: SignInSettings,
    pub address_failures: Arc<AddressFailures>,
}

impl SignIn {
    /// `secret` is the service's JWT secret: the links' key is derived from it.
    pub fn new(
        pool: PgPool,
        auth: Auth,
        operators: OperatorHandler,
        secret: &str,
        settings: SignInSettings,
    ) -> Self {
        Self {
            unknown_emails: CommandHandler::new(operators.log().clone(), system_clock()),
            pool,
            auth,
            operators,
            link_key: Arc::new(link_key(secret)),
            settings,
            address_failures: Arc::new(AddressFailures::default()),
        }
    }

    /// The token of an operator's one-time link.
    pub fn link_token(&self, operator_id: Uuid, link: OperatorLink) -> String {
        mint_link(&self.link_key, operator_id, link)
    }

    /// The operator and link id a token names, if it is genuine and of this kind.
    pub fn open_link(&self, token: &str, invitation: bool) -> Option<(Uuid, Uuid)> {
        open_link(&self.link_key, token, invitation)
    }

    /// The viewer of an `Authorization` header: console session tokens are checked against
    /// their session and take the operator's roles from the profile.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Viewer, AuthError> {
        authenticate(&self.auth, &self.pool, Some(&self.operators), header).await
    }

    /// See [`session_viewer`].
    pub async fn session_viewer(
        &self,
        operator_id: Uuid,
        session_id: Uuid,
    ) -> Result<Viewer, AuthError> {
        session_viewer(&self.pool, Some(&self.operators), operator_id, session_id).await
    }

    /// Starts a session: its row, its access token, its refresh cookie's value.
    pub async fn open_session(
        &self,
        operator_id: Uuid,
        session_id: Uuid,
        signed_in_at: DateTime<Utc>,
        address: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<OpenedSession, ApiError> {
        let secret = random_secret();
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.settings.session_ttl)
                .unwrap_or(chrono::Duration::days(14));
        sqlx::query(
            "insert into operator_sessions (session_id, operator_id, refresh_hash, rotated_at,
                 created_at, expires_at, address, user_agent, signed_in_at)
             values ($1, $2, $3, $4, $4, $5, $6, $7, $8)
             on conflict (session_id) do nothing",
        )
        .bind(session_id)
        .bind(operator_id)
        .bind(digest(&secret))
        .bind(now)
        .bind(expires_at)
        .bind(address)
        .bind(user_agent.map(|ua| ua.chars().take(300).collect::<String>()))
        .bind(signed_in_at)
        .execute(&self.pool)
        .await?;
        let (access_token, access_expires_at) =
            self.auth
                .issue_operator_session(operator_id, session_id, self.settings.access_ttl);
        Ok(OpenedSession {
            operator_id,
            access_token,
            access_expires_at,
            refresh_token: Some(format!("{session_id}.0.{secret}")),
            session_expires_at: expires_at,
        })
    }

    /// Uses a refresh token: rotates it and issues an access token; see the module's docs for
    /// reuse. The caller has checked the CSRF token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<OpenedSession, ApiError> {
        let (session_id, generation, secret) =
            parse_refresh(refresh_token).ok_or(ApiError::SessionEnded)?;
        let presented = digest(&secret);
        let mut tx = self.pool.begin().await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            operator_id: Uuid,
            refresh_hash: Vec<u8>,
            previous_hash: Option<Vec<u8>>,
            rotated_at: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            ended_at: Option<DateTime<Utc>>,
            active: Option<bool>,
            generation: i32,
            revoked: Option<bool>,
        }
        let row: Option<Row> = sqlx::query_as(
            "select s.operator_id, s.refresh_hash, s.previous_hash, s.rotated_at, s.expires_at,
                    s.ended_at, o.active, s.generation,
                    s.signed_in_at < o.sessions_revoked_at as revoked
             from operator_sessions s left join operators o on o.operator_id = s.operator_id
             where s.session_id = $1
             for update of s",
        )
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(ApiError::SessionEnded);
        };
        let now = Utc::now();
        if row.ended_at.is_some()
            || row.expires_at <= now
            || row.active == Some(false)
            || row.revoked == Some(true)
        {
            return Err(ApiError::SessionEnded);
        }
        let issue = |auth: &Auth| {
            auth.issue_operator_session(row.operator_id, session_id, self.settings.access_ttl)
        };
        if constant_time_eq(&presented, &row.refresh_hash) {
            let next = random_secret();
            sqlx::query(
                "update operator_sessions
                 set refresh_hash = $2, previous_hash = refresh_hash, rotated_at = $3,
                     generation = generation + 1
                 where session_id = $1",
            )
            .bind(session_id)
            .bind(digest(&next))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            let (access_token, access_expires_at) = issue(&self.auth);
            return Ok(OpenedSession {
                operator_id: row.operator_id,
                access_token,
                access_expires_at,
                refresh_token: Some(format!("{session_id}.{}.{next}", row.generation + 1)),
                session_expires_at: row.expires_at,
            });
        }
        let just_replaced = row
            .previous_hash
            .as_deref()
            .is_some_and(|previous| constant_time_eq(&presented, previous));
        let since_rotation = (now - row.rotated_at).to_std().unwrap_or_default();
        if just_replaced && since_rotation <= REUSE_GRACE {
            // Another tab's refresh won the race; its cookie is already the browser's.
            tx.commit().await?;
            let (access_token, access_expires_at) = issue(&self.auth);
            return Ok(OpenedSession {
                operator_id: row.operator_id,
                access_token,
                access_expires_at,
                refresh_token: None,
                session_expires_at: row.expires_at,
            });
        }
        if !just_replaced && generation >= row.generation {
            // Not a token this session ever gave out: refused, the session left alone.
            return Err(ApiError::SessionEnded);
        }
        // A token the session replaced (any generation before the current one): whoever
        // holds the session's tokens is not to be trusted.
        tx.rollback().await?;
        self.end_session(
            row.operator_id,
            session_id,
            SessionEndReason::RefreshTokenReused,
            None,
        )
        .await?;
        Err(ApiError::RefreshTokenReused)
    }

    /// The operator and session a refresh token (current or just replaced) belongs to.
    pub async fn owner_of_refresh(
        &self,
        refresh_token: Option<&str>,
    ) -> Result<Option<(Uuid, Uuid)>, ApiError> {
        let Some((session_id, _, secret)) = refresh_token.and_then(parse_refresh) else {
            return Ok(None);
        };
        let owner: Option<Uuid> = sqlx::query_scalar(
            "select operator_id from operator_sessions
             where session_id = $1 and (refresh_hash = $2 or previous_hash = $2)",
        )
        .bind(session_id)
        .bind(digest(&secret))
        .fetch_optional(&self.pool)
        .await?;
        Ok(owner.map(|operator_id| (operator_id, session_id)))
    }

    /// Ends one session (if still open) and records it.
    pub async fn end_session(
        &self,
        operator_id: Uuid,
        session_id: Uuid,
        reason: SessionEndReason,
        meta: Option<CommandMeta>,
    ) -> Result<bool, ApiError> {
        let ended = sqlx::query(
            "update operator_sessions set ended_at = now()
             where session_id = $1 and operator_id = $2 and ended_at is null",
        )
        .bind(session_id)
        .bind(operator_id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0;
        if ended {
            let meta = meta.unwrap_or_else(|| system_meta(None));
            self.operators
                .handle(
                    &meta,
                    &switchboard_domain::operator::OperatorCommand::SignOut {
                        operator_id,
                        session_id,
                        reason,
                        at: Utc::now(),
                    },
                )
                .await?;
        }
        Ok(ended)
    }

    /// Ends every open session of an operator (but `keep`), each recorded.
    pub async fn end_all_sessions(
        &self,
        operator_id: Uuid,
        keep: Option<Uuid>,
        reason: SessionEndReason,
    ) -> Result<usize, ApiError> {
        let open: Vec<Uuid> = sqlx::query_scalar(
            "select session_id from operator_sessions
             where operator_id = $1 and ended_at is null and session_id is distinct from $2",
        )
        .bind(operator_id)
        .bind(keep)
        .fetch_all(&self.pool)
        .await?;
        let mut ended = 0;
        for session_id in open {
            if self
                .end_session(operator_id, session_id, reason, None)
                .await?
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// The operator who signs in with `email`, if any.
    pub async fn operator_of_email(&self, email: &str) -> Result<Option<Uuid>, ApiError> {
        Ok(
            sqlx::query_scalar("select operator_id from operator_logins where email = $1")
                .bind(normalize_email(email))
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Makes `email` the address `operator_id` signs in with.
    pub async fn claim_email(&self, operator_id: Uuid, email: &str) -> Result<(), ApiError> {
        let email = normalize_email(email);
        let mut tx = self.pool.begin().await?;
        let owner: Option<Uuid> =
            sqlx::query_scalar("select operator_id from operator_logins where email = $1")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
        match owner {
            Some(owner) if owner != operator_id => return Err(ApiError::EmailTaken(email)),
            Some(_) => {}
            None => {
                sqlx::query("delete from operator_logins where operator_id = $1")
                    .bind(operator_id)
                    .execute(&mut *tx)
                    .await?;
                let claimed = sqlx::query(
                    "insert into operator_logins (email, operator_id) values ($1, $2)
                     on conflict do nothing",
                )
                .bind(&email)
                .bind(operator_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Another invitation took it in the meantime.
                if claimed == 0 {
                    return Err(ApiError::EmailTaken(email));
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored hash of an operator's password, with the generation it is of.
    pub async fn password_hash(
        &self,
        operator_id: Uuid,
    ) -> Result<Option<(String, u32)>, ApiError> {
        let row: Option<(String, i32)> = sqlx::query_as(
            "select hash, generation from operator_passwords where operator_id = $1",
        )
        .bind(operator_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(hash, generation)| (hash, u32::try_from(generation).unwrap_or(0))))
    }

    /// Stores the hash of the password of `generation` (never replacing a newer one).
    pub async fn store_password(
        &self,
        operator_id: Uuid,
        hash: &str,
        generation: u32,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "insert into operator_passwords (operator_id, hash, generation, set_at)
             values ($1, $2, $3, now())
             on conflict (operator_id) do update
                 set hash = excluded.hash, generation = excluded.generation, set_at = now()
                 where operator_passwords.generation < excluded.generation",
        )
        .bind(operator_id)
        .bind(hash)
        .bind(i32::try_from(generation).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A session as its client gets it.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub operator_id: Uuid,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    /// The refresh cookie's new value; `None` when the cookie stays as it is.
    pub refresh_token: Option<String>,
    pub session_expires_at: DateTime<Utc>,
}

/// Metadata of a command the sign-in service sends for an unauthenticated caller.
pub fn system_meta(ip: Option<String>) -> CommandMeta {
    CommandMeta {
        command_id: Uuid::now_v7(),
        actor: switchboard_domain::Actor::system(),
        correlation_id: None,
        ip,
    }
}

/// The viewer of an `Authorization` header. A console session token is good while its
/// session is open and its operator active; its roles are the profile's. `operators` reads the
/// profile from the log when the projection has not caught up yet (just after an invitation).
pub async fn authenticate(
    auth: &Auth,
    pool: &PgPool,
    operators: Option<&OperatorHandler>,
    header: Option<&str>,
) -> Result<Viewer, AuthError> {
    let (operator_id, session_id) = match auth.verified_from_header(header)? {
        Verified::Viewer(viewer) => return Ok(viewer),
        Verified::Session {
            operator_id,
            session_id,
        } => (operator_id, session_id),
    };
    session_viewer(pool, operators, operator_id, session_id).await
}

/// The viewer of a console session, whatever its access token's age: open, not revoked, the
/// operator active, with the profile's roles. Sockets check this again while they are open.
pub async fn session_viewer(
    pool: &PgPool,
    operators: Option<&OperatorHandler>,
    operator_id: Uuid,
    session_id: Uuid,
) -> Result<Viewer, AuthError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        roles: Option<Vec<String>>,
        active: Option<bool>,
    }
    let row: Option<Row> = sqlx::query_as(
        "select o.roles, o.active
         from operator_sessions s left join operators o on o.operator_id = s.operator_id
         where s.session_id = $1 and s.operator_id = $2 and s.ended_at is null
           and s.expires_at > now()
           and (o.sessions_revoked_at is null or s.signed_in_at >= o.sessions_revoked_at)",
    )
    .bind(session_id)
    .bind(operator_id)
    .fetch_optional(pool)
    .await
    .map_err(|err| {
        tracing::warn!(error = %err, "could not check a console session");
        AuthError::Unavailable
    })?;
    let Some(row) = row else {
        return Err(AuthError::SessionEnded);
    };
    let roles: Vec<Role> = match (row.roles, row.active) {
        (_, Some(false)) => return Err(AuthError::SessionEnded),
        (Some(roles), _) => roles.iter().filter_map(|r| Role::parse(r)).collect(),
        (None, _) => match operators {
            Some(handler) => match handler.state(operator_id).await {
                Ok(Operator::Registered(state)) if state.active => state.profile.roles,
                Ok(_) => return Err(AuthError::SessionEnded),
                Err(err) => {
                    tracing::warn!(error = %err, "could not read an operator's profile");
                    return Err(AuthError::Unavailable);
                }
            },
            None => Vec::new(),
        },
    };
    Ok(Viewer::Operator {
        id: operator_id,
        roles,
    })
}

/// Checks a new password's length (in characters).
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::PasswordTooWeak {
            min_length: MIN_PASSWORD_CHARS as u64,
            max_length: MAX_PASSWORD_CHARS as u64,
        });
    }
    Ok(())
}

/// argon2id with the crate's defaults (OWASP's m=19 MiB, t=2, p=1), off the async threads.
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Does `password` match `hash`? With no hash, a dummy is checked, so an unknown address takes
/// as long as a wrong password.
pub async fn verify_password(hash: Option<String>, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// The hash of a password nobody has, checked for unknown addresses.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    argon2::Argon2::default()
        .hash_password(
            random_secret().as_bytes(),
            &SaltString::generate(&mut OsRng),
        )
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// How long to hold back the answer to the `failures`-th wrong password in a row: nothing for
/// the first two, then 250 ms doubling up to 4 s.
pub fn slow_down(failures: u32) -> Duration {
    match failures {
        0..=2 => Duration::ZERO,
        n => Duration::from_millis(250u64 << (n - 3).min(4)),
    }
}

/// An e-mail address as stored and looked up.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Sign-in attempts per address, in fixed windows: each attempt takes a slot before its
/// password is checked (so a parallel burst is held to the limit too), and a success gives
/// its slot back.
#[derive(Default)]
pub struct AddressFailures {
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AddressFailures {
    /// Takes a slot for an attempt, or refuses an address that failed too often.
    pub fn attempt(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(address) = address else {
            return Ok(());
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| since.elapsed() < ADDRESS_WINDOW);
        }
        let entry = seen.entry(address).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= ADDRESS_WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= ADDRESS_FAILURES {
            return Err(ApiError::RateLimited {
                retry_after_secs: (ADDRESS_WINDOW.saturating_sub(entry.0.elapsed()))
                    .as_secs()
                    .max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }

    /// The attempt succeeded: its slot is given back.
    pub fn succeeded(&self, address: Option<IpAddr>) {
        let Some(address) = address else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = seen.get_mut(&address) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

/// The cookies and headers sign-in reads from a request (put into the GraphQL request's data).
#[derive(Debug, Clone, Default)]
pub struct SessionCookies {
    pub refresh: Option<String>,
    pub csrf_cookie: Option<String>,
    pub csrf_header: Option<String>,
    pub user_agent: Option<String>,
    /// The request came from a page of another origin.
    pub foreign_origin: bool,
}

impl SessionCookies {
    pub fn from_headers(headers: &axum::http::HeaderMap, foreign_origin: bool) -> Self {
        use axum::http::header;
        let mut cookies = SessionCookies {
            csrf_header: headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            foreign_origin,
            ..Default::default()
        };
        for value in headers.get_all(header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                // The first of a name: browsers send the most specific path first.
                match name.trim() {
                    REFRESH_COOKIE if cookies.refresh.is_none() => {
                        cookies.refresh = Some(value.trim().to_owned())
                    }
                    CSRF_COOKIE if cookies.csrf_cookie.is_none() => {
                        cookies.csrf_cookie = Some(value.trim().to_owned())
                    }
                    _ => {}
                }
            }
        }
        cookies
    }

    /// The request proves it comes from the console: same origin, and the CSRF header equals
    /// the cookie (which only the console's pages can read).
    pub fn check_csrf(&self) -> Result<(), ApiError> {
        match (&self.csrf_cookie, &self.csrf_header) {
            (Some(cookie), Some(header))
                if !self.foreign_origin
                    && !cookie.is_empty()
                    && constant_time_eq(cookie.as_bytes(), header.as_bytes()) =>
            {
                Ok(())
            }
            _ => Err(ApiError::CsrfRejected),
        }
    }
}

/// The `Set-Cookie` values that hand a session to the browser (or, with `None`, take it away).
pub fn session_cookies(
    refresh: Option<(&str, DateTime<Utc>)>,
    settings: &SignInSettings,
) -> Vec<String> {
    let secure = if settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    match refresh {
        Some((token, expires)) => {
            let max_age = (expires - Utc::now()).num_seconds().max(0);
            vec![
                format!(
                    "{REFRESH_COOKIE}={token}; Path=/graphql; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
                ),
                format!(
                    "{CSRF_COOKIE}={}; Path=/; Max-Age={max_age}; SameSite=Strict{secure}",
                    random_secret()
                ),
            ]
        }
        None => vec![
            format!(
                "{REFRESH_COOKIE}=; Path=/graphql; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
            ),
            format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{secure}"),
        ],
    }
}

/// Mints one-time link tokens with the service's secret, for the notifier's e-mails (which
/// runs where the API may not).
pub fn link_minter(secret: &str) -> impl Fn(Uuid, OperatorLink) -> String + Send + Sync {
    let key = link_key(secret);
    move |operator_id, link| mint_link(&key, operator_id, link)
}

fn link_key(secret: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(b"switchboard operator links v1");
    mac.finalize().into_bytes().to_vec()
}

fn link_mac(key: &[u8], operator_id: Uuid, kind: u8, id: Uuid) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&[kind]);
    mac.update(operator_id.as_bytes());
    mac.update(id.as_bytes());
    mac
}

fn kind_byte(invitation: bool) -> u8 {
    if invitation {
        1
    } else {
        2
    }
}

fn mint_link(key: &[u8], operator_id: Uuid, link: OperatorLink) -> String {
    let invitation = matches!(link, OperatorLink::Invitation(_));
    let mac = link_mac(key, operator_id, kind_byte(invitation), link.id());
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(operator_id.as_bytes());
    bytes.extend_from_slice(link.id().as_bytes());
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn open_link(key: &[u8], token: &str, invitation: bool) -> Option<(Uuid, Uuid)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    if bytes.len() != 64 {
        return None;
    }
    let operator_id = Uuid::from_slice(&bytes[..16]).ok()?;
    let id = Uuid::from_slice(&bytes[16..32]).ok()?;
    link_mac(key, operator_id, kind_byte(invitation), id)
        .verify_slice(&bytes[32..])
        .ok()?;
    Some((operator_id, id))
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// `<session id>.<generation>.<secret>`: the generation counts the rotations, so any token the
/// session replaced is known as such, not only the last one.
fn parse_refresh(token: &str) -> Option<(Uuid, i32, String)> {
    let mut parts = token.trim().splitn(3, '.');
    let session_id = Uuid::parse_str(parts.next()?).ok()?;
    let generation = parts.next()?.parse::<i32>().ok().filter(|g| *g >= 0)?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some((session_id, generation, secret.to_owned()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_only_as_what_they_were_minted_for() {
        let key = link_key(&"s".repeat(32));
        let (operator, id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let token = mint_link(&key, operator, OperatorLink::Invitation(id));
        assert_eq!(open_link(&key, &token, true), Some((operator, id)));
        assert_eq!(open_link(&key, &token, false), None, "not a reset link");
        assert_eq!(open_link(&link_key(&"t".repeat(32)), &token, true), None);
        let mut tampered = token.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open_link(&key, std::str::from_utf8(&tampered).unwrap(), true),
            None
        );
        assert_eq!(open_link(&key, "not a token", true), None);
    }

    #[test]
    fn refresh_tokens_and_passwords_are_checked() {
        let session = Uuid::from_u128(7);
        assert_eq!(
            parse_refresh(&format!("{session}.3.abc")),
            Some((session, 3, "abc".into()))
        );
        assert_eq!(parse_refresh("nonsense"), None);
        assert_eq!(parse_refresh(&format!("{session}.abc")), None);
        assert_eq!(parse_refresh(&format!("{session}.-1.abc")), None);
        assert_eq!(parse_refresh(&format!("{session}.2.")), None);
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert_eq!(slow_down(2), Duration::ZERO);
        assert_eq!(slow_down(3), Duration::from_millis(250));
        assert_eq!(slow_down(30), Duration::from_secs(4));
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(hash.clone()), "correct horse battery").await);
        assert!(!verify_password(Some(hash), "wrong horse battery").await);
        assert!(!verify_password(None, "anything at all").await);
    }

    #[test]
    fn csrf_needs_the_header_equal_to_the_cookie_from_the_same_origin() {
        let mut cookies = SessionCookies {
            csrf_cookie: Some("abc".into()),
            csrf_header: Some("abc".into()),
            ..Default::default()
        };
        assert!(cookies.check_csrf().is_ok());
        cookies.foreign_origin = true;
        assert!(cookies.check_csrf().is_err());
        cookies.foreign_origin = false;
        cookies.csrf_header = Some("abd".into());
        assert!(cookies.check_csrf().is_err());
        cookies.csrf_header = None;
        assert!(cookies.check_csrf().is_err());
    }
}
