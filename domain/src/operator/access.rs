//! How operators get in (SPEC OPS-1, the console's sign-in): the values the sign-in events
//! carry and the policy the operator decider applies to them. A leaf: it imports no events.
//!
//! What is decided here and what is not: whether a password matched is checked by the API
//! (argon2id, against a hash kept outside the log); the decider is told the outcome and decides
//! what it means for the account: a session, a failure counted, a lock. Invitation and reset
//! links name an invitation or reset id; the decider knows which one is current and until
//! when, so a used, replaced or expired link is refused here, once, for every node.

use chrono::Duration;

/// Consecutive failed sign-ins after which an account is locked for [`LOCK_FOR`].
pub const LOCK_AFTER_FAILURES: u32 = 5;

/// How long a lock lasts. A password reset by e-mail lifts it (it proves the address).
pub fn lock_for() -> Duration {
    Duration::minutes(15)
}

/// How long an invitation link may be used.
pub fn invitation_lifetime() -> Duration {
    Duration::days(7)
}

/// How long a password-reset link may be used.
pub fn reset_lifetime() -> Duration {
    Duration::hours(1)
}

text_enum! {
    /// How a session began.
    pub enum SignInMethod {
        /// E-mail and password.
        Password = "password",
        /// The invitee set their password from the invitation link.
        Invitation = "invitation",
        /// A new password from a reset link.
        PasswordReset = "password_reset",
    }
}

text_enum! {
    /// Why a sign-in was refused (an auditor reads these; the caller is only told "wrong e-mail
    /// or password", "locked" or "deactivated").
    pub enum SignInFailure {
        WrongPassword = "wrong_password",
        /// The account is locked; the attempt was not counted.
        Locked = "locked",
        Deactivated = "deactivated",
        /// Invited, but the password was never set.
        NoPassword = "no_password",
    }
}

text_enum! {
    /// Why a session ended.
    pub enum SessionEndReason {
        /// The operator signed out.
        SignedOut = "signed_out",
        /// A refresh token was used again after it had been replaced: whoever holds the
        /// session's tokens is not to be trusted, so the session ends.
        RefreshTokenReused = "refresh_token_reused",
        /// An admin deactivated the operator.
        Deactivated = "deactivated",
        /// The password was changed by a reset link: every other session ends.
        PasswordReset = "password_reset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_agrees_with_as_str() {
        fn check<T: serde::Serialize + Copy>(all: &[T], text: fn(T) -> &'static str) {
            for &v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), text(v));
            }
        }
        check(SignInMethod::ALL, SignInMethod::as_str);
        check(SignInFailure::ALL, SignInFailure::as_str);
        check(SessionEndReason::ALL, SessionEndReason::as_str);
    }
}
