//! What the projections' integration tests share.

use std::future::Future;
use std::pin::Pin;

use switchboard_domain::envelope::RecordedEvent;
use switchboard_projections::LogReader;
use uuid::Uuid;

/// A log of fixed events, standing in for the event log (tested in `commands`).
pub struct FixedLog(pub Vec<RecordedEvent>);

impl LogReader for FixedLog {
    fn read_stream(
        &self,
        stream_id: Uuid,
        after_version: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + '_>> {
        let events = self
            .0
            .iter()
            .filter(|e| e.stream_id == stream_id && e.stream_version > after_version)
            .cloned()
            .collect();
        Box::pin(async move { Ok(events) })
    }
}
