//! Visitor identity (SPEC SEC-1): a site that knows its signed-in user passes the user's id
//! and `identityHash` = hex HMAC-SHA256(user id, the inbox's identity secret). A verified user
//! is one contact across visits and devices: their contact id is derived from the inbox and
//! the user id, so two devices starting at once name the same contact without a lookup table.
//!
//! The secret is kept in `inbox_identity_secrets`, never in the log (the log only records that
//! it was rotated); it is shown to the admin once, when issued.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// Namespace of the contact ids derived from an inbox and a site's user id.
const CONTACT_NAMESPACE: Uuid = Uuid::from_u128(0x9d3c_51a0_7e42_4b8f_a0c6_2e7b_4f19_d385);

/// The longest user id a site may pass, in bytes.
pub const MAX_USER_ID_BYTES: usize = 255;

/// How many times a user may be erased and come back: each return after an erasure is a new
/// contact (the erased one's key is gone for good), derived with the next generation.
const MAX_GENERATIONS: u32 = 32;

/// A new identity secret: 256 random bits, hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("sbi_{}", hex::encode(bytes))
}

/// The identity hash a site computes for `user_id` with `secret`, as hex (what its server
/// puts in the page beside the user id).
pub fn identity_hash(secret: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Does `hash` (hex, either case) prove `user_id` with `secret`? Compared in constant time.
pub fn verifies(secret: &str, user_id: &str, hash: &str) -> bool {
    let Ok(given) = hex::decode(hash.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(user_id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Stores (or replaces) an inbox's identity secret.
pub async fn put_secret(pool: &PgPool, inbox_id: Uuid, secret: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into inbox_identity_secrets (inbox_id, secret) values ($1, $2)
         on conflict (inbox_id) do update set secret = excluded.secret, rotated_at = now()",
    )
    .bind(inbox_id)
    .bind(secret)
    .execute(pool)
    .await?;
    Ok(())
}

/// The inbox's identity secret, if an admin issued one.
pub async fn secret(pool: &PgPool, inbox_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select secret from inbox_identity_secrets where inbox_id = $1")
        .bind(inbox_id)
        .fetch_optional(pool)
        .await
}

/// Checks the claim that the visitor is the site's user `user_id`, and answers their contact
/// id: derived from the inbox and the user id, the first generation not erased (GDPR-2).
pub async fn verified_contact(
    pool: &PgPool,
    inbox_id: Uuid,
    user_id: &str,
    hash: &str,
) -> Result<Uuid, ApiError> {
    let user_id = user_id.trim();
    if user_id.is_empty()
        || user_id.len() > MAX_USER_ID_BYTES
        || user_id.chars().any(char::is_control)
    {
        return Err(ApiError::InvalidArgument {
            argument: "user.id",
            reason: format!("a user id is 1 to {MAX_USER_ID_BYTES} bytes of printable text"),
        });
    }
    let secret = secret(pool, inbox_id)
        .await?
        .ok_or(ApiError::IdentityNotConfigured)?;
    if !verifies(&secret, user_id, hash) {
        return Err(ApiError::IdentityNotVerified);
    }
    for generation in 0..MAX_GENERATIONS {
        let contact_id = contact_id(inbox_id, user_id, generation);
        if !switchboard_commands::seal::is_erased(pool, contact_id).await? {
            return Ok(contact_id);
        }
    }
    Err(ApiError::ContactErased(contact_id(
        inbox_id,
        user_id,
        MAX_GENERATIONS - 1,
    )))
}

/// The contact id of the site's user `user_id` in `inbox_id`, for the `generation`-th time
/// they are known (0 until they are first erased).
fn contact_id(inbox_id: Uuid, user_id: &str, generation: u32) -> Uuid {
    // The generation names a namespace of its own, and the user id comes last, whole: no
    // user id can spell another's id at another generation (`42#1` is not `42` erased once).
    let namespace = Uuid::new_v5(&CONTACT_NAMESPACE, &generation.to_be_bytes());
    let mut name = inbox_id.as_bytes().to_vec();
    name.extend_from_slice(user_id.as_bytes());
    Uuid::new_v5(&namespace, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_user_with_its_secret() {
        let hash = identity_hash("s3cret", "user-42");
        // RFC 4231-style known answer, computed independently (Python's hmac module).
        assert_eq!(
            identity_hash("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(verifies("s3cret", "user-42", &hash));
        assert!(verifies("s3cret", "user-42", &hash.to_uppercase()));
        assert!(!verifies("s3cret", "user-43", &hash));
        assert!(!verifies("other", "user-42", &hash));
        assert!(!verifies("s3cret", "user-42", "not hex"));
        assert!(!verifies("s3cret", "user-42", &hash[..10]));
    }

    #[test]
    fn contact_ids_are_per_inbox_user_and_generation() {
        let inbox = Uuid::from_u128(1);
        assert_eq!(contact_id(inbox, "42", 0), contact_id(inbox, "42", 0));
        assert_ne!(contact_id(inbox, "42", 0), contact_id(inbox, "42", 1));
        assert_ne!(
            contact_id(inbox, "42", 0),
            contact_id(Uuid::from_u128(2), "42", 0)
        );
        assert_ne!(contact_id(inbox, "42", 0), contact_id(inbox, "43", 0));
        // No user id is another's at another generation.
        assert_ne!(contact_id(inbox, "42", 1), contact_id(inbox, "42#1", 0));
        assert_ne!(contact_id(inbox, "42", 1), contact_id(inbox, "42/1", 0));
    }
}
