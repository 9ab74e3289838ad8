//! Operator roles (SPEC OPS-1) and what they allow: which conversations an operator may work,
//! and of which branch.
//!
//! A leaf: the operator events and the actor of every envelope carry roles, so this file
//! imports no other part of the domain (no events, no envelope, no decider).

use uuid::Uuid;

text_enum! {
    /// Operator roles (OPS-1).
    pub enum Role {
        /// Everything.
        Admin = "admin",
        /// Sees and acts only on conversations assigned to them.
        Moderator = "moderator",
        /// Conversations, history, call-back outcomes.
        Manager = "manager",
        /// Reports only.
        Analyst = "analyst",
        /// The event log only.
        Auditor = "auditor",
    }
}

/// Which conversations an operator may work (reply, note, status, priority, tags, assign).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationScope {
    /// Admins and managers: any conversation.
    Any,
    /// Moderators: only those assigned to them.
    AssignedOnly,
    /// Analysts and auditors: none.
    None,
}

/// The widest scope any of `roles` grants.
pub fn conversation_scope(roles: &[Role]) -> ConversationScope {
    if roles
        .iter()
        .any(|r| matches!(r, Role::Admin | Role::Manager))
    {
        ConversationScope::Any
    } else if roles.contains(&Role::Moderator) {
        ConversationScope::AssignedOnly
    } else {
        ConversationScope::None
    }
}

/// May an operator of `operator_branch` be given a conversation of `conversation_branch`?
/// Operators without a branch (head office) may work any conversation; a branch's operators
/// only their branch's.
pub fn may_work_branch(operator_branch: Option<Uuid>, conversation_branch: Option<Uuid>) -> bool {
    operator_branch.is_none() || operator_branch == conversation_branch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_office_works_any_branch_a_branch_only_its_own() {
        let a = Some(Uuid::from_u128(1));
        let b = Some(Uuid::from_u128(2));
        assert!(may_work_branch(None, a));
        assert!(may_work_branch(None, None));
        assert!(may_work_branch(a, a));
        assert!(!may_work_branch(a, b));
        assert!(!may_work_branch(a, None));
    }
}
