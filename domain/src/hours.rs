//! Working hours of an inbox (SPEC INBOX-3): opening periods per weekday, in the inbox's time
//! zone, and holidays that close a whole local day. Outside them nothing is auto-assigned and
//! the widget is told `outside_working_hours`.
//!
//! A [`WorkingHours`] that exists is valid: [`WorkingHours::new`] checks, and deserialising
//! goes through the same checks, so a value read back from an event payload can be trusted.
//! Periods are local wall-clock times; the questions take and give instants in UTC: whether the
//! inbox is open ([`WorkingHours::is_open`]), when it next opens
//! ([`WorkingHours::next_opening`]), and, for SLA clocks that run in business hours only, how
//! much open time lies between two instants ([`WorkingHours::open_seconds_between`]) and when a
//! given amount of it will have passed ([`WorkingHours::deadline_after`]). Across
//! daylight-saving changes a local time skipped by the clocks is never open, and one the clocks
//! repeat is open both times; open time is real elapsed time, so a 09:00–18:00 period is nine
//! hours on the days the clocks change too, and a repeated open hour counts twice.
//!
//! The stored JSON (times `HH:MM`, dates `YYYY-MM-DD`, the zone by its IANA name; weekdays in
//! order, days without periods left out):
//!
//! ```json
//! {"time_zone":"Europe/Kyiv",
//!  "week":[{"day":"mon","periods":[{"start":"09:00","end":"13:00"},{"start":"14:00","end":"18:00"}]}],
//!  "holidays":["2025-01-01"]}
//! ```

use std::fmt;
use std::ops::ControlFlow;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::InvalidInput;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// How far [`WorkingHours::next_opening`] looks, and how long [`WorkingHours::deadline_after`]
/// waits for the inbox to open again: over a year, so a full year of holidays cannot hide the
/// regular week behind them.
const SEARCH_HORIZON: TimeDelta = TimeDelta::days(400);

/// The step at which the search looks for a change of UTC offset; time-zone rules change the
/// offset at most once within it.
const OFFSET_PROBE: TimeDelta = TimeDelta::days(1);

/// Each weekday with its stored spelling, Monday first.
const WEEKDAY_NAMES: [(Weekday, &str); 7] = [
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

/// The stored spelling of a weekday: `mon` … `sun`.
pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAY_NAMES[day.num_days_from_monday() as usize].1
}

/// The weekday spelled `text` (`mon` … `sun`, lower-case).
pub fn parse_weekday(text: &str) -> Result<Weekday, InvalidInput> {
    WEEKDAY_NAMES
        .iter()
        .find(|(_, name)| *name == text)
        .map(|(day, _)| *day)
        .ok_or(InvalidInput::Malformed {
            field: "day",
            expected: "a weekday: mon, tue, wed, thu, fri, sat or sun",
        })
}

fn serialize_weekday<S: Serializer>(day: &Weekday, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(weekday_name(*day))
}

fn deserialize_weekday<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Weekday, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_weekday(&text).map_err(serde::de::Error::custom)
}

/// A local time of day to the minute, from `00:00` to `24:00` (the midnight that ends the day,
/// which only a period's end can use). Written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay(
    /// Minutes since local midnight, at most [`MINUTES_PER_DAY`].
    u16,
);

impl TimeOfDay {
    /// `00:00`, the start of the day.
    pub const MIDNIGHT: Self = Self(0);
    /// `24:00`, the end of the day.
    pub const END_OF_DAY: Self = Self(MINUTES_PER_DAY);

    /// Reads `HH:MM` with two digits each, `00:00` to `24:00`.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        parse_time("time", text)
    }

    pub fn minutes_from_midnight(self) -> u16 {
        self.0
    }
}

