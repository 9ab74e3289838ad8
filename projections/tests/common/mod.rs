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

    fn read_streams_on<'a>(
        &'a self,
        _conn: &'a mut sqlx::PgConnection,
        streams: &'a [(Uuid, i32)],
        after_position: i64,
        or_types: &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + 'a>> {
        let mut events: Vec<RecordedEvent> = self
            .0
            .iter()
            .filter(|e| {
                streams
                    .iter()
                    .any(|(id, up_to)| e.stream_id == *id && e.stream_version <= *up_to)
            })
            .filter(|e| {
                e.global_position > after_position || or_types.contains(&e.event_type.as_str())
            })
            .cloned()
            .collect();
        events.sort_by_key(|e| (e.stream_id, e.stream_version));
        Box::pin(async move { Ok(events) })
    }
}
