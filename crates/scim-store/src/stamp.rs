//! Timestamps bound on the SQLite writer thread, written without chrono's format machinery.
//!
//! Diesel writes a `NaiveDateTime` for SQLite as `format("%F %T%.f").to_string()`: chrono
//! parses the format string and formats item by item on every bind. A user create binds four
//! timestamps on the writer thread, which every write of the process shares, and that was 3%
//! of its time per create (`perf`: `write_to<StrftimeItems>` under diesel's `to_sql`).
//! [`Stamp`] writes the same text directly. PostgreSQL gets the `NaiveDateTime` as before
//! (binary, no text).
//!
//! Reading is the mirror image: diesel reads a SQLite timestamp by trying chrono's
//! `parse_from_str` with one format after another, ~3 000 instructions a value, and every
//! resource a GET or a list page answers carries two (`callgrind`: 6% of a GET by id).
//! [`Stamp`] reads the text it writes digit by digit and leaves anything else to diesel.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;
use scim_core::resource::push_datetime;

/// A `TIMESTAMP` value, stored on SQLite as the text diesel's own `NaiveDateTime` would store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub(crate) struct Stamp(pub(crate) NaiveDateTime);

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite_text(value.read_text()) {
            return Ok(Stamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

/// The instant of [`sqlite_text`]'s text (`YYYY-MM-DD HH:MM:SS` and an optional fraction of
/// 1 to 9 digits), or `None` for any other text, which diesel then reads its own way.
pub(crate) fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || [b[4], b[7], b[10], b[13], b[16]] != *b"-- ::" {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0_u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match b.get(19..) {
        Some([]) => 0,
        Some([b'.', frac @ ..]) if (1..=9).contains(&frac.len()) => {
            num(20..b.len())? * 10_u32.pow(9 - u32::try_from(frac.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?.and_hms_nano_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        nanos,
    )
}

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(sqlite_text(&self.0));
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

/// `t.format("%F %T%.f")`: `YYYY-MM-DD HH:MM:SS` and the fraction in 0, 3, 6 or 9 digits,
/// as few as show it exactly. Years outside 0–9999 and leap seconds, which chrono writes
/// differently and a clock never gives here, are left to chrono.
pub(crate) fn sqlite_text(t: &NaiveDateTime) -> String {
    let mut out = String::with_capacity(29);
    if push_datetime(&mut out, t, ' ') {
        out
    } else {
        t.format("%F %T%.f").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, NaiveTime};
    use proptest::prelude::*;

    fn chrono_text(t: &NaiveDateTime) -> String {
        t.format("%F %T%.f").to_string()
    }

    #[test]
    fn writes_what_diesel_writes_at_every_fraction_width() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        for nanos in [
            0,
            5_000_000,
            120_000_000,
            586_367_000,
            7_000,
            1,
            999_999_999,
            100,
        ] {
            let t = day.and_time(NaiveTime::from_hms_nano_opt(5, 4, 9, nanos).expect("time"));
            assert_eq!(sqlite_text(&t), chrono_text(&t), "nanos {nanos}");
        }
        let first = NaiveDate::from_ymd_opt(0, 1, 1)
            .expect("date")
            .and_hms_opt(0, 0, 0);
        let first = first.expect("time");
        assert_eq!(sqlite_text(&first), "0000-01-01 00:00:00");
    }

    /// Every text `sqlite_text` writes reads back as the same instant; other shapes are left
    /// to diesel (`None`).
    #[test]
    fn reads_what_it_writes_and_nothing_else() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        for nanos in [0, 5_000_000, 120_000_000, 7_000, 1, 999_999_999, 100] {
            let t = day.and_time(NaiveTime::from_hms_nano_opt(5, 4, 9, nanos).expect("time"));
            assert_eq!(
                parse_sqlite_text(&sqlite_text(&t)),
                Some(t),
                "nanos {nanos}"
            );
        }
        let t = day.and_hms_opt(23, 59, 58).expect("time");
        assert_eq!(
            parse_sqlite_text("2026-12-01 23:59:58.5"),
            Some(t + chrono::TimeDelta::milliseconds(500))
        );
        for other in [
            "2026-12-01T05:04:09",
            "2026-12-01 05:04:09.",
            "2026-12-01 05:04:09.1234567890",
            "2026-12-01 05:04:09Z",
            "2026-02-30 05:04:09",
            "2026-12-01 24:04:09",
            "2026-12-01 05:04",
            "2459915.5",
            "+026-12-01 05:04:09",
            "",
        ] {
            assert_eq!(parse_sqlite_text(other), None, "{other}");
        }
    }

    #[test]
    fn leaves_leap_seconds_and_far_years_to_chrono() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .expect("leap second");
        assert_eq!(sqlite_text(&leap), chrono_text(&leap));
        for year in [-1, 10_000, 262_000] {
            let t = NaiveDate::from_ymd_opt(year, 3, 4)
                .and_then(|d| d.and_hms_micro_opt(1, 2, 3, 4))
                .expect("date");
            assert_eq!(sqlite_text(&t), chrono_text(&t), "year {year}");
        }
    }

    proptest! {
        #[test]
        fn any_instant_reads_as_diesel_wrote_it(
            secs in -100_000_000_000i64..300_000_000_000i64,
            nanos in prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|ms| ms * 1_000_000),
                (0u32..1_000_000).prop_map(|us| us * 1_000),
                0u32..1_000_000_000,
            ],
        ) {
            let t = chrono::DateTime::from_timestamp(secs, nanos).expect("in range").naive_utc();
            prop_assert_eq!(sqlite_text(&t), chrono_text(&t));
            if (0..=9999).contains(&t.year()) {
                prop_assert_eq!(parse_sqlite_text(&chrono_text(&t)), Some(t));
            }
        }
    }
}
