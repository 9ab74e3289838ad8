//! Crypto-shredding (GDPR-2): contacts' personal data is sealed in the log with a key per
//! contact, kept in `contact_keys` apart from the log; destroying the key erases the data
//! without touching the log.
//!
//! - **Sealing** (on append, [`seal`]): each value at a pointer the domain names
//!   ([`switchboard_domain::DomainEvent::personal_data`], plus a contact's IP in the
//!   metadata) is replaced by the string `sealed:v1:<base64(nonce ‖ AES-256-GCM ciphertext)>`
//!   of its JSON. The associated data binds the ciphertext to its event id and pointer, so a
//!   sealed value cannot be moved to another event or field. The pointers and the contact go
//!   into the metadata (`sealed`, `data_subject`), so readers know what to open. The hash
//!   chain is computed over what is stored, so it verifies before and after erasure.
//! - **Opening** (on every read of the log, [`open`]): the read joins the contact's key and
//!   each sealed value is decrypted back; without a key (erased) it reads as
//!   [`ERASED`]. Projections, the relay, exports and the GraphQL log reads all see opened
//!   events; `replay verify` reads what is stored.
//!
//! AES-256-GCM comes from RustCrypto's `aes-gcm` (audited, constant-time, widely used): a
//! hand-written cipher is not an option. Nonces are 96 random bits per value: at the volumes
//! of one contact's data the chance of a repeat is negligible.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;
use sqlx::PgPool;
use switchboard_domain::contact::{sealed_pointers, value_at};
use switchboard_domain::envelope::RecordedEvent;
use uuid::Uuid;

/// What a sealed value starts with.
const PREFIX: &str = "sealed:v1:";

/// What a sealed value that fails to open (wrong key, edited ciphertext) reads as. `replay
/// verify` names the edited event.
pub const UNREADABLE: &str = "[unreadable]";

/// A contact's 256-bit key.
#[derive(Clone)]
pub struct ContactKey(Key<Aes256Gcm>);

impl std::fmt::Debug for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactKey(..)")
    }
}

impl ContactKey {
    fn generate() -> Self {
        ContactKey(Aes256Gcm::generate_key(OsRng))
    }

