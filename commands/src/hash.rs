//! The per-stream hash chain (AUD-2): each event's hash covers its content and the hash of
//! the event before it in its stream, so changing or removing any event breaks every hash
//! after it.
//!
//! The hash is computed here, in Rust, over a canonical byte form (length-prefixed fields,
//! JSON with sorted keys), never over PostgreSQL's text rendering, so `replay verify` can
//! recompute it from what it reads without trusting the database to print JSON the same way.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Everything the hash covers: all columns of an event except its global position and
/// transaction id, which the database assigns.
pub struct HashedFields<'a> {
    pub stream_id: Uuid,
    pub stream_type: &'a str,
    pub stream_version: i32,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub schema_version: i16,
    pub payload: &'a Value,
    pub metadata: &'a Value,
    pub recorded_at: DateTime<Utc>,
}

/// SHA-256 over a domain-separation tag, `prev_hash` and the fields, each length-prefixed.
pub fn event_hash(prev_hash: Option<&[u8]>, fields: &HashedFields<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut put = |bytes: &[u8]| {
        hasher.update((bytes.len() as u32).to_be_bytes());
        hasher.update(bytes);
    };
    put(b"switchboard.event.v1");
    put(prev_hash.unwrap_or_default());
    put(fields.stream_id.as_bytes());
    put(fields.stream_type.as_bytes());
    put(&fields.stream_version.to_be_bytes());
    put(fields.event_id.as_bytes());
    put(fields.event_type.as_bytes());
    put(&fields.schema_version.to_be_bytes());
    put(&canonical_json(fields.payload));
    put(&canonical_json(fields.metadata));
    put(&fields.recorded_at.timestamp_micros().to_be_bytes());
    hasher.finalize().into()
}

/// JSON with object keys sorted and no insignificant white space. Independent of whether
/// serde_json's `preserve_order` feature is on somewhere in the build.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar `Value` into a Vec cannot fail.
    serde_json::to_writer(&mut *out, value).expect("scalars serialize");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [true, null, "x"], "c": 1.5}});
        assert_eq!(
            String::from_utf8(canonical_json(&value)).unwrap(),
            r#"{"a":{"c":1.5,"d":[true,null,"x"]},"b":1}"#
        );
    }

    #[test]
    fn hash_depends_on_predecessor_and_content() {
        let payload = json!({"body": "hi"});
        let metadata = json!({});
        let fields = HashedFields {
            stream_id: Uuid::from_u128(1),
            stream_type: "conversation",
            stream_version: 1,
            event_id: Uuid::from_u128(2),
            event_type: "MessagePosted",
            schema_version: 1,
            payload: &payload,
            metadata: &metadata,
            recorded_at: DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap(),
        };
        let first = event_hash(None, &fields);
        assert_eq!(
            hex(&first),
            hex(&event_hash(None, &fields)),
            "deterministic"
        );
        assert_ne!(first, event_hash(Some(&[0u8; 32]), &fields));
        let other_payload = json!({"body": "hI"});
        let changed = HashedFields {
            payload: &other_payload,
            ..fields
        };
        assert_ne!(first, event_hash(None, &changed));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
