//! Where attachment bytes live ([`AttachmentStore`], a local directory by default) and the
//! `attachments` index that says which conversation each upload belongs to.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use futures::future::BoxFuture;
use switchboard_domain::event::AttachmentRef;
use uuid::Uuid;

use crate::error::ApiError;

/// Where attachment bytes are kept. The default is a local directory; an object store fits
/// behind the same three calls.
pub trait AttachmentStore: Send + Sync + 'static {
    /// Stores the bytes under `id`; when it returns `Ok`, they are durable.
    fn put(&self, id: Uuid, bytes: Bytes) -> BoxFuture<'_, std::io::Result<()>>;
    /// The bytes stored under `id`, if any.
    fn get(&self, id: Uuid) -> BoxFuture<'_, std::io::Result<Option<Bytes>>>;
    /// Deletes the bytes stored under `id` (GDPR-2); nothing stored is not an error.
    fn delete(&self, id: Uuid) -> BoxFuture<'_, std::io::Result<()>>;
}

/// Files in a directory, `<root>/<first two hex digits>/<id>`, each written to a temporary
/// name, synced and renamed, so a crash never leaves a half-written file under a real id.
pub struct LocalDirectory {
    root: PathBuf,
}

impl LocalDirectory {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, id: Uuid) -> PathBuf {
        let name = id.simple().to_string();
        self.root.join(&name[..2]).join(name)
    }
}

impl AttachmentStore for LocalDirectory {
    fn put(&self, id: Uuid, bytes: Bytes) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async move {
            let path = self.path(id);
            let dir = path.parent().expect("a stored file has a directory");
            tokio::fs::create_dir_all(dir).await?;
            let partial = path.with_extension("partial");
            let mut file = tokio::fs::File::create(&partial).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
            file.sync_all().await?;
            tokio::fs::rename(&partial, &path).await
        })
    }

    fn get(&self, id: Uuid) -> BoxFuture<'_, std::io::Result<Option<Bytes>>> {
        Box::pin(async move {
            match tokio::fs::read(self.path(id)).await {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            }
        })
    }

    fn delete(&self, id: Uuid) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(id)).await {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        })
    }
}

pub type SharedStore = Arc<dyn AttachmentStore>;

/// An uploaded attachment and its conversation.
pub async fn attachment(
    pool: &sqlx::PgPool,
    id: Uuid,
) -> Result<Option<(Uuid, AttachmentRef)>, sqlx::Error> {
    let row: Option<(Uuid, String, String, i64, String)> = sqlx::query_as(
        "select conversation_id, name, content_type, size, sha256 from attachments
         where attachment_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(conversation_id, name, content_type, size, sha256)| {
            (
                conversation_id,
                AttachmentRef {
                    attachment_id: id,
                    name,
                    content_type,
                    size: size as u64,
                    sha256,
                },
            )
        }),
    )
}

/// The attachments a message in `conversation_id` names: each must have been uploaded to
/// that conversation (ATTACHMENT_NOT_FOUND otherwise, for other conversations' files too).
pub async fn for_message(
    pool: &sqlx::PgPool,
    conversation_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<AttachmentRef>, ApiError> {
    let mut refs = Vec::with_capacity(ids.len());
    for &id in ids {
        match attachment(pool, id).await? {
            Some((owner, attachment)) if owner == conversation_id => refs.push(attachment),
            _ => return Err(ApiError::AttachmentNotFound(id)),
        }
    }
    Ok(refs)
}
