//! Who an operator is (SPEC OPS-1, OPS-2): their profile (name, roles, branch, capacity,
//! e-mail) and whether they are at work (status).
//!
//! A leaf: the operator events carry these values, so this file imports no events and no
//! decider, only roles and the validated values.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::role::{conversation_scope, ConversationScope, Role};
use crate::values::{short_text, InvalidInput};

/// The most conversations anyone may be given at once; a typo guard, not a policy.
pub const MAX_CAPACITY: u16 = 1000;

text_enum! {
    /// Whether an operator is at work (OPS-2). Only `online` operators get conversations
    /// automatically; a new operator is `offline`.
    #[derive(Default)]
    pub enum OperatorStatus {
        Online = "online",
        Away = "away",
        Busy = "busy",
        #[default]
        Offline = "offline",
    }
}

/// Who an operator is. Construct with [`OperatorProfile::new`], which validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorProfile {
    pub name: String,
    /// At least one; each once, in [`Role::ALL`] order.
    pub roles: Vec<Role>,
    /// Where they work; `None` for head office (any branch, and global conversations).
    pub branch_id: Option<Uuid>,
    /// The most conversations auto-assignment gives them at once; `None`: the inbox's default.
    pub capacity: Option<u16>,
    /// Where call-back notifications reach them by e-mail (CALL-2, INT-3); absent in
    /// profiles recorded before e-mail was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl OperatorProfile {
    pub fn new(
        name: &str,
        roles: &[Role],
        branch_id: Option<Uuid>,
        capacity: Option<u16>,
    ) -> Result<Self, InvalidInput> {
        let name = short_text("name", Some(name))?.ok_or(InvalidInput::Empty { field: "name" })?;
        let roles: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| roles.contains(r))
            .collect();
        if roles.is_empty() {
            return Err(InvalidInput::Empty { field: "roles" });
        }
        if capacity.is_some_and(|c| c == 0 || c > MAX_CAPACITY) {
            return Err(InvalidInput::Malformed {
                field: "capacity",
                expected: "a number of conversations from 1 to 1000",
            });
        }
        Ok(Self {
            name,
            roles,
            branch_id,
            capacity,
            email: None,
        })
    }

    /// The same profile with an e-mail address, checked by [`crate::values::email`]; blank
    /// removes it.
    pub fn with_email(mut self, email: Option<&str>) -> Result<Self, InvalidInput> {
        self.email = crate::values::email(email)?;
        Ok(self)
    }

    /// Can this operator be given conversations at all (not only analysts or auditors)?
    pub fn works_conversations(&self) -> bool {
        conversation_scope(&self.roles) != ConversationScope::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_validated_and_normalised() {
        let p = OperatorProfile::new(
            "  Ivan ",
            &[Role::Manager, Role::Admin, Role::Manager],
            None,
            None,
        )
        .unwrap();
        assert_eq!(p.name, "Ivan");
        assert_eq!(p.roles, vec![Role::Admin, Role::Manager]);
        assert_eq!(
            OperatorProfile::new(" ", &[Role::Admin], None, None),
            Err(InvalidInput::Empty { field: "name" })
        );
        assert_eq!(
            OperatorProfile::new("A", &[], None, None),
            Err(InvalidInput::Empty { field: "roles" })
        );
        for bad in [0, MAX_CAPACITY + 1] {
            assert!(matches!(
                OperatorProfile::new("A", &[Role::Admin], None, Some(bad)),
                Err(InvalidInput::Malformed {
                    field: "capacity",
                    ..
                })
            ));
        }
        assert!(
            !OperatorProfile::new("A", &[Role::Analyst, Role::Auditor], None, None)
                .unwrap()
                .works_conversations()
        );
    }
}