fn parse_time(field: &'static str, text: &str) -> Result<TimeOfDay, InvalidInput> {
    let malformed = InvalidInput::Malformed {
        field,
        expected: "a time of day as HH:MM, from 00:00 to 24:00",
    };
    let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
        return Err(malformed);
    };
    let digit = |b: u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
    let (Some(h1), Some(h2), Some(m1), Some(m2)) = (digit(h1), digit(h2), digit(m1), digit(m2))
    else {
        return Err(malformed);
    };
    let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
    if minutes >= 60 || hours * 60 + minutes > MINUTES_PER_DAY {
        return Err(malformed);
    }
    Ok(TimeOfDay(hours * 60 + minutes))
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl From<TimeOfDay> for String {
    fn from(time: TimeOfDay) -> Self {
        time.to_string()
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = InvalidInput;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

/// One opening period within a day, `[start, end)` in local wall-clock time: open from `start`
/// up to, not including, `end`. `start` is before `end`; `end` may be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PeriodFields")]
pub struct Period {
    start: TimeOfDay,
    end: TimeOfDay,
}

impl Period {
    pub fn new(start: TimeOfDay, end: TimeOfDay) -> Result<Self, InvalidInput> {
        if start >= end {
            return Err(InvalidInput::Malformed {
                field: "period",
                expected: "a start earlier than its end, such as 09:00 to 13:00",
            });
        }
        Ok(Self { start, end })
    }

    /// Reads both ends as `HH:MM`, as the API and the stored JSON write them.
    pub fn parse(start: &str, end: &str) -> Result<Self, InvalidInput> {
        Self::new(parse_time("start", start)?, parse_time("end", end)?)
    }

    pub fn start(self) -> TimeOfDay {
        self.start
    }

    pub fn end(self) -> TimeOfDay {
        self.end
    }
}

#[derive(Deserialize)]
struct PeriodFields {
    start: String,
    end: String,
}

impl TryFrom<PeriodFields> for Period {
    type Error = InvalidInput;

    fn try_from(fields: PeriodFields) -> Result<Self, Self::Error> {
        Self::parse(&fields.start, &fields.end)
    }
}

/// The periods of one weekday, sorted by start and not overlapping (touching is fine:
/// `09:00–13:00` and `13:00–18:00`). No periods means closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DayHoursFields")]
pub struct DayHours {
    #[serde(serialize_with = "serialize_weekday")]
    day: Weekday,
    periods: Vec<Period>,
}

impl DayHours {
    /// Sorts `periods` by start; refuses periods that overlap.
    pub fn new(day: Weekday, mut periods: Vec<Period>) -> Result<Self, InvalidInput> {
        periods.sort_by_key(|period| period.start);
        if periods.windows(2).any(|pair| pair[0].end > pair[1].start) {
            return Err(InvalidInput::Malformed {
                field: "periods",
                expected: "periods of one day that do not overlap",
            });
        }
        Ok(Self { day, periods })
    }

    pub fn day(&self) -> Weekday {
        self.day
    }

    pub fn periods(&self) -> &[Period] {
        &self.periods
    }
}

#[derive(Deserialize)]
struct DayHoursFields {
    #[serde(deserialize_with = "deserialize_weekday")]
    day: Weekday,
    periods: Vec<Period>,
}

impl TryFrom<DayHoursFields> for DayHours {
    type Error = InvalidInput;

    fn try_from(fields: DayHoursFields) -> Result<Self, Self::Error> {
        Self::new(fields.day, fields.periods)
    }
}

/// When an inbox is open: periods per weekday in `time_zone`, closed on `holidays` (local
/// dates). A weekday without periods is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WorkingHoursFields")]
pub struct WorkingHours {
    time_zone: Tz,
    week: Vec<DayHours>,
    holidays: Vec<NaiveDate>,
}

impl WorkingHours {
    /// Checks that `time_zone` is an IANA name (`Europe/Kyiv`) and that each weekday appears at
    /// most once. The result has one spelling per schedule: weekdays in order Monday first,
    /// days without periods left out, holidays sorted without duplicates.
    pub fn new(
        time_zone: &str,
        mut week: Vec<DayHours>,
        mut holidays: Vec<NaiveDate>,
    ) -> Result<Self, InvalidInput> {
        let time_zone = time_zone
            .parse::<Tz>()
            .map_err(|_| InvalidInput::Malformed {
                field: "time_zone",
                expected: "an IANA time zone name, such as Europe/Kyiv",
            })?;
        week.sort_by_key(|day| day.day.num_days_from_monday());
        if week.windows(2).any(|pair| pair[0].day == pair[1].day) {
            return Err(InvalidInput::Malformed {
                field: "week",
                expected: "each weekday at most once",
            });
        }
        week.retain(|day| !day.periods.is_empty());
        holidays.sort_unstable();
        holidays.dedup();
        Ok(Self {
            time_zone,
            week,
            holidays,
        })
    }

    /// Open around the clock, every day, no holidays (in UTC, where it makes no difference):
    /// the hours of an inbox that sets none.
    pub fn always() -> Self {
        let all_day = Period {
            start: TimeOfDay::MIDNIGHT,
            end: TimeOfDay::END_OF_DAY,
        };
        Self {
            time_zone: Tz::UTC,
            week: WEEKDAY_NAMES
                .iter()
                .map(|&(day, _)| DayHours {
                    day,
                    periods: vec![all_day],
                })
                .collect(),
            holidays: Vec::new(),
        }
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The weekdays that have periods, Monday first.
    pub fn week(&self) -> &[DayHours] {
        &self.week
    }

    /// Sorted, without duplicates.
    pub fn holidays(&self) -> &[NaiveDate] {
        &self.holidays
    }

    /// The periods of `day`, sorted; empty when closed.
    pub fn periods_on(&self, day: Weekday) -> &[Period] {
        self.week
            .iter()
            .find(|hours| hours.day == day)
            .map_or(&[], |hours| &hours.periods)
    }

    /// Whether `at`, read as wall-clock time in the time zone, is within a period of its
    /// weekday and its local date is not a holiday.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone).naive_local();
        if self.is_holiday(local.date()) {
            return false;
        }
        // Periods start and end on whole minutes, so the minute decides.
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.periods_on(local.weekday())
            .iter()
            .any(|period| period.start.0 <= minute && minute < period.end.0)
    }

    /// The earliest instant at or after `at` when [`is_open`](Self::is_open) holds: `at` itself
    /// when open now. Looks 400 days ahead; `None` when nothing opens in that time (no periods
    /// at all, or holidays cover it).
    ///
    /// Local times are never turned back into instants, so skipped and repeated local times
    /// need no choice: a period that starts in a spring-forward gap opens when the clocks have
    /// jumped into it, and during a fall-back the first pass through a period comes first.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let horizon = at
            .checked_add_signed(SEARCH_HORIZON)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.visit_open(at, horizon, |open, _| ControlFlow::Break(open))
    }

    /// How many whole seconds of `[from, to)` the inbox is open, as
    /// [`is_open`](Self::is_open) tells: the open time, in real elapsed seconds, rounded down to
    /// a whole second. `0` when `to` is not after `from`; `(to - from).num_seconds()` when
    /// always open. For SLA clocks that count business hours only.
    ///
    /// Open time is counted on the timeline, not the wall clock: on the day the clocks go
    /// forward an hour, 09:00–18:00 is still nine hours, and a period across the jump (02:00 to
    /// 05:00 when 03:00 becomes 04:00) is open for two; on the day they go back, a period
    /// through the repeated hour counts it twice (02:00 to 05:00 when 04:00 becomes 03:00 is
    /// four hours).
    ///
    /// Walks day by day, period by period: a year takes a few hundred steps.
    pub fn open_seconds_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        if self.is_always_open() {
            return (to - from).num_seconds();
        }
        let mut open_time = TimeDelta::zero();
        self.visit_open(from, to, |open, close| {
            open_time += close - open;
            ControlFlow::<()>::Continue(())
        });
        open_time.num_seconds()
    }

    /// The earliest instant at or after `from` by which the inbox has been open for
    /// `open_seconds` seconds: the first `t` with
    /// [`open_seconds_between(from, t)`](Self::open_seconds_between) equal to `open_seconds`.
    /// `from` itself when `open_seconds` is not positive; `from + open_seconds` when always
    /// open. The deadline falls within open time (or at the close that ends it), never in a
    /// closed stretch after it.
    ///
    /// Counts open time as [`open_seconds_between`](Self::open_seconds_between) does, in real
    /// elapsed seconds: the hour skipped when the clocks go forward adds nothing, and an open
    /// hour the clocks repeat adds two.
    ///
    /// `None` when, before the deadline, the inbox stays closed for 400 days on end (as
    /// [`next_opening`](Self::next_opening) would say from `from` or from a closing): no
    /// periods at all, or holidays cover that long. Also `None` when the deadline would fall
    /// after the last instant [`DateTime`] can hold.
    pub fn deadline_after(&self, from: DateTime<Utc>, open_seconds: i64) -> Option<DateTime<Utc>> {
        if open_seconds <= 0 {
            return Some(from);
        }
        let mut remaining = TimeDelta::try_seconds(open_seconds)?;
        if self.is_always_open() {
            return from.checked_add_signed(remaining);
        }
        // Give up only after a horizon without any open time, counted from the last closing.
        let mut cursor = from;
        loop {
            let horizon = cursor
                .checked_add_signed(SEARCH_HORIZON)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let mut opened = false;
            let deadline = self.visit_open(cursor, horizon, |open, close| {
                opened = true;
                let length = close - open;
                if remaining <= length {
                    return ControlFlow::Break(open + remaining);
                }
                remaining -= length;
                cursor = close;
                ControlFlow::Continue(())
            });
            if deadline.is_some() || !opened {
                return deadline;
            }
        }
    }

    fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    /// Open every minute of every week, whatever the time zone: each weekday's periods cover
    /// `00:00` to `24:00` without a gap, and there are no holidays.
    fn is_always_open(&self) -> bool {
        self.holidays.is_empty()
            && self.week.len() == WEEKDAY_NAMES.len()
            && self.week.iter().all(|day| {
                let periods = &day.periods;
                periods.first().map(|first| first.start) == Some(TimeOfDay::MIDNIGHT)
                    && periods.last().map(|last| last.end) == Some(TimeOfDay::END_OF_DAY)
                    && periods.windows(2).all(|pair| pair[0].end == pair[1].start)
            })
    }

    fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        self.time_zone
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
    }

    /// The first instant in `(before, after]` whose offset is not `offset`, given that
    /// `before` has `offset` and `after` has not.
    fn offset_change(
        &self,
        mut before: DateTime<Utc>,
        mut after: DateTime<Utc>,
        offset: FixedOffset,
    ) -> DateTime<Utc> {
        while after - before > TimeDelta::nanoseconds(1) {
            let middle = before + (after - before) / 2;
            if self.offset_at(middle) == offset {
                before = middle;
            } else {
                after = middle;
            }
        }
        after
    }

    /// Calls `visit` with the open time in `[from, until)` as `(open, close)` intervals, each
    /// open from `open` up to, not including, `close` (`open < close`), in order and without
    /// overlap (they may touch). Stops at the first `Break` and gives its value; `None` when
    /// `visit` never breaks.
    fn visit_open<B>(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        mut visit: impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<B>,
    ) -> Option<B> {
        if self.week.is_empty() {
            return None;
        }
        // Walk forward in stretches of one UTC offset, where local time is `instant + offset`.
        let mut start = from;
        while start < until {
            let offset = self.offset_at(start);
            let probe = start
                .checked_add_signed(OFFSET_PROBE)
                .map_or(until, |probe| probe.min(until));
            let end = if self.offset_at(probe) == offset {
                probe
            } else {
                self.offset_change(start, probe, offset)
            };
            if let ControlFlow::Break(value) = self.visit_open_in(start, end, offset, &mut visit) {
                return Some(value);
            }
            start = end;
        }
        None
    }

    /// [`visit_open`](Self::visit_open) for `[from, until)`, through which the offset is
    /// `offset`. Local times past the range of [`NaiveDateTime`] are taken as closed.
    fn visit_open_in<B>(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        offset: FixedOffset,
        visit: &mut impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let shift = TimeDelta::seconds(offset.local_minus_utc().into());
        let to_local = |at: DateTime<Utc>| at.naive_utc().checked_add_signed(shift);
        let to_utc = |local: NaiveDateTime| Some(local.checked_sub_signed(shift)?.and_utc());
        let (Some(local_from), Some(local_until)) = (to_local(from), to_local(until)) else {
            return ControlFlow::Continue(());
        };
        let mut date = local_from.date();
        while date <= local_until.date() {
            if !self.is_holiday(date) {
                let midnight = date.and_time(NaiveTime::MIN);
                for period in self.periods_on(date.weekday()) {
                    let (Some(start), Some(end)) = (
                        at_minute(midnight, period.start),
                        at_minute(midnight, period.end),
                    ) else {
                        return ControlFlow::Continue(());
                    };
                    let open = local_from.max(start);
                    let close = local_until.min(end);
                    if open < close {
                        let (Some(open), Some(close)) = (to_utc(open), to_utc(close)) else {
                            return ControlFlow::Continue(());
                        };
                        visit(open, close)?;
                    }
                }
            }
            let Some(next) = date.succ_opt() else {
                break;
            };
            date = next;
        }
        ControlFlow::Continue(())
    }
}

