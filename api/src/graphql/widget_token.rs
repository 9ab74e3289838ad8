//! The inbox's widget token (SEC-1): admins are given it when they create an inbox or rotate
//! its token ([`super::admin`]); visitors present it to start a conversation
//! ([`super::visitor`]). The log keeps only its hash.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A new widget token: 256 random bits (two v4 UUIDs from the OS's generator), prefixed so
/// that a leaked one is recognisable.
pub fn new_widget_token() -> String {
    format!("sbw_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// What the log keeps of a widget token.
pub fn widget_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
