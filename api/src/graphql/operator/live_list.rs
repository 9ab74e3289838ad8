//! `inboxListChanged` (PROJ-1): one inbox list kept live, rows coming in and rows leaving,
//! with the counts of every tab. Owns what a subscription remembers of the rows it told its
//! client about, and so when a row that leaves is announced ([`Memory`]).
//!
//! Each wake-up of the change feed takes every notification already waiting with it (a
//! burst), reads how each changed conversation stands for the list in one statement, then
//! the counts in another: two reads per burst per subscriber, whatever the burst's size.
//! No timer: a quiet feed costs nothing, a busy one costs per burst, not per change.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Enum, SimpleObject};
use futures::Stream;
use sqlx::PgPool;
use switchboard_projections::conversations::read::{self, InboxStanding};
use tokio::sync::broadcast::{self, error::TryRecvError};
use uuid::Uuid;

use super::inbox::{encode_cursor, inbox_query, InboxCounts, InboxFilter, InboxTab};
use crate::changes::{next_event, FeedEvent};
use crate::error::ResultExt;
use crate::graphql::types::Conversation;
use crate::graphql::AppContext;

/// What one message of `inboxListChanged` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum InboxListChangeKind {
    /// Only `counts`: the first message of every subscription (the counts as they stand), and
    /// later whenever the counts moved but no row of this list did.
    Counts,
    /// The row is in the list now: insert it, or update it by id, and place it by `cursor`.
    Upserted,
    /// The row is not in the list any more: drop it if it is there.
    Removed,
    /// Changes may have been missed: refetch the list. `counts` are fresh.
    Resync,
}

/// A change of an inbox list (PROJ-1).
#[derive(Debug, Clone, SimpleObject)]
pub struct InboxListChange {
    pub kind: InboxListChangeKind,
    /// The row that came or went; null on `COUNTS` and `RESYNC`.
    pub conversation_id: Option<Uuid>,
    /// The row as the list shows it; only on `UPSERTED`.
    pub conversation: Option<Conversation>,
    /// The row's place in the list: the cursor the `inbox` query's pages use, so a row whose
    /// cursor sorts after the last loaded one lies beyond the loaded pages. Only on
    /// `UPSERTED`.
    pub cursor: Option<String>,
    /// Every tab's count for the viewer and the filter, after this change.
    pub counts: InboxCounts,
}

impl InboxListChange {
    fn counts_only(kind: InboxListChangeKind, counts: InboxCounts) -> Self {
        Self {
            kind,
            conversation_id: None,
            conversation: None,
            cursor: None,
            counts,
        }
    }
}

/// The stream behind `inboxListChanged`: first the counts, then the list's changes.
pub(super) async fn inbox_list_changes(
    ctx: &Context<'_>,
    tab: InboxTab,
    filter: InboxFilter,
) -> async_graphql::Result<impl Stream<Item = InboxListChange>> {
    let query = inbox_query(ctx, tab, filter).gql()?;
    let app = ctx.data::<AppContext>()?.clone();
    // Subscribe first, then read where we stand: nothing committed in between is missed.
    let mut events = app.feed.subscribe();
    let mut list = LiveList {
        memory: Memory::new(query.assigned_only),
        counts: InboxCounts::default(),
        owes_resync: false,
        query,
    };
    let first = list
        .restart(&app.pool, InboxListChangeKind::Counts)
        .await
        .gql()?;
    Ok(async_stream::stream! {
        yield first;
        while let Some(event) = next_event(&mut events).await {
            let burst = Burst::gather(event, &mut events);
            match list.follow(&app.pool, burst).await {
                Ok(changes) => for change in changes { yield change },
                Err(err) => {
                    // What this burst changed is not known to the client: it must refetch,
                    // now or, if the counts cannot be read either, at the next wake-up.
                    tracing::warn!(error = %err, "inbox list subscription read failed");
                    match list.restart(&app.pool, InboxListChangeKind::Resync).await {
                        Ok(resync) => yield resync,
                        Err(_) => list.owes_resync = true,
                    }
                }
            }
        }
    })
}

/// At most this many notifications are taken together, so that one burst's reply is not
/// held back behind an endless stream of them.
const BURST: usize = 256;

/// The notifications of one wake-up.
#[derive(Debug, Default, PartialEq, Eq)]
struct Burst {
    resync: bool,
    /// The conversations that changed, each once.
    conversations: Vec<Uuid>,
}