fn at_minute(midnight: NaiveDateTime, time: TimeOfDay) -> Option<NaiveDateTime> {
    midnight.checked_add_signed(TimeDelta::minutes(time.0.into()))
}

impl Default for WorkingHours {
    /// [`WorkingHours::always`].
    fn default() -> Self {
        Self::always()
    }
}

#[derive(Deserialize)]
struct WorkingHoursFields {
    time_zone: String,
    week: Vec<DayHours>,
    holidays: Vec<NaiveDate>,
}

impl TryFrom<WorkingHoursFields> for WorkingHours {
    type Error = InvalidInput;

    fn try_from(fields: WorkingHoursFields) -> Result<Self, Self::Error> {
        Self::new(&fields.time_zone, fields.week, fields.holidays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Weekday::*;

    /// Periods of one day as `(start, end)`, written `HH:MM`.
    type Periods = &'static [(&'static str, &'static str)];

    /// An instant written with its local offset, as a person in the zone would read it.
    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn day(day: Weekday, periods: Periods) -> DayHours {
        let periods = periods
            .iter()
            .map(|(start, end)| Period::parse(start, end).unwrap())
            .collect();
        DayHours::new(day, periods).unwrap()
    }

    /// The Kyiv office: lunch break on Monday, weekends closed, New Year off.
    fn kyiv_office() -> WorkingHours {
        let mut week = vec![day(Mon, &[("14:00", "18:00"), ("09:00", "13:00")])];
        week.extend([Tue, Wed, Thu, Fri].map(|d| day(d, &[("09:00", "18:00")])));
        week.push(day(Sat, &[]));
        WorkingHours::new("Europe/Kyiv", week, vec![date("2025-01-01")]).unwrap()
    }

    /// Kyiv, open only on Sundays, in `periods`: for the daylight-saving Sundays of 2025
    /// (30 March, 03:00 → 04:00; 26 October, 04:00 → 03:00).
    fn kyiv_sundays(periods: Periods) -> WorkingHours {
        WorkingHours::new("Europe/Kyiv", vec![day(Sun, periods)], vec![]).unwrap()
    }

    #[test]
    fn is_open_reads_local_wall_clock_time() {
        let office = kyiv_office();
        // 2025-03-03 is a Monday; Kyiv is at +02:00 until the end of March.
        let cases = [
            ("2025-03-03T08:59:59+02:00", false),
            ("2025-03-03T09:00:00+02:00", true),
            ("2025-03-03T10:00:00+02:00", true),
            ("2025-03-03T12:59:59+02:00", true),
            ("2025-03-03T13:00:00+02:00", false),
            ("2025-03-03T13:30:00+02:00", false),
            ("2025-03-03T14:00:00+02:00", true),
            ("2025-03-03T17:59:59+02:00", true),
            ("2025-03-03T18:00:00+02:00", false),
            // The same Monday 10:00 written in UTC.
            ("2025-03-03T08:00:00Z", true),
            // Tuesday 08:30 in Kyiv is still Tuesday 06:30 in UTC: closed, whatever UTC says.
            ("2025-03-04T06:30:00Z", false),
            ("2025-03-04T07:00:00Z", true),
            // Saturday, listed without periods; Sunday, not listed.
            ("2025-03-08T12:00:00+02:00", false),
            ("2025-03-09T12:00:00+02:00", false),
            // New Year's Day is a Wednesday and a holiday; the next day is not.
            ("2025-01-01T12:00:00+02:00", false),
            ("2025-01-02T12:00:00+02:00", true),
            // In summer Kyiv is at +03:00: 06:30 UTC is 09:30 local, open (in winter, closed).
            ("2025-07-07T08:59:59+03:00", false),
            ("2025-07-07T06:30:00Z", true),
        ];
        for (at, expected) in cases {
            assert_eq!(office.is_open(instant(at)), expected, "at {at}");
        }
    }

    #[test]
    fn a_holiday_is_a_local_date() {
        // Open around the clock on Wednesdays and Thursdays; Thursday 2 January 2025 is off.
        let all_day = &[("00:00", "24:00")];
        let hours = WorkingHours::new(
            "Europe/Kyiv",
            vec![day(Wed, all_day), day(Thu, all_day)],
            vec![date("2025-01-02")],
        )
        .unwrap();
        let cases = [
            // Still Wednesday in UTC, already the holiday in Kyiv.
            ("2025-01-01T21:59:59Z", true),
            ("2025-01-01T22:00:00Z", false),
            ("2025-01-02T21:59:59Z", false),
        ];
        for (at, expected) in cases {
            assert_eq!(hours.is_open(instant(at)), expected, "at {at}");
        }
        assert_eq!(
            hours.next_opening(instant("2025-01-01T22:00:00Z")),
            Some(instant("2025-01-08T00:00:00+02:00"))
        );
    }

    #[test]
    fn next_opening_finds_the_next_period() {
        let office = kyiv_office();
        let cases = [
            // Open now: the answer is `at` itself, to the nanosecond.
            ("2025-03-03T10:00:00.5+02:00", "2025-03-03T10:00:00.5+02:00"),
            // Lunch on Monday.
            ("2025-03-03T13:30:00+02:00", "2025-03-03T14:00:00+02:00"),
            // Friday evening → Monday morning.
            ("2025-03-07T19:00:00+02:00", "2025-03-10T09:00:00+02:00"),
            ("2025-03-07T18:00:00+02:00", "2025-03-10T09:00:00+02:00"),
            // Before opening on a weekday.
            ("2025-03-04T06:00:00+02:00", "2025-03-04T09:00:00+02:00"),
            // New Year's Eve (Tuesday) evening skips the holiday to Thursday.
            ("2024-12-31T20:00:00+02:00", "2025-01-02T09:00:00+02:00"),
            // Friday before the spring change → Monday, already at +03:00.
            ("2025-03-28T19:00:00+02:00", "2025-03-31T09:00:00+03:00"),
        ];
        for (at, expected) in cases {
            assert_eq!(
                office.next_opening(instant(at)),
                Some(instant(expected)),
                "from {at}"
            );
        }
    }

    #[test]
    fn spring_forward_skips_the_missing_hour() {
        // 2025-03-30: at 03:00 (+02:00) the clocks jump to 04:00 (+03:00).
        let cases: &[(Periods, &str, bool)] = &[
            // A period across the gap is open on both sides of it: two real hours, not three.
            (&[("02:00", "05:00")], "2025-03-30T02:30:00+02:00", true),
            (&[("02:00", "05:00")], "2025-03-30T00:59:59Z", true),
            (&[("02:00", "05:00")], "2025-03-30T04:00:00+03:00", true),
            (&[("02:00", "05:00")], "2025-03-30T05:00:00+03:00", false),
            // A period that begins in the gap is open from the jump.
            (&[("03:30", "05:00")], "2025-03-30T02:59:59+02:00", false),
            (&[("03:30", "05:00")], "2025-03-30T04:00:00+03:00", true),
        ];
        for (periods, at, expected) in cases {
            let hours = kyiv_sundays(periods);
            assert_eq!(hours.is_open(instant(at)), *expected, "{periods:?} at {at}");
        }
    }

    #[test]
    fn next_opening_across_daylight_saving_changes() {
        let cases: &[(Periods, &str, &str)] = &[
            // Spring forward, 2025-03-30, 03:00 (+02:00) → 04:00 (+03:00).
            // A start in the gap opens at the jump: the earliest instant inside the period.
            (
                &[("03:30", "05:00")],
                "2025-03-29T20:00:00+02:00",
                "2025-03-30T04:00:00+03:00",
            ),
            // A start before the gap opens as usual, at +02:00.
            (
                &[("02:00", "05:00")],
                "2025-03-29T20:00:00+02:00",
                "2025-03-30T02:00:00+02:00",
            ),
            // A period wholly in the gap does not happen that day; next Sunday it does.
            (
                &[("03:15", "03:45")],
                "2025-03-29T20:00:00+02:00",
                "2025-04-06T03:15:00+03:00",
            ),
            // Fall back, 2025-10-26, 04:00 (+03:00) → 03:00 (+02:00): 03:00–04:00 happens twice.
            // The first pass comes first…
            (
                &[("03:00", "03:30")],
                "2025-10-26T02:00:00+03:00",
                "2025-10-26T03:00:00+03:00",
            ),
            // …and after it closes, the second pass opens it again.
            (
                &[("03:00", "03:30")],
                "2025-10-26T03:45:00+03:00",
                "2025-10-26T03:00:00+02:00",
            ),
            // The clocks going back can land inside a period: it opens at the change itself.
            (
                &[("02:30", "03:30")],
                "2025-10-26T03:45:00+03:00",
                "2025-10-26T03:00:00+02:00",
            ),
        ];
        for (periods, at, expected) in cases {
            let hours = kyiv_sundays(periods);
            let opening = hours.next_opening(instant(at));
            assert_eq!(opening, Some(instant(expected)), "{periods:?} from {at}");
            assert!(hours.is_open(opening.unwrap()), "{periods:?} from {at}");
        }
    }

    #[test]
    fn periods_ending_at_midnight() {
        // A night shift in Kyiv: Monday 20:00 to Tuesday 04:00, and Wednesday 20:00–24:00.
        let hours = WorkingHours::new(
            "Europe/Kyiv",
            vec![
                day(Mon, &[("20:00", "24:00")]),
                day(Tue, &[("00:00", "04:00")]),
                day(Wed, &[("20:00", "24:00")]),
            ],
            vec![],
        )
        .unwrap();
        let is_open = [
            ("2025-03-03T19:59:59+02:00", false),
            ("2025-03-03T20:00:00+02:00", true),
            ("2025-03-03T23:59:59+02:00", true),
            ("2025-03-04T00:00:00+02:00", true),
            ("2025-03-04T03:59:59+02:00", true),
            ("2025-03-04T04:00:00+02:00", false),
            ("2025-03-05T23:59:59+02:00", true),
            ("2025-03-06T00:00:00+02:00", false),
        ];
        for (at, expected) in is_open {
            assert_eq!(hours.is_open(instant(at)), expected, "at {at}");
        }
        let next_opening = [
            ("2025-03-04T04:00:00+02:00", "2025-03-05T20:00:00+02:00"),
            ("2025-03-06T00:00:00+02:00", "2025-03-10T20:00:00+02:00"),
        ];
        for (at, expected) in next_opening {
            assert_eq!(
                hours.next_opening(instant(at)),
                Some(instant(expected)),
                "from {at}"
            );
        }
    }

    #[test]
    fn always_is_open_and_is_the_default() {
        let always = WorkingHours::default();
        assert_eq!(always, WorkingHours::always());
        for at in ["2025-03-08T00:00:00Z", "2025-12-31T23:59:59Z"] {
            assert!(always.is_open(instant(at)), "at {at}");
            assert_eq!(always.next_opening(instant(at)), Some(instant(at)));
        }
    }

    #[test]
    fn never_open_has_no_next_opening() {
        let never = WorkingHours::new("Europe/Kyiv", vec![day(Mon, &[])], vec![]).unwrap();
        let at = instant("2025-03-03T10:00:00+02:00");
        assert!(!never.is_open(at));
        assert_eq!(never.next_opening(at), None);

        // Open on Wednesdays, but every day of the 400 searched is a holiday.
        let mut holidays: Vec<_> = (0..=400)
            .map(|days| date("2025-01-01") + TimeDelta::days(days))
            .collect();
        holidays.reverse();
        let all_holidays =
            WorkingHours::new("UTC", vec![day(Wed, &[("09:00", "10:00")])], holidays).unwrap();
        assert_eq!(
            all_holidays.next_opening(instant("2025-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn new_refuses_invalid_input() {
        fn malformed<T>(field: &'static str, expected: &'static str) -> Result<T, InvalidInput> {
            Err(InvalidInput::Malformed { field, expected })
        }
        let bad_time = "a time of day as HH:MM, from 00:00 to 24:00";
        let period_cases = [
            ("09:00", "13:00", Ok(())),
            ("00:00", "24:00", Ok(())),
            ("9:00", "13:00", malformed("start", bad_time)),
            ("09:00", "25:00", malformed("end", bad_time)),
            ("09:00", "24:01", malformed("end", bad_time)),
            ("09:60", "13:00", malformed("start", bad_time)),
            ("09:00:00", "13:00", malformed("start", bad_time)),
            ("ab:cd", "13:00", malformed("start", bad_time)),
            ("", "13:00", malformed("start", bad_time)),
            ("０9:00", "13:00", malformed("start", bad_time)),
        ];
        for (start, end, expected) in period_cases {
            assert_eq!(
                Period::parse(start, end).map(|_| ()),
                expected,
                "{start}–{end}"
            );
        }

        let not_before_end = "a start earlier than its end, such as 09:00 to 13:00";
        for (start, end) in [("13:00", "13:00"), ("14:00", "09:00"), ("24:00", "24:00")] {
            assert_eq!(
                Period::parse(start, end),
                malformed("period", not_before_end),
                "{start}–{end}"
            );
        }

        let overlapping = "periods of one day that do not overlap";
        let overlap_cases: [(Periods, _); 4] = [
            (&[("09:00", "13:00"), ("13:00", "18:00")], Ok(())),
            (
                &[("12:00", "18:00"), ("09:00", "13:00")],
                malformed("periods", overlapping),
            ),
            (
                &[("09:00", "13:00"), ("09:00", "13:00")],
                malformed("periods", overlapping),
            ),
            (
                &[("09:00", "18:00"), ("10:00", "11:00")],
                malformed("periods", overlapping),
            ),
        ];
        for (periods, expected) in overlap_cases {
            let periods = periods
                .iter()
                .map(|(start, end)| Period::parse(start, end).unwrap())
                .collect();
            assert_eq!(DayHours::new(Mon, periods).map(|_| ()), expected);
        }

        let nine_to_five = || day(Mon, &[("09:00", "17:00")]);
        let bad_zone = "an IANA time zone name, such as Europe/Kyiv";
        let hours_cases = [
            ("Europe/Kyiv", vec![nine_to_five()], Ok(())),
            ("UTC", vec![], Ok(())),
            ("Europe/Atlantis", vec![], malformed("time_zone", bad_zone)),
            ("europe/kyiv", vec![], malformed("time_zone", bad_zone)),
            ("+02:00", vec![], malformed("time_zone", bad_zone)),
            ("", vec![], malformed("time_zone", bad_zone)),
            (
                "Europe/Kyiv",
                vec![nine_to_five(), day(Tue, &[]), nine_to_five()],
                malformed("week", "each weekday at most once"),
            ),
            (
                "Europe/Kyiv",
                vec![day(Sat, &[]), day(Sat, &[])],
                malformed("week", "each weekday at most once"),
            ),
        ];
        for (zone, week, expected) in hours_cases {
            assert_eq!(
                WorkingHours::new(zone, week, vec![]).map(|_| ()),
                expected,
                "zone {zone:?}"
            );
        }

        assert_eq!(parse_weekday("sun"), Ok(Sun));
        for text in ["Mon", "monday", ""] {
            assert_eq!(
                parse_weekday(text),
                malformed("day", "a weekday: mon, tue, wed, thu, fri, sat or sun"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn new_gives_one_spelling_per_schedule() {
        let hours = WorkingHours::new(
            "Europe/Kyiv",
            vec![
                day(Sun, &[]),
                day(Wed, &[("14:00", "18:00"), ("09:00", "13:00")]),
                day(Mon, &[("09:00", "18:00")]),
            ],
            vec![date("2025-12-25"), date("2025-01-01"), date("2025-12-25")],
        )
        .unwrap();
        assert_eq!(hours.time_zone(), chrono_tz::Europe::Kyiv);
        assert_eq!(
            hours.week(),
            [
                day(Mon, &[("09:00", "18:00")]),
                day(Wed, &[("09:00", "13:00"), ("14:00", "18:00")]),
            ]
        );
        assert_eq!(hours.periods_on(Sun), []);
        assert_eq!(hours.holidays(), [date("2025-01-01"), date("2025-12-25")]);
    }

    #[test]
    fn stored_json_shape() {
        let office = WorkingHours::new(
            "Europe/Kyiv",
            kyiv_office().week().to_vec(),
            vec![date("2025-12-25"), date("2025-01-01")],
        )
        .unwrap();
        insta::assert_json_snapshot!(office);
    }

    #[test]
    fn json_round_trips() {
        for hours in [kyiv_office(), WorkingHours::always()] {
            let json = serde_json::to_string(&hours).unwrap();
            let back: WorkingHours = serde_json::from_str(&json).unwrap();
            assert_eq!(back, hours, "{json}");
        }
    }

    #[test]
    fn deserialising_validates() {
        let json = |time_zone: &str, day: &str, periods: &str, holidays: &str| {
            format!(
                r#"{{"time_zone":"{time_zone}","week":[{{"day":"{day}","periods":{periods}}}],"holidays":{holidays}}}"#
            )
        };
        let nine_to_one = r#"[{"start":"09:00","end":"13:00"}]"#;
        let accepted: WorkingHours = serde_json::from_str(&json(
            "Europe/Kyiv",
            "mon",
            nine_to_one,
            r#"["2025-12-25","2025-01-01"]"#,
        ))
        .unwrap();
        assert_eq!(
            accepted,
            WorkingHours::new(
                "Europe/Kyiv",
                vec![day(Mon, &[("09:00", "13:00")])],
                vec![date("2025-01-01"), date("2025-12-25")],
            )
            .unwrap()
        );

        let refused = [
            json("Mars/Olympus", "mon", nine_to_one, "[]"),
            json("Europe/Kyiv", "Mon", nine_to_one, "[]"),
            json(
                "Europe/Kyiv",
                "mon",
                r#"[{"start":"13:00","end":"09:00"}]"#,
                "[]",
            ),
            json(
                "Europe/Kyiv",
                "mon",
                r#"[{"start":"09:00","end":"13:00"},{"start":"12:00","end":"14:00"}]"#,
                "[]",
            ),
            json(
                "Europe/Kyiv",
                "mon",
                r#"[{"start":"9:00","end":"13:00"}]"#,
                "[]",
            ),
            json("Europe/Kyiv", "mon", nine_to_one, r#"["25.12.2025"]"#),
            r#"{"time_zone":"UTC","week":[{"day":"mon","periods":[]},{"day":"mon","periods":[]}],"holidays":[]}"#.to_owned(),
        ];
        for text in refused {
            assert!(
                serde_json::from_str::<WorkingHours>(&text).is_err(),
                "accepted {text}"
            );
        }
    }

    #[test]
    fn open_seconds_between_counts_business_hours() {
        let office = kyiv_office();
        // Kyiv is at +02:00 until 30 March 2025, then at +03:00 until 26 October.
        let cases = [
            // Friday 17:30 to Monday 09:15: 30 minutes on Friday, 15 on Monday.
            (
                "2025-03-07T17:30:00+02:00",
                "2025-03-10T09:15:00+02:00",
                2_700,
            ),
            // Within one period.
            (
                "2025-03-04T10:00:00+02:00",
                "2025-03-04T11:00:00+02:00",
                3_600,
            ),
            // Starting and ending outside hours: all of Tuesday's 09:00–18:00.
            (
                "2025-03-04T06:00:00+02:00",
                "2025-03-04T20:00:00+02:00",
                32_400,
            ),
            // Starting outside and ending inside, and the other way round.
            (
                "2025-03-04T07:00:00+02:00",
                "2025-03-04T09:30:00+02:00",
                1_800,
            ),
            (
                "2025-03-04T17:15:00+02:00",
                "2025-03-04T23:00:00+02:00",
                2_700,
            ),
            // Across Monday's lunch break: 12:30–13:00 and 14:00–14:30.
            (
                "2025-03-03T12:30:00+02:00",
                "2025-03-03T14:30:00+02:00",
                3_600,
            ),
            // Within the lunch break, and over the weekend: nothing.
            ("2025-03-03T13:05:00+02:00", "2025-03-03T13:55:00+02:00", 0),
            ("2025-03-07T18:00:00+02:00", "2025-03-10T09:00:00+02:00", 0),
            // A week: 4 + 4 hours on Monday, 9 on each of Tuesday to Friday.
            (
                "2025-03-03T00:00:00+02:00",
                "2025-03-10T00:00:00+02:00",
                158_400,
            ),
            // New Year's Day (a Wednesday) is a holiday: Tuesday 17:00–18:00, Thursday 09:00–10:00.
            (
                "2024-12-31T17:00:00+02:00",
                "2025-01-02T10:00:00+02:00",
                7_200,
            ),
            // In summer, at +03:00, 06:00–12:00 UTC is 09:00–15:00 local.
            ("2025-07-08T06:00:00Z", "2025-07-08T12:00:00Z", 21_600),
            // Over the weekend the clocks go forward: Friday 17:00–18:00, Monday 09:00–10:00.
            (
                "2025-03-28T17:00:00+02:00",
                "2025-03-31T10:00:00+03:00",
                7_200,
            ),
            // 2025, from Wednesday 1 January: 52 weeks of 44 hours, plus Wednesday 31 December,
            // less New Year's Day: 2288 hours.
            (
                "2025-01-01T00:00:00+02:00",
                "2026-01-01T00:00:00+02:00",
                8_236_800,
            ),
            // Whole seconds, rounded down: 0.9 s and 1.2 s of open time.
            (
                "2025-03-04T10:00:00.6+02:00",
                "2025-03-04T10:00:01.5+02:00",
                0,
            ),
            (
                "2025-03-04T08:59:59.5+02:00",
                "2025-03-04T09:00:01.2+02:00",
                1,
            ),
            // An empty range and a backward one.
            ("2025-03-04T10:00:00+02:00", "2025-03-04T10:00:00+02:00", 0),
            ("2025-03-04T11:00:00+02:00", "2025-03-04T10:00:00+02:00", 0),
        ];
        for (from, to, expected) in cases {
            assert_eq!(
                office.open_seconds_between(instant(from), instant(to)),
                expected,
                "from {from} to {to}"
            );
        }
    }

    #[test]
    fn deadline_after_counts_business_hours() {
        let office = kyiv_office();
        let cases = [
            // 45 minutes from Friday 17:30: 30 on Friday, 15 on Monday.
            (
                "2025-03-07T17:30:00+02:00",
                2_700,
                "2025-03-10T09:15:00+02:00",
            ),
            // Used up exactly at a closing: the closing, not the next opening.
            (
                "2025-03-07T17:30:00+02:00",
                1_800,
                "2025-03-07T18:00:00+02:00",
            ),
            (
                "2025-03-07T17:30:00+02:00",
                1_801,
                "2025-03-10T09:00:01+02:00",
            ),
            // Around Monday's lunch break.
            (
                "2025-03-03T12:00:00+02:00",
                3_600,
                "2025-03-03T13:00:00+02:00",
            ),
            (
                "2025-03-03T12:00:00+02:00",
                7_200,
                "2025-03-03T15:00:00+02:00",
            ),
            // From a closed Saturday.
            ("2025-03-08T12:00:00+02:00", 60, "2025-03-10T09:01:00+02:00"),
            // Over the New Year's Day holiday.
            (
                "2024-12-31T17:00:00+02:00",
                7_200,
                "2025-01-02T10:00:00+02:00",
            ),
            // Over the weekend the clocks go forward.
            (
                "2025-03-28T17:00:00+02:00",
                7_200,
                "2025-03-31T10:00:00+03:00",
            ),
            // The open time of 2025 runs out at its last closing.
            (
                "2025-01-01T00:00:00+02:00",
                8_236_800,
                "2025-12-31T18:00:00+02:00",
            ),
            // Fractions of a second in `from` carry over.
            (
                "2025-03-04T10:00:00.25+02:00",
                1,
                "2025-03-04T10:00:01.25+02:00",
            ),
            // Nothing to wait for: `from` itself, open or closed.
            ("2025-03-08T12:00:00+02:00", 0, "2025-03-08T12:00:00+02:00"),
            ("2025-03-08T12:00:00+02:00", -5, "2025-03-08T12:00:00+02:00"),
        ];
        for (from, open_seconds, expected) in cases {
            let from = instant(from);
            let deadline = office.deadline_after(from, open_seconds);
            assert_eq!(
                deadline,
                Some(instant(expected)),
                "{open_seconds} s from {from}"
            );
            assert_eq!(
                office.open_seconds_between(from, deadline.unwrap()),
                open_seconds.max(0),
                "{open_seconds} s from {from}"
            );
        }
    }

    #[test]
    fn open_time_across_daylight_saving_changes() {
        // Sundays only; the ranges run from Saturday noon to Monday noon.
        let spring = ("2025-03-29T12:00:00+02:00", "2025-03-31T12:00:00+03:00");
        let autumn = ("2025-10-25T12:00:00+03:00", "2025-10-27T12:00:00+02:00");
        let cases: &[(Periods, (&str, &str), i64)] = &[
            // Spring forward, 2025-03-30, 03:00 (+02:00) → 04:00 (+03:00).
            // Nine real hours from 09:00 to 18:00; 23 in the whole day.
            (&[("09:00", "18:00")], spring, 32_400),
            (&[("00:00", "24:00")], spring, 82_800),
            // Across the gap: 02:00–03:00 and 04:00–05:00.
            (&[("02:00", "05:00")], spring, 7_200),
            // Ending where the gap ends: only 02:00–03:00.
            (&[("02:00", "04:00")], spring, 3_600),
            // Starting in the gap: open from the jump, 04:00–05:00.
            (&[("03:30", "05:00")], spring, 3_600),
            // Wholly in the gap: never open.
            (&[("03:15", "03:45")], spring, 0),
            // Fall back, 2025-10-26, 04:00 (+03:00) → 03:00 (+02:00).
            // Nine real hours from 09:00 to 18:00; 25 in the whole day.
            (&[("09:00", "18:00")], autumn, 32_400),
            (&[("00:00", "24:00")], autumn, 90_000),
            // 02:00–04:00 at +03:00, then 03:00–05:00 at +02:00: four real hours.
            (&[("02:00", "05:00")], autumn, 14_400),
            // Within the repeated hour, open both times through it.
            (&[("03:00", "03:30")], autumn, 3_600),
            (&[("03:30", "04:00")], autumn, 3_600),
            // 02:30–03:30 at +03:00, then 03:00–03:30 at +02:00.
            (&[("02:30", "03:30")], autumn, 5_400),
            // From the first pass to the second: 03:15–03:30 at +03:00, 03:00–03:15 at +02:00.
            (
                &[("03:00", "03:30")],
                ("2025-10-26T03:15:00+03:00", "2025-10-26T03:15:00+02:00"),
                1_800,
            ),
        ];
        for (periods, (from, to), expected) in cases {
            let hours = kyiv_sundays(periods);
            let (from, to) = (instant(from), instant(to));
            assert_eq!(
                hours.open_seconds_between(from, to),
                *expected,
                "{periods:?} from {from} to {to}"
            );
            let deadline = hours.deadline_after(from, *expected).unwrap();
            assert!(deadline <= to, "{periods:?} from {from}");
            assert_eq!(
                hours.open_seconds_between(from, deadline),
                *expected,
                "{periods:?} from {from}"
            );
        }

        let deadlines: &[(Periods, &str, i64, &str)] = &[
            // 60 minutes from 02:00 to the gap, 30 from the jump.
            (
                &[("02:00", "05:00")],
                "2025-03-30T01:00:00+02:00",
                5_400,
                "2025-03-30T04:30:00+03:00",
            ),
            // Nine real hours after the jump.
            (
                &[("09:00", "18:00")],
                "2025-03-29T12:00:00+02:00",
                32_400,
                "2025-03-30T18:00:00+03:00",
            ),
            // A period wholly in the gap waits for the next Sunday.
            (
                &[("03:15", "03:45")],
                "2025-03-29T12:00:00+02:00",
                60,
                "2025-04-06T03:16:00+03:00",
            ),
            // 30 minutes in the first pass through 03:00–03:30, 15 in the second.
            (
                &[("03:00", "03:30")],
                "2025-10-26T02:00:00+03:00",
                2_700,
                "2025-10-26T03:15:00+02:00",
            ),
            // Four real hours from 02:00 end at 05:00, after the clocks went back.
            (
                &[("02:00", "05:00")],
                "2025-10-26T00:00:00+03:00",
                14_400,
                "2025-10-26T05:00:00+02:00",
            ),
        ];
        for (periods, from, open_seconds, expected) in deadlines {
            let hours = kyiv_sundays(periods);
            assert_eq!(
                hours.deadline_after(instant(from), *open_seconds),
                Some(instant(expected)),
                "{periods:?}: {open_seconds} s from {from}"
            );
        }
    }

    #[test]
    fn always_open_counts_every_second() {
        // Around the clock in Kyiv, with a holiday long ago: open through both daylight-saving
        // changes of 2025, counted period by period rather than as plain elapsed time.
        let all_day = &[("00:00", "24:00")];
        let kyiv_all_day = WorkingHours::new(
            "Europe/Kyiv",
            [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
                .map(|d| day(d, all_day))
                .to_vec(),
            vec![date("1999-01-01")],
        )
        .unwrap();
        let ranges = [
            ("2025-03-29T12:00:00+02:00", "2025-03-31T12:00:00+03:00"),
            ("2025-10-25T12:00:00+03:00", "2025-10-27T12:00:00+02:00"),
            ("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            ("2025-03-08T00:00:00.75Z", "2025-03-08T00:00:02.5Z"),
        ];
        for hours in [WorkingHours::default(), kyiv_all_day] {
            for (from, to) in ranges {
                let (from, to) = (instant(from), instant(to));
                let elapsed = (to - from).num_seconds();
                assert_eq!(hours.open_seconds_between(from, to), elapsed, "{from}–{to}");
                assert_eq!(
                    hours.deadline_after(from, elapsed),
                    Some(from + TimeDelta::seconds(elapsed)),
                    "{from}–{to}"
                );
            }
        }

        let always = WorkingHours::always();
        let (first, last) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            always.open_seconds_between(first, last),
            (last - first).num_seconds()
        );
        // A deadline past the last instant there is.
        assert_eq!(
            always.deadline_after(last - TimeDelta::seconds(10), 11),
            None
        );
        assert_eq!(always.deadline_after(first, i64::MAX), None);
    }

    #[test]
    fn deadline_after_gives_up_after_the_search_horizon() {
        let never = WorkingHours::new("Europe/Kyiv", vec![day(Mon, &[])], vec![]).unwrap();
        let at = instant("2025-03-03T10:00:00+02:00");
        assert_eq!(
            never.open_seconds_between(at, at + TimeDelta::days(3650)),
            0
        );
        assert_eq!(never.deadline_after(at, 1), None);
        assert_eq!(never.deadline_after(at, 0), Some(at));

        // Open 09:00–10:00 UTC on Wednesdays and Thursdays, from Wednesday 1 January 2025, with
        // every day from 2 January to `last` a holiday.
        let with_holidays_until = |last: &str| {
            let first = date("2025-01-02");
            let holidays = (0..=(date(last) - first).num_days())
                .map(|days| first + TimeDelta::days(days))
                .collect();
            let nine_to_ten = &[("09:00", "10:00")];
            let week = vec![day(Wed, nine_to_ten), day(Thu, nine_to_ten)];
            WorkingHours::new("UTC", week, holidays).unwrap()
        };
        let from = instant("2025-01-01T00:00:00Z");
        let closing = instant("2025-01-01T10:00:00Z");

        // Closed from 1 January 2025 10:00 to Thursday 5 February 2026 09:00, an hour short of
        // 400 days: the wait goes on, though it ends more than 400 days after `from`.
        let hours = with_holidays_until("2026-02-04");
        assert_eq!(hours.deadline_after(from, 3_600), Some(closing));
        assert_eq!(
            hours.next_opening(closing),
            Some(instant("2026-02-05T09:00:00Z"))
        );
        let deadline = hours.deadline_after(from, 3_601);
        assert_eq!(deadline, Some(instant("2026-02-05T09:00:01Z")));
        assert_eq!(hours.open_seconds_between(from, deadline.unwrap()), 3_601);

        // A day more, and the next opening (Wednesday 11 February 2026) is too far away.
        let hours = with_holidays_until("2026-02-05");
        assert_eq!(hours.deadline_after(from, 3_600), Some(closing));
        assert_eq!(hours.next_opening(closing), None);
        assert_eq!(hours.deadline_after(from, 3_601), None);
        // Counting between two given instants has no horizon.
        assert_eq!(
            hours.open_seconds_between(from, instant("2026-02-12T00:00:00Z")),
            7_200
        );
    }

    /// Short periods on every day but Wednesday, around the local times clocks change at.
    fn fiddly_hours(time_zone: &str, holidays: Vec<NaiveDate>) -> WorkingHours {
        let periods: Periods = &[
            ("00:00", "00:01"),
            ("00:30", "01:10"),
            ("01:20", "01:45"),
            ("01:50", "02:40"),
            ("02:45", "03:05"),
            ("03:10", "03:40"),
            ("03:50", "05:00"),
            ("09:00", "13:00"),
            ("22:59", "23:30"),
            ("23:45", "24:00"),
        ];
        let week = [Mon, Tue, Thu, Fri, Sat, Sun].map(|d| day(d, periods));
        WorkingHours::new(time_zone, week.to_vec(), holidays).unwrap()
    }

    #[test]
    fn open_time_agrees_with_is_open_minute_by_minute() {
        // Periods and UTC offsets are whole minutes, so from a whole minute `is_open` holds
        // through each minute or not at all, and sampling minutes counts open seconds exactly.
        // (zone, start at 00:00 UTC, days, holidays): ranges over daylight-saving changes.
        let cases: &[(&str, &str, i64, &[&str])] = &[
            // 30 March and 26 October 2025: 03:00 → 04:00 and 04:00 → 03:00.
            ("Europe/Kyiv", "2025-03-29", 3, &[]),
            ("Europe/Kyiv", "2025-03-29", 3, &["2025-03-30"]),
            ("Europe/Kyiv", "2025-10-25", 3, &[]),
            ("Europe/Kyiv", "2025-10-25", 3, &["2025-10-26"]),
            // 9 March and 2 November 2025: 02:00 → 03:00 and 02:00 → 01:00.
            ("America/New_York", "2025-03-08", 3, &[]),
            ("America/New_York", "2025-11-01", 3, &["2025-11-03"]),
            // Half-hour changes, 6 April and 5 October 2025: 02:00 → 01:30, 02:00 → 02:30.
            ("Australia/Lord_Howe", "2025-04-04", 3, &[]),
            ("Australia/Lord_Howe", "2025-10-03", 3, &[]),
            // At midnight: Saturday 5 April 2025 24:00 → 23:00; Sunday 7 September 00:00 → 01:00.
            ("America/Santiago", "2025-04-04", 3, &[]),
            ("America/Santiago", "2025-09-05", 3, &[]),
            // Samoa skipped Friday 30 December 2011 entirely.
            ("Pacific/Apia", "2011-12-28", 4, &["2011-12-29"]),
        ];
        for (zone, start, days, holidays) in cases {
            let hours = fiddly_hours(zone, holidays.iter().map(|text| date(text)).collect());
            let from = instant(&format!("{start}T00:00:00Z"));
            let minute = |n: i64| from + TimeDelta::minutes(n);
            let minutes = days * 24 * 60;
            let open: Vec<bool> = (0..minutes)
                .map(|n| {
                    let open = hours.is_open(minute(n));
                    let last_second = minute(n) + TimeDelta::seconds(59);
                    assert_eq!(hours.is_open(last_second), open, "{zone} at {last_second}");
                    open
                })
                .collect();
            let total = 60 * open.iter().filter(|open| **open).count() as i64;
            let to = minute(minutes);
            assert_eq!(
                hours.open_seconds_between(from, to),
                total,
                "{zone} {start}"
            );
            let mut before = 0;
            for (n, is_open) in (0..).zip(open) {
                let at = minute(n);
                assert_eq!(
                    hours.open_seconds_between(from, at),
                    before,
                    "{zone} to {at}"
                );
                assert_eq!(
                    hours.open_seconds_between(at, to),
                    total - before,
                    "{zone} from {at}"
                );
                if is_open {
                    before += 60;
                    assert_eq!(
                        hours.deadline_after(from, before),
                        Some(minute(n + 1)),
                        "{zone}: {before} s from {from}"
                    );
                    assert_eq!(
                        hours.deadline_after(from, before - 59),
                        Some(at + TimeDelta::seconds(1)),
                        "{zone}: {} s from {from}",
                        before - 59
                    );
                }
            }
        }
    }

    /// Kyiv hours that meet both daylight-saving changes, a holiday and midnight.
    fn awkward_hours() -> WorkingHours {
        WorkingHours::new(
            "Europe/Kyiv",
            vec![
                day(Mon, &[("09:00", "13:00"), ("14:00", "18:00")]),
                day(Fri, &[("22:00", "24:00")]),
                day(Sat, &[("00:00", "00:01")]),
                day(
                    Sun,
                    &[("02:30", "02:50"), ("03:20", "03:40"), ("03:50", "05:00")],
                ),
            ],
            vec![date("2025-03-31"), date("2025-10-27")],
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// `next_opening` agrees with `is_open`: what it returns is open, and every minute
        /// before it (from `at`) is closed.
        #[test]
        fn next_opening_is_the_first_open_instant(
            // 2025-03-20 to 2025-11-05: both daylight-saving changes of 2025.
            seconds in 1_742_428_800_i64..1_762_300_800_i64,
        ) {
            let hours = awkward_hours();
            let at = DateTime::from_timestamp(seconds, 0).unwrap();
            let opening = hours.next_opening(at).expect("opens every week");
            prop_assert!(opening >= at);
            prop_assert!(hours.is_open(opening));
            prop_assert!(opening == at || !hours.is_open(opening - TimeDelta::seconds(1)));
            let mut probe = at;
            while probe < opening {
                prop_assert!(!hours.is_open(probe), "open at {} before {}", probe, opening);
                probe += TimeDelta::minutes(1);
            }
        }

        /// `deadline_after` undoes `open_seconds_between`: `open_seconds` of open time have
        /// passed at the deadline, and one nanosecond before it they had not, inside open time.
        #[test]
        fn deadline_after_is_the_first_instant_with_that_much_open_time(
            seconds in 1_742_428_800_i64..1_762_300_800_i64,
            nanos in 0_u32..1_000_000_000,
            // Up to about a year of `awkward_hours`.
            open_seconds in 0_i64..2_000_000,
        ) {
            let hours = awkward_hours();
            let from = DateTime::from_timestamp(seconds, nanos).unwrap();
            let deadline = hours.deadline_after(from, open_seconds).expect("opens every week");
            prop_assert!(deadline >= from);
            prop_assert_eq!(hours.open_seconds_between(from, deadline), open_seconds);
            if open_seconds > 0 {
                let just_before = deadline - TimeDelta::nanoseconds(1);
                prop_assert_eq!(hours.open_seconds_between(from, just_before), open_seconds - 1);
                prop_assert!(hours.is_open(just_before));
            }
        }

        /// And the other way round: the open time of `[from, to)` has passed by `to`, with less
        /// than a second of it left over.
        #[test]
        fn open_seconds_between_has_passed_by_the_end(
            from in 1_742_428_800_000_i64..1_762_300_800_000_i64,
            length in 0_i64..5_000_000_000,
        ) {
            let hours = awkward_hours();
            let from = DateTime::from_timestamp_millis(from).unwrap();
            let to = from + TimeDelta::milliseconds(length);
            let open_seconds = hours.open_seconds_between(from, to);
            prop_assert!(open_seconds <= (to - from).num_seconds());
            let deadline = hours.deadline_after(from, open_seconds).expect("opens every week");
            prop_assert!(deadline <= to);
            prop_assert_eq!(hours.open_seconds_between(deadline, to), 0);
        }
    }
}
