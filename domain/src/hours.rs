//! Working hours of an inbox (SPEC INBOX-3): opening periods per weekday, in the inbox's time
//! zone, and holidays that close a whole local day. Outside them nothing is auto-assigned and
//! the widget is told `outside_working_hours`.
//!
//! A [`WorkingHours`] that exists is valid: [`WorkingHours::new`] checks, and deserialising
//! goes through the same checks, so a value read back from an event payload can be trusted.
//! Periods are local wall-clock times; the questions ([`WorkingHours::is_open`],
//! [`WorkingHours::next_opening`]) take and give instants in UTC. Across daylight-saving
//! changes a local time skipped by the clocks is never open, and one the clocks repeat is open
//! both times.
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

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::InvalidInput;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// How far [`WorkingHours::next_opening`] looks: over a year, so a full year of holidays
/// cannot hide the regular week behind them.
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
        if self.week.is_empty() {
            return None;
        }
        let horizon = at
            .checked_add_signed(SEARCH_HORIZON)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        // Walk forward in stretches of one UTC offset, where local time is `instant + offset`.
        let mut from = at;
        while from < horizon {
            let offset = self.offset_at(from);
            let probe = from
                .checked_add_signed(OFFSET_PROBE)
                .map_or(horizon, |probe| probe.min(horizon));
            let until = if self.offset_at(probe) == offset {
                probe
            } else {
                self.offset_change(from, probe, offset)
            };
            if let Some(opening) = self.first_open_between(from, until, offset) {
                return Some(opening);
            }
            from = until;
        }
        None
    }

    fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.binary_search(&date).is_ok()
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

    /// The first open instant in `[from, until)`, through which the offset is `offset`.
    fn first_open_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        offset: FixedOffset,
    ) -> Option<DateTime<Utc>> {
        let shift = TimeDelta::seconds(offset.local_minus_utc().into());
        let local_from = from.naive_utc().checked_add_signed(shift)?;
        let local_until = until.naive_utc().checked_add_signed(shift)?;
        let mut date = local_from.date();
        while date <= local_until.date() {
            if !self.is_holiday(date) {
                let midnight = date.and_time(NaiveTime::MIN);
                for period in self.periods_on(date.weekday()) {
                    let open = local_from.max(at_minute(midnight, period.start)?);
                    let close = local_until.min(at_minute(midnight, period.end)?);
                    if open < close {
                        return Some(open.checked_sub_signed(shift)?.and_utc());
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
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
    }
}