    /// The key stored in `contact_keys.key`; `None` unless it is 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (bytes.len() == 32).then(|| ContactKey(*Key::<Aes256Gcm>::from_slice(bytes)))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// How many contacts' keys a process keeps in memory.
const CACHED_KEYS: usize = 16_384;

/// How long a cached key is used before it is read again: how long, at most, another process
/// goes on accepting the writes of a contact erased elsewhere.
const KEY_TTL: Duration = Duration::from_secs(60);

/// Contacts' keys: made on first use, cached, destroyed on erasure.
///
/// The cache is per process. An erasure in this process takes effect here at once; one in
/// another process cannot reach this cache, so this one may go on sealing that contact's new
/// data with the destroyed key for up to [`KEY_TTL`]. Nothing is revealed by that: the key is
/// gone from the database, so no reader can open what it seals, and it reads as erased.
#[derive(Debug)]
pub struct Keyring {
    pool: PgPool,
    cache: Mutex<HashMap<Uuid, (ContactKey, Instant)>>,
    /// Bumped by every erasure: a key read before one is not cached after it.
    erasures: AtomicU64,
}

impl Keyring {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Mutex::new(HashMap::new()),
            erasures: AtomicU64::new(0),
        }
    }

    /// The contact's key, made and stored on first use; `None` once the contact is erased.
    pub async fn key_for(&self, contact_id: Uuid) -> Result<Option<ContactKey>, sqlx::Error> {
        if let Some((key, read_at)) = self.lock().get(&contact_id) {
            if read_at.elapsed() < KEY_TTL {
                return Ok(Some(key.clone()));
            }
        }
        let generation = self.erasures.load(Ordering::Acquire);
        let read_at = Instant::now();
        let fresh = ContactKey::generate();
        // Two statements: when another writer inserts the same contact concurrently, this
        // insert waits and does nothing, and only a new snapshot sees that writer's key.
        sqlx::query(
            "insert into contact_keys (contact_id, key) values ($1, $2) on conflict do nothing",
        )
        .bind(contact_id)
        .bind(fresh.bytes())
        .execute(&self.pool)
        .await?;
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("select key from contact_keys where contact_id = $1")
                .bind(contact_id)
                .fetch_one(&self.pool)
                .await?;
        let key = stored.as_deref().and_then(ContactKey::from_bytes);
        if let Some(key) = &key {
            let mut cache = self.lock();
            if self.erasures.load(Ordering::Acquire) == generation {
                if cache.len() >= CACHED_KEYS {
                    cache.clear();
                }
                cache.insert(contact_id, (key.clone(), read_at));
            }
        }
        Ok(key)
    }

    /// Destroys the contact's key for good (GDPR-2); a contact without a key gets the
    /// erasure record, so none is ever made for them. Idempotent.
    pub async fn destroy(&self, contact_id: Uuid) -> Result<(), sqlx::Error> {
        self.erasures.fetch_add(1, Ordering::AcqRel);
        self.lock().remove(&contact_id);
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(switchboard_domain::contact::ERASURE_FENCE)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into contact_keys (contact_id, key, erased_at) values ($1, null, now())
             on conflict (contact_id) do update
                set key = null, erased_at = coalesce(contact_keys.erased_at, now())",
        )
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // A read that began before the update may have cached the key meanwhile.
        self.erasures.fetch_add(1, Ordering::AcqRel);
        self.lock().remove(&contact_id);
        Ok(())
    }

    /// Whether the contact was erased.
    pub async fn is_erased(&self, contact_id: Uuid) -> Result<bool, sqlx::Error> {
        is_erased(&self.pool, contact_id).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (ContactKey, Instant)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the contact was erased (their key destroyed).
pub async fn is_erased(pool: &PgPool, contact_id: Uuid) -> Result<bool, sqlx::Error> {
    let erased: Option<bool> =
        sqlx::query_scalar("select key is null from contact_keys where contact_id = $1")
            .bind(contact_id)
            .fetch_optional(pool)
            .await?;
    Ok(erased.unwrap_or(false))
}

/// Seals the values at `pointers` (into `{"payload": …, "metadata": …}`) in place; pointers
/// to missing or null values are skipped. Returns the pointers sealed.
pub fn seal(
    key: &ContactKey,
    event_id: Uuid,
    payload: &mut Value,
    metadata: &mut Value,
    pointers: &[String],
) -> Vec<String> {
    let cipher = Aes256Gcm::new(&key.0);
    let mut sealed = Vec::new();
    for pointer in pointers {
        let Some(value) = value_at(payload, metadata, pointer) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let plaintext = serde_json::to_vec(value).expect("JSON values serialize");
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(event_id, pointer);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encrypts any message under 64 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        *value = Value::String(format!("{PREFIX}{}", BASE64.encode(bytes)));
        sealed.push(pointer.clone());
    }
    sealed
}

/// Opens `event`'s sealed values with the key as `contact_keys` stores it (`None`: erased).
pub fn open_with_stored_key(event: &mut RecordedEvent, key: Option<&[u8]>) {
    let key = key.and_then(ContactKey::from_bytes);
    open(event, key.as_ref());
}

/// Opens `event`'s sealed values in place with `key`, or marks them [`ERASED`] without one.
pub fn open(event: &mut RecordedEvent, key: Option<&ContactKey>) {
    let pointers = sealed_pointers(event);
    let Some(key) = key else {
        switchboard_domain::contact::erase_sealed(event);
        return;
    };
    let cipher = Aes256Gcm::new(&key.0);
    let event_id = event.event_id;
    for pointer in &pointers {
        let Some(value) = value_at(&mut event.payload, &mut event.metadata, pointer) else {
            continue;
        };
        *value = open_value(&cipher, event_id, pointer, value)
            .unwrap_or_else(|| Value::String(UNREADABLE.to_owned()));
    }
}

fn open_value(cipher: &Aes256Gcm, event_id: Uuid, pointer: &str, value: &Value) -> Option<Value> {
    let bytes = BASE64.decode(value.as_str()?.strip_prefix(PREFIX)?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let aad = associated_data(event_id, pointer);
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()?;
    serde_json::from_slice(&plaintext).ok()
}

fn associated_data(event_id: Uuid, pointer: &str) -> Vec<u8> {
    let mut aad = event_id.as_bytes().to_vec();
    aad.extend_from_slice(pointer.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_domain::contact::ERASED;

    fn event(payload: Value, metadata: Value) -> RecordedEvent {
        RecordedEvent {
            global_position: 1,
            stream_id: Uuid::from_u128(1),
            stream_type: "conversation".into(),
            stream_version: 1,
            event_id: Uuid::from_u128(2),
            event_type: "MessagePosted".into(),
            schema_version: 2,
            payload,
            metadata,
            recorded_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn sealed_values_open_with_the_key_and_read_as_erased_without_it() {
        let key = ContactKey::generate();
        let mut payload = json!({ "body": "Моє ім'я Олена", "subject": null, "n": 1 });
        let mut metadata = json!({ "ip": "203.0.113.5" });
        let pointers = [
            "/payload/body",
            "/payload/subject",
            "/payload/missing",
            "/metadata/ip",
        ]
        .map(String::from);
        let sealed = seal(
            &key,
            Uuid::from_u128(2),
            &mut payload,
            &mut metadata,
            &pointers,
        );
        assert_eq!(sealed, ["/payload/body", "/metadata/ip"]);
        let stored = payload["body"].as_str().unwrap();
        assert!(stored.starts_with(PREFIX), "{stored}");
        assert!(!stored.contains("Олена"));
        assert_eq!(payload["subject"], Value::Null);
        metadata["sealed"] = json!(sealed);

        let mut opened = event(payload.clone(), metadata.clone());
        open(&mut opened, Some(&key));
        assert_eq!(
            opened.payload,
            json!({ "body": "Моє ім'я Олена", "subject": null, "n": 1 })
        );
        assert_eq!(opened.metadata["ip"], "203.0.113.5");

        let mut erased = event(payload.clone(), metadata.clone());
        open(&mut erased, None);
        assert_eq!(erased.payload["body"], ERASED);
        assert_eq!(erased.metadata["ip"], ERASED);

        // Another key, or the value moved to another event, does not open.
        let mut wrong = event(payload.clone(), metadata.clone());
        open(&mut wrong, Some(&ContactKey::generate()));
        assert_eq!(wrong.payload["body"], UNREADABLE);
        let mut moved = event(payload, metadata);
        moved.event_id = Uuid::from_u128(3);
        open(&mut moved, Some(&key));
        assert_eq!(moved.payload["body"], UNREADABLE);
    }
}
