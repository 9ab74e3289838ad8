//! Attachments (CONV-7): the store the bytes live in, and the two HTTP endpoints.
//!
//! - `POST /attachments?conversationId=…&name=…` with the file as the raw request body and
//!   the caller's token (the conversation's widget session, or an operator who may work it)
//!   stores the file and answers `201` with its id; `sendMessage` / `replyToConversation`
//!   then carry it with `attachmentIds`. The type is read from the file's first bytes (the
//!   `Content-Type` a client sends is ignored) and checked, with the size, against the
//!   inbox's settings.
//! - `GET /attachments/{id}` returns the file to the conversation's contact and its
//!   operators (moderators: only when assigned), as a download (`Content-Disposition:
//!   attachment`, `nosniff`), never rendered inline on our origin.
//!
//! Refusals are JSON `{"code": "...", "message": "..."}` with the same codes as GraphQL.

pub mod routes;
pub mod store;

pub use store::{AttachmentStore, LocalDirectory, SharedStore};
