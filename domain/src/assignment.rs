//! Who gets a queued conversation (OPS-2), and whom an unopened assignment escalates to
//! (OPS-3): the rule, as a pure function of the candidates. The dispatcher
//! (`switchboard_workers::dispatcher`) gathers the candidates (online operators, their loads
//! counted from the projection plus its own unprojected assignments), applies the rule and
//! issues the commands, which the conversation's decider checks again against the log.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An operator who may be given a conversation: online, with their branch, capacity and load.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Uuid,
    /// `None`: head office.
    pub branch_id: Option<Uuid>,
    /// Their profile's capacity; `None`: the inbox's default.
    pub capacity: Option<u16>,
    /// Conversations assigned to them and not closed.
    pub load: i64,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// The branches with a candidate below their own capacity or, without one, below the largest
/// of `default_capacities` (the inboxes' defaults): where a pass can possibly assign
/// something. Sorted, without repeats.
pub fn served_branches(
    candidates: &[Candidate],
    default_capacities: impl Iterator<Item = u16>,
) -> Vec<Option<Uuid>> {
    let largest_default = default_capacities
        .max()
        .unwrap_or(crate::inbox::DEFAULT_CAPACITY);
    let mut branches: Vec<Option<Uuid>> = candidates
        .iter()
        .filter(|c| c.load < i64::from(c.capacity.unwrap_or(largest_default)))
        .map(|c| c.branch_id)
        .collect();
    branches.sort();
    branches.dedup();
    branches
}

/// The candidate to give a conversation of `branch` to, if any (its index): in that branch,
/// below capacity (their own, or the inbox's `default_capacity`), least loaded, then assigned
/// longest ago (never first), then lowest id, so the choice is deterministic. `except` is the
/// current assignee when escalating.
pub fn choose(
    candidates: &[Candidate],
    branch: Option<Uuid>,
    default_capacity: u16,
    except: Option<Uuid>,
) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.branch_id == branch && Some(c.id) != except)
        .filter(|(_, c)| c.load < i64::from(c.capacity.unwrap_or(default_capacity)))
        .min_by_key(|(_, c)| (c.load, c.last_assigned_at, c.id))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: u128, branch: Option<u128>, load: i64, last: Option<i64>) -> Candidate {
        Candidate {
            id: Uuid::from_u128(id),
            branch_id: branch.map(Uuid::from_u128),
            capacity: None,
            load,
            last_assigned_at: last.map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        }
    }

    #[test]
    fn least_loaded_then_longest_idle_then_lowest_id_within_the_branch() {
        let b = Some(Uuid::from_u128(100));
        let pool = [
            candidate(1, Some(100), 2, Some(10)),
            candidate(2, Some(100), 1, Some(50)),
            candidate(3, Some(100), 1, Some(20)),
            candidate(4, Some(200), 0, None),
            candidate(5, None, 0, None),
        ];
        assert_eq!(
            choose(&pool, b, 5, None),
            Some(2),
            "least loaded, idle longest"
        );
        assert_eq!(choose(&pool, b, 5, Some(Uuid::from_u128(3))), Some(1));
        assert_eq!(choose(&pool, None, 5, None), Some(4), "head office's own");
        assert_eq!(choose(&pool, b, 1, None), None, "all at capacity");
        let never = [
            candidate(7, Some(100), 0, Some(5)),
            candidate(6, Some(100), 0, None),
        ];
        assert_eq!(choose(&never, b, 5, None), Some(1), "never assigned first");
        let mut own = [candidate(8, Some(100), 0, None)];
        own[0].capacity = Some(1);
        assert_eq!(choose(&own, b, 5, None), Some(0));
        own[0].load = 1;
        assert_eq!(choose(&own, b, 5, None), None, "the profile's capacity");
    }

    #[test]
    fn a_branch_is_served_while_one_of_its_candidates_has_room() {
        let mut full = candidate(1, Some(100), 3, None);
        full.capacity = Some(3);
        let pool = [
            full,
            candidate(2, Some(200), 4, None),
            candidate(3, None, 0, None),
            candidate(4, None, 9, None),
        ];
        let (b200, head_office) = (Some(Uuid::from_u128(200)), None);
        assert_eq!(
            served_branches(&pool, [2, 5].into_iter()),
            [head_office, b200],
            "branch 100's only candidate is at their own capacity; 200's is below the largest default"
        );
        assert_eq!(served_branches(&pool, [4].into_iter()), [head_office]);
        assert_eq!(
            served_branches(&pool, std::iter::empty()),
            [head_office, b200],
            "no inbox: the default capacity"
        );
    }
}