impl Burst {
    /// `first` and whatever else is already waiting.
    fn gather(first: FeedEvent, events: &mut broadcast::Receiver<FeedEvent>) -> Self {
        let mut burst = Self::default();
        burst.add(first);
        let mut taken = 1;
        while taken < BURST {
            match events.try_recv() {
                Ok(event) => burst.add(event),
                Err(TryRecvError::Lagged(_)) => burst.resync = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
            taken += 1;
        }
        burst
    }

    fn add(&mut self, event: FeedEvent) {
        match event {
            FeedEvent::Resync => self.resync = true,
            FeedEvent::Changed(change) => {
                if let Some(id) = change.conversation_id() {
                    if !self.conversations.contains(&id) {
                        self.conversations.push(id);
                    }
                }
            }
            FeedEvent::Typing(_) => {}
        }
    }
}

/// One subscription's list.
struct LiveList {
    query: read::InboxQuery,
    memory: Memory,
    /// The counts last sent.
    counts: InboxCounts,
    /// A read failed: the next wake-up is a resync, whatever it brings.
    owes_resync: bool,
}

impl LiveList {
    /// Forgets what was said and reads the counts afresh: the first message, or a resync.
    async fn restart(
        &mut self,
        pool: &PgPool,
        kind: InboxListChangeKind,
    ) -> Result<InboxListChange, sqlx::Error> {
        let known = if self.query.assigned_only {
            read::assigned_to(pool, self.query.viewer).await?
        } else {
            Vec::new()
        };
        self.memory.restart(known);
        self.counts = read::inbox_counts(pool, &self.query).await?.into();
        self.owes_resync = false;
        Ok(InboxListChange::counts_only(kind, self.counts))
    }

    /// What the client is told of `burst`.
    async fn follow(
        &mut self,
        pool: &PgPool,
        burst: Burst,
    ) -> Result<Vec<InboxListChange>, sqlx::Error> {
        if burst.resync || self.owes_resync {
            return Ok(vec![self.restart(pool, InboxListChangeKind::Resync).await?]);
        }
        if burst.conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut standings: HashMap<Uuid, InboxStanding> =
            read::inbox_standings(pool, &self.query, &burst.conversations)
                .await?
                .into_iter()
                .collect();
        let mut moves = Vec::new();
        let mut counts_may_move = false;
        for id in burst.conversations {
            let standing = standings.remove(&id);
            let seen = match &standing {
                Some(InboxStanding::Listed(_)) => Seen::Listed,
                Some(InboxStanding::InScopeOnly) => Seen::InScopeOnly,
                None => Seen::OutOfScope,
            };
            let outcome = self.memory.after(id, seen);
            counts_may_move |= outcome.counts_may_move;
            match (outcome.tell, standing) {
                (Some(Tell::Upserted), Some(InboxStanding::Listed(entry))) => {
                    let conversation = Conversation::from(*entry);
                    moves.push(InboxListChange {
                        kind: InboxListChangeKind::Upserted,
                        conversation_id: Some(id),
                        cursor: Some(encode_cursor(&conversation)),
                        conversation: Some(conversation),
                        counts: InboxCounts::default(),
                    });
                }
                (Some(Tell::Removed), _) => moves.push(InboxListChange {
                    kind: InboxListChangeKind::Removed,
                    conversation_id: Some(id),
                    conversation: None,
                    cursor: None,
                    counts: InboxCounts::default(),
                }),
                _ => {}
            }
        }
        if !counts_may_move {
            return Ok(moves);
        }
        let counts: InboxCounts = read::inbox_counts(pool, &self.query).await?.into();
        let moved = counts != self.counts;
        self.counts = counts;
        if moves.is_empty() && moved {
            return Ok(vec![InboxListChange::counts_only(
                InboxListChangeKind::Counts,
                counts,
            )]);
        }
        for change in &mut moves {
            change.counts = counts;
        }
        Ok(moves)
    }
}

/// How a changed conversation stands for the list, as read after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Listed,
    /// The viewer may see it, but this list does not show it.
    InScopeOnly,
    /// The viewer may not see it (a moderator: not assigned to them), or it is gone.
    OutOfScope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tell {
    Upserted,
    Removed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    tell: Option<Tell>,
    /// Could the counts have moved? (Not for a moderator's subscription, when the
    /// conversation never was theirs.)
    counts_may_move: bool,
}

/// The `REMOVED` messages sent are remembered up to this many conversations, then forgotten
/// (which only costs a repeated `REMOVED`).
const REMEMBERED_REMOVALS: usize = 10_000;

/// What a subscription remembers, to announce a row that leaves the list exactly when the
/// client may hold it, and never to name a conversation the viewer may not see.
///
/// The client may hold any row the list showed since it loaded it, and the subscription cannot
/// know which it loaded. So a changed conversation that the list does not show is announced
/// `REMOVED` if the viewer may see it (for admins and managers: any conversation; for a
/// moderator: one assigned to them, now or at some point during the subscription), once: not
/// again until the list shows it again.
#[derive(Debug, Default)]
struct Memory {
    /// Moderators see only what is assigned to them.
    assigned_only: bool,
    /// A moderator's: the conversations assigned to them when the subscription (re)started
    /// or at a change since. Their `REMOVED` may be sent after they are taken away.
    known: HashSet<Uuid>,
    /// The conversations last announced `REMOVED`: the client holds none of them.
    removed: HashSet<Uuid>,
}

impl Memory {
    fn new(assigned_only: bool) -> Self {
        Self {
            assigned_only,
            ..Self::default()
        }
    }

    /// Starts over (the first message, or a resync, after which the client refetches):
    /// `known` are a moderator's conversations as they stand.
    fn restart(&mut self, known: Vec<Uuid>) {
        self.known = known.into_iter().collect();
        self.removed.clear();
    }

