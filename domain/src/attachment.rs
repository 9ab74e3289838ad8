//! Attachment rules (CONV-7): which file types an inbox accepts and how large, and how a
//! file's type is told from its first bytes (the type a client claims is never trusted).

use serde::{Deserialize, Serialize};

use crate::values::InvalidInput;

/// The largest attachment any inbox may allow, in bytes: a sanity bound for the setting.
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;

/// The default per-inbox limit, in bytes.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// The most attachments one message carries.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

text_enum! {
    /// The file types attachments may have, by their MIME type.
    pub enum AttachmentType {
        Jpeg = "image/jpeg",
        Png = "image/png",
        Gif = "image/gif",
        Webp = "image/webp",
        Pdf = "application/pdf",
    }
}

impl AttachmentType {
    /// The type the file's first bytes (its magic number) say it is, if it is one we know.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Self::Webp),
            [b'%', b'P', b'D', b'F', b'-', ..] => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// What an inbox accepts as attachments. Construct with [`AttachmentPolicy::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentPolicy {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Accepted types, each once, in [`AttachmentType::ALL`] order.
    pub types: Vec<AttachmentType>,
}

impl Default for AttachmentPolicy {
    /// Images (JPEG, PNG, GIF, WebP) and PDF, up to 10 MiB.
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            types: AttachmentType::ALL.to_vec(),
        }
    }
}

impl AttachmentPolicy {
    pub fn new(max_bytes: u64, types: &[AttachmentType]) -> Result<Self, InvalidInput> {
        if max_bytes == 0 || max_bytes > MAX_ATTACHMENT_BYTES {
            return Err(InvalidInput::Malformed {
                field: "max_attachment_bytes",
                expected: "a size in bytes from 1 to 104857600 (100 MiB)",
            });
        }
        let types = AttachmentType::ALL
            .iter()
            .copied()
            .filter(|t| types.contains(t))
            .collect();
        Ok(Self { max_bytes, types })
    }

    /// Whether a file of this type and size may be attached.
    pub fn check(&self, kind: AttachmentType, size: u64) -> Result<(), AttachmentRefused> {
        if !self.types.contains(&kind) {
            return Err(AttachmentRefused::TypeNotAllowed(kind));
        }
        if size > self.max_bytes {
            return Err(AttachmentRefused::TooLarge {
                size,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentRefused {
    #[error("files of type {} are not accepted in this inbox", .0.as_str())]
    TypeNotAllowed(AttachmentType),
    #[error("the file is not one of the accepted types (JPEG, PNG, GIF, WebP, PDF)")]
    UnknownType,
    #[error("the file is larger than this inbox accepts ({limit} bytes)")]
    TooLarge { size: u64, limit: u64 },
    #[error("the file is empty")]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        let cases: [(&[u8], Option<AttachmentType>); 8] = [
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some(AttachmentType::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\x00\x00", Some(AttachmentType::Png)),
            (b"GIF89a\x01\x00", Some(AttachmentType::Gif)),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", Some(AttachmentType::Webp)),
            (b"%PDF-1.7\n", Some(AttachmentType::Pdf)),
            (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
            (b"<html><script>", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(AttachmentType::sniff(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn the_policy_bounds_type_and_size() {
        let policy =
            AttachmentPolicy::new(1000, &[AttachmentType::Pdf, AttachmentType::Png]).unwrap();
        assert_eq!(policy.types, [AttachmentType::Png, AttachmentType::Pdf]);
        assert_eq!(policy.check(AttachmentType::Pdf, 1000), Ok(()));
        assert_eq!(
            policy.check(AttachmentType::Pdf, 1001),
            Err(AttachmentRefused::TooLarge {
                size: 1001,
                limit: 1000
            })
        );
        assert_eq!(
            policy.check(AttachmentType::Gif, 1),
            Err(AttachmentRefused::TypeNotAllowed(AttachmentType::Gif))
        );
        assert!(AttachmentPolicy::new(0, &[]).is_err());
        assert_eq!(AttachmentPolicy::default().types.len(), 5);
    }
}
