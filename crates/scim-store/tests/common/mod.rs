//! Helpers the store's test files share: the standard schemas, a fixed clock and resource
//! documents prepared as the server prepares them.

#![allow(dead_code, reason = "each test file uses some of these")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

/// The standard User, Group and enterprise schemas, built once per test binary.
pub fn reg() -> &'static SchemaRegistry {
    static REG: OnceLock<SchemaRegistry> = OnceLock::new();
    REG.get_or_init(SchemaRegistry::standard)
}

/// `secs` seconds after a fixed instant (2026-03-01T00:00:00), so tests order writes by hand.
pub fn at(secs: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + TimeDelta::seconds(secs)
}

/// `v` as a new resource of type `rt` ("User", "Group"), normalized as the server stores it.
pub fn doc(rt: &str, v: Value) -> Value {
    let rt = reg().resource_type(rt).unwrap();
    prepare(reg(), rt, v, WriteMode::Create, None).unwrap()
}