    /// What to tell the client of a change of `id`, which now stands as `seen`.
    fn after(&mut self, id: Uuid, seen: Seen) -> Outcome {
        let seeable = |tell| Outcome {
            tell,
            counts_may_move: true,
        };
        match seen {
            Seen::Listed => {
                self.removed.remove(&id);
                if self.assigned_only {
                    self.known.insert(id);
                }
                seeable(Some(Tell::Upserted))
            }
            Seen::InScopeOnly => {
                if self.assigned_only {
                    self.known.insert(id);
                }
                seeable(self.remove_once(id))
            }
            Seen::OutOfScope if !self.assigned_only => seeable(self.remove_once(id)),
            // Taken away from the moderator: said once, then forgotten, like any other
            // conversation that is not theirs.
            Seen::OutOfScope if self.known.remove(&id) => {
                let already = self.removed.remove(&id);
                seeable((!already).then_some(Tell::Removed))
            }
            Seen::OutOfScope => Outcome {
                tell: None,
                counts_may_move: false,
            },
        }
    }

    fn remove_once(&mut self, id: Uuid) -> Option<Tell> {
        if self.removed.contains(&id) {
            return None;
        }
        if self.removed.len() >= REMEMBERED_REMOVALS {
            self.removed.clear();
        }
        self.removed.insert(id);
        Some(Tell::Removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn tells(memory: &mut Memory, steps: &[(u128, Seen)]) -> Vec<Option<Tell>> {
        steps
            .iter()
            .map(|(n, seen)| memory.after(id(*n), *seen).tell)
            .collect()
    }

    #[test]
    fn an_admin_is_told_once_that_a_row_left_and_again_after_it_came_back() {
        let mut memory = Memory::new(false);
        let told = tells(
            &mut memory,
            &[
                (1, Seen::Listed),
                (1, Seen::InScopeOnly),
                (1, Seen::InScopeOnly),
                (1, Seen::Listed),
                (1, Seen::InScopeOnly),
                (2, Seen::OutOfScope),
                (2, Seen::OutOfScope),
            ],
        );
        use Tell::*;
        assert_eq!(
            told,
            [
                Some(Upserted),
                Some(Removed),
                None,
                Some(Upserted),
                Some(Removed),
                Some(Removed),
                None
            ]
        );
    }

    #[test]
    fn a_moderator_never_hears_of_a_conversation_that_was_never_theirs() {
        let mut memory = Memory::new(true);
        memory.restart(vec![]);
        let outcome = memory.after(id(7), Seen::OutOfScope);
        assert_eq!(
            outcome,
            Outcome {
                tell: None,
                counts_may_move: false
            }
        );
        assert!(memory.removed.is_empty() && memory.known.is_empty());
    }

    #[test]
    fn a_moderator_hears_once_that_their_conversation_was_taken_away() {
        let mut memory = Memory::new(true);
        // 1 was theirs before the subscription; 2 becomes theirs during it.
        memory.restart(vec![id(1)]);
        use Tell::*;
        let told = tells(
            &mut memory,
            &[
                (1, Seen::OutOfScope),
                (1, Seen::OutOfScope),
                (2, Seen::Listed),
                (2, Seen::OutOfScope),
                (2, Seen::OutOfScope),
            ],
        );
        assert_eq!(
            told,
            [Some(Removed), None, Some(Upserted), Some(Removed), None]
        );
    }

    #[test]
    fn a_moderators_row_filtered_out_and_then_taken_away_is_removed_once() {
        let mut memory = Memory::new(true);
        memory.restart(vec![]);
        use Tell::*;
        let told = tells(
            &mut memory,
            &[
                (3, Seen::Listed),
                (3, Seen::InScopeOnly),
                (3, Seen::OutOfScope),
            ],
        );
        assert_eq!(told, [Some(Upserted), Some(Removed), None]);
    }

    #[test]
    fn a_restart_forgets_the_removals_sent() {
        let mut memory = Memory::new(false);
        assert_eq!(
            memory.after(id(1), Seen::InScopeOnly).tell,
            Some(Tell::Removed)
        );
        memory.restart(vec![]);
        assert_eq!(
            memory.after(id(1), Seen::InScopeOnly).tell,
            Some(Tell::Removed)
        );
    }

    #[test]
    fn a_burst_names_each_conversation_once_and_resyncs_on_lag() {
        use switchboard_projections::Change;
        let (sender, mut receiver) = broadcast::channel(2);
        let changed = |n| {
            FeedEvent::Changed(Change::ConversationUpdated {
                conversation_id: id(n),
            })
        };
        sender.send(changed(2)).unwrap();
        sender.send(changed(1)).unwrap();
        let burst = Burst::gather(changed(1), &mut receiver);
        assert_eq!(
            burst,
            Burst {
                resync: false,
                conversations: vec![id(1), id(2)]
            }
        );
        for n in 0..3 {
            sender.send(changed(n)).unwrap();
        }
        let burst = Burst::gather(changed(9), &mut receiver);
        assert!(burst.resync);
    }
}
