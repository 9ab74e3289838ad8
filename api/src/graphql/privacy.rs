//! Contacts' personal data for admins (GDPR-1, GDPR-2): export everything held about a
//! contact, and erase them. The work is in [`crate::privacy`].

use async_graphql::{Context, Json, Object, SimpleObject};
use switchboard_domain::envelope::Actor;
use uuid::Uuid;

use crate::auth::{Authentication, ADMIN_ROLES};
use crate::error::ResultExt;
use crate::graphql::command_meta;
use crate::graphql::AppContext;
use crate::privacy;

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything held about a contact, as one JSON document (GDPR-1): the contact as they
    /// introduced themselves, each conversation they started with its messages, files'
    /// metadata, call-backs and rating, the addresses they wrote from, and the files they
    /// uploaded. After an erasure it shows what remains (ids, times, `[erased]`). Admins;
    /// `CONTACT_NOT_FOUND` when nothing is held.
    async fn contact_data(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
    ) -> async_graphql::Result<Json<serde_json::Value>> {
        ctx.data::<Authentication>()?
            .require_operator(ADMIN_ROLES)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let export = privacy::contact_export(&app.pool, contact_id).await.gql()?;
        Ok(Json(serde_json::to_value(export)?))
    }
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases a contact (GDPR-2): their key is destroyed, so the personal data in their
    /// events reads as `[erased]` everywhere from now on, the read models drop it, and the
    /// files they uploaded are deleted. The log itself is not changed and still verifies.
    /// Nothing more of theirs can be recorded (`CONTACT_ERASED`). Admins; repeating it is
    /// harmless (`newlyErased: false`).
    async fn erase_contact(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
    ) -> async_graphql::Result<ContactErasure> {
        let (operator_id, roles) = ctx
            .data::<Authentication>()?
            .require_operator(ADMIN_ROLES)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        let meta = command_meta(
            ctx,
            Uuid::now_v7(),
            Actor::operator(operator_id, roles.to_vec()),
        );
        let erasure = privacy::erase_contact(
            &app.pool,
            &app.contact_handler,
            app.attachments.as_ref(),
            &meta,
            contact_id,
        )
        .await
        .gql()?;
        Ok(ContactErasure {
            contact_id: erasure.contact_id,
            conversation_ids: erasure.conversation_ids,
            newly_erased: erasure.newly_erased,
            files_deleted: erasure.files_deleted as i32,
        })
    }
}

/// What `eraseContact` did.
#[derive(SimpleObject)]
pub struct ContactErasure {
    pub contact_id: Uuid,
    /// The conversations they had started.
    pub conversation_ids: Vec<Uuid>,
    /// False when they had already been erased.
    pub newly_erased: bool,
    /// Files of theirs deleted from the attachment store.
    pub files_deleted: i32,
}
