//! Validated value objects. Constructors check; a value that exists is valid, so the decider
//! and everything after it never re-check.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The default limit for a message body, in characters (Unicode scalar values), per SPEC CONV-3.
pub const DEFAULT_MAX_BODY_CHARS: usize = 4000;

/// The longest contact name, e-mail, phone or subject we accept, in characters.
pub const MAX_SHORT_TEXT_CHARS: usize = 255;

/// Why a piece of input was refused. Each variant names the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    /// The message body is empty or only white space (and carries no attachments).
    #[error("the message body is empty")]
    EmptyBody,
    /// A required text field is empty or only white space.
    #[error("the field `{field}` is empty")]
    Empty { field: &'static str },
    /// A field is not in the expected format.
    #[error("the field `{field}` must look like {expected}")]
    Malformed {
        field: &'static str,
        expected: &'static str,
    },
    /// The message body is longer than the configured limit.
    #[error("the message body has {actual} characters; the limit is {limit}")]
    BodyTooLong { actual: usize, limit: usize },
    /// A text field contains a NUL or another control character PostgreSQL or a UI can't hold.
    #[error("the field `{field}` contains a control character")]
    ControlCharacter { field: &'static str },
    /// A short text field (name, subject, …) is longer than [`MAX_SHORT_TEXT_CHARS`].
    #[error("the field `{field}` has {actual} characters; the limit is {limit}")]
    TooLong {
        field: &'static str,
        actual: usize,
        limit: usize,
    },
}

/// Control characters other than tab, newline and carriage return are refused: NUL cannot be
/// stored in PostgreSQL's jsonb at all, and the rest only ever arrive by mistake or malice.
fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// CONV-7: a message needs a text or at least one attachment. The one statement of the rule:
/// [`MessageBody::for_message`] parses a message's text by it, and the conversation's decider
/// checks every message against it.
pub fn has_content(body: &MessageBody, attachments: usize) -> bool {
    !body.is_empty() || attachments > 0
}

/// A message body: not blank, at most `limit` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    /// Checks `raw` against the rules of CONV-3. The text is kept as given (not trimmed):
    /// leading spaces can be meaningful in a pasted snippet.
    pub fn parse(raw: &str, limit: usize) -> Result<Self, InvalidInput> {
        if raw.trim().is_empty() {
            return Err(InvalidInput::EmptyBody);
        }
        let actual = raw.chars().count();
        if actual > limit {
            return Err(InvalidInput::BodyTooLong { actual, limit });
        }
        if has_forbidden_control(raw) {
            return Err(InvalidInput::ControlCharacter { field: "body" });
        }
        Ok(Self(raw.to_owned()))
    }

    /// Like [`MessageBody::parse`], but a blank text is an empty body: for a message that
    /// carries attachments, which the decider checks (CONV-7).
    pub fn parse_or_empty(raw: &str, limit: usize) -> Result<Self, InvalidInput> {
        if raw.trim().is_empty() {
            return Ok(Self(String::new()));
        }
        Self::parse(raw, limit)
    }

    /// A message's text beside `attachments` attachments: blank only when there is one at
    /// least ([`has_content`]); otherwise as [`MessageBody::parse`].
    pub fn for_message(raw: &str, attachments: usize, limit: usize) -> Result<Self, InvalidInput> {
        let body = Self::parse_or_empty(raw, limit)?;
        match has_content(&body, attachments) {
            true => Ok(body),
            false => Err(InvalidInput::EmptyBody),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short, optional, single-purpose text (a name, a subject, an e-mail as typed): trimmed,
/// empty becomes `None`, at most [`MAX_SHORT_TEXT_CHARS`], no control characters.
pub fn short_text(field: &'static str, raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let actual = text.chars().count();
    if actual > MAX_SHORT_TEXT_CHARS {
        return Err(InvalidInput::TooLong {
            field,
            actual,
            limit: MAX_SHORT_TEXT_CHARS,
        });
    }
    if has_forbidden_control(text) {
        return Err(InvalidInput::ControlCharacter { field });
    }
    Ok(Some(text.to_owned()))
}

/// An e-mail address someone is reached at (an operator's, INT-3): a [`short_text`] of the
/// form `local@domain`, without white space, the domain with a dot. Deliberately loose (the
/// mail server has the last word) but enough to catch a typo before anything is sent.
pub fn email(raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
    let Some(text) = short_text("email", raw)? else {
        return Ok(None);
    };
    let well_formed = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !well_formed {
        return Err(InvalidInput::Malformed {
            field: "email",
            expected: "an e-mail address (name@example.com)",
        });
    }
    Ok(Some(text))
}

/// A phone number in E.164 (`+380441234567`), checked against libphonenumber's metadata
/// (CALL-1). A number without a country code is read in `default_region` (an ISO 3166 code
/// such as `UA`), or refused when there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str, default_region: Option<&str>) -> Result<Self, InvalidInput> {
        let malformed = InvalidInput::Malformed {
            field: "phone",
            expected: "a phone number with its country code, such as +380441234567",
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidInput::Empty { field: "phone" });
        }
        let region = default_region.and_then(|r| {
            r.trim()
                .to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .ok()
        });
        let number = phonenumber::parse(region, raw).map_err(|_| malformed.clone())?;
        if !phonenumber::is_valid(&number) {
            return Err(malformed);
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 50;

/// A conversation tag (CONV-9): trimmed, lower-case, 1 to [`MAX_TAG_CHARS`] characters, no
/// control characters. `Billing ` and `billing` are the same tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() {
            return Err(InvalidInput::Empty { field: "tag" });
        }
        let actual = tag.chars().count();
        if actual > MAX_TAG_CHARS {
            return Err(InvalidInput::TooLong {
                field: "tag",
                actual,
                limit: MAX_TAG_CHARS,
            });
        }
        if has_forbidden_control(&tag) {
            return Err(InvalidInput::ControlCharacter { field: "tag" });
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_needs_a_text_or_an_attachment() {
        assert_eq!(
            MessageBody::for_message(" \n", 0, 10),
            Err(InvalidInput::EmptyBody)
        );
        let blank = MessageBody::for_message(" \n", 1, 10).unwrap();
        assert!(blank.is_empty());
        assert!(has_content(&blank, 1));
        assert!(!has_content(&blank, 0));
        assert_eq!(
            MessageBody::for_message("hi", 0, 10).unwrap().as_str(),
            "hi"
        );
        assert_eq!(
            MessageBody::for_message("far too long", 1, 3),
            Err(InvalidInput::BodyTooLong {
                actual: 12,
                limit: 3
            })
        );
    }

    #[test]
    fn body_rules() {
        let cases: &[(&str, usize, Result<(), InvalidInput>)] = &[
            ("hello", 10, Ok(())),
            ("", 10, Err(InvalidInput::EmptyBody)),
            (" \n\t ", 10, Err(InvalidInput::EmptyBody)),
            ("0123456789", 10, Ok(())),
            (
                "0123456789a",
                10,
                Err(InvalidInput::BodyTooLong {
                    actual: 11,
                    limit: 10,
                }),
            ),
            // Characters, not bytes: ten Cyrillic letters are twenty bytes.
            ("приветмир!", 10, Ok(())),
            (
                "a\u{0}b",
                10,
                Err(InvalidInput::ControlCharacter { field: "body" }),
            ),
            ("line one\nline two\ttab", 40, Ok(())),
        ];
        for (raw, limit, expected) in cases {
            let got = MessageBody::parse(raw, *limit).map(|_| ());
            assert_eq!(&got, expected, "body {raw:?} limit {limit}");
        }
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            Phone::parse("+38 (044) 123-45-67", None).unwrap().as_str(),
            "+380441234567"
        );
        assert_eq!(
            Phone::parse("044 123 45 67", Some("ua")).unwrap().as_str(),
            "+380441234567"
        );
        assert!(matches!(
            Phone::parse("044 123 45 67", None),
            Err(InvalidInput::Malformed { field: "phone", .. })
        ));
        assert!(matches!(
            Phone::parse("+1 555", None),
            Err(InvalidInput::Malformed { .. })
        ));
        assert_eq!(
            Phone::parse("  ", None),
            Err(InvalidInput::Empty { field: "phone" })
        );
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(Tag::parse("  Billing ").unwrap().as_str(), "billing");
        assert_eq!(Tag::parse(" "), Err(InvalidInput::Empty { field: "tag" }));
        assert_eq!(
            Tag::parse(&"t".repeat(51)),
            Err(InvalidInput::TooLong {
                field: "tag",
                actual: 51,
                limit: 50
            })
        );
    }

    #[test]
    fn short_text_trims_and_limits() {
        assert_eq!(short_text("name", Some("  Ann ")), Ok(Some("Ann".into())));
        assert_eq!(short_text("name", Some("   ")), Ok(None));
        assert_eq!(short_text("name", None), Ok(None));
        let long = "x".repeat(256);
        assert_eq!(
            short_text("name", Some(&long)),
            Err(InvalidInput::TooLong {
                field: "name",
                actual: 256,
                limit: 255
            })
        );
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert_eq!(
            email(Some(" anna@example.com ")).unwrap(),
            Some("anna@example.com".to_owned())
        );
        assert_eq!(email(Some("  ")).unwrap(), None);
        for bad in [
            "anna",
            "anna@",
            "@example.com",
            "a@b@c.com",
            "a b@c.com",
            "a@example.",
        ] {
            assert!(
                matches!(
                    email(Some(bad)),
                    Err(InvalidInput::Malformed { field: "email", .. })
                ),
                "{bad}"
            );
        }
    }
}
