//! What an inbox asks of the visitors who start conversations in it (SPEC INBOX-1, SEC-1):
//! the details they must give before chatting, and whether a site's signed-in users must
//! prove who they are. The details themselves are checked by `values` (`email`, `Phone`).
//!
//! A leaf like `settings.rs`, which carries these values; the proof itself (an HMAC with the
//! inbox's identity secret) is computed by the API, which holds the secret: the log never
//! does.

use crate::values::InvalidInput;

text_enum! {
    /// A detail the pre-chat form asks for (INBOX-1).
    pub enum VisitorField {
        Name = "name",
        Email = "email",
        Phone = "phone",
    }
}

text_enum! {
    /// Whether visitors must be a verified user of the site (SEC-1). A visitor who claims to
    /// be a user must always prove it; this says whether anonymous visitors may chat at all.
    #[derive(Default)]
    pub enum VisitorIdentity {
        /// Anonymous visitors chat; a claimed user is verified by the identity hash.
        #[default]
        Optional = "optional",
        /// Only verified users of the site chat.
        Required = "required",
    }
}

/// The details a visitor gives when they start, checked against what the inbox requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitorDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl VisitorDetails {
    /// Refuses the first required detail that is missing, naming its field (`EMPTY_FIELD`).
    pub fn require(&self, required: &[VisitorField]) -> Result<(), InvalidInput> {
        for field in required {
            let (given, name) = match field {
                VisitorField::Name => (&self.name, "name"),
                VisitorField::Email => (&self.email, "email"),
                VisitorField::Phone => (&self.phone, "phone"),
            };
            if given.is_none() {
                return Err(InvalidInput::Empty { field: name });
            }
        }
        Ok(())
    }
}

/// `fields` without repeats, in a fixed order (name, e-mail, phone).
pub(crate) fn required_fields(fields: &[VisitorField]) -> Vec<VisitorField> {
    [VisitorField::Name, VisitorField::Email, VisitorField::Phone]
        .into_iter()
        .filter(|f| fields.contains(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_missing_required_detail_is_named() {
        let given = VisitorDetails {
            name: Some("Ann".into()),
            email: None,
            phone: None,
        };
        assert_eq!(given.require(&[VisitorField::Name]), Ok(()));
        assert_eq!(
            given.require(&[VisitorField::Name, VisitorField::Email, VisitorField::Phone]),
            Err(InvalidInput::Empty { field: "email" })
        );
        assert_eq!(
            required_fields(&[VisitorField::Phone, VisitorField::Name, VisitorField::Phone]),
            vec![VisitorField::Name, VisitorField::Phone]
        );
    }
}
