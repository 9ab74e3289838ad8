//! Operators as the conversation aggregate sees them: their roles and what those allow
//! (SPEC OPS-1). Who an operator is (sign-in, status, capacity) is the operator aggregate's
//! business, which comes with OPS-2.

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
