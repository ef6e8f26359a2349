//! Data-driven tests of resource preparation (POST/PUT bodies), validation, value
//! normalization, `meta` stamping and ETags, including real Okta and Entra bodies.
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers report a failed case by panicking"
)]

/// `insta::assert_json_snapshot!` into `tests/snapshots/resource__<name>.snap`, beside the
/// other test files' snapshots rather than under `tests/resource/`.
macro_rules! snapshot {
    ($name:literal, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!(concat!("resource__", $name), $value);
        })
    };
}

// A test crate root resolves `mod` next to itself, so the case files are pointed at.
#[path = "resource/checks.rs"]
mod checks;
#[path = "resource/clients.rs"]
mod clients;
#[path = "resource/prepare.rs"]
mod prepare;
#[path = "resource/replace.rs"]
mod replace;

use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::{AttrType, AttributeDef, Mutability, Schema, SchemaRegistry};
use scim_core::{Error, ScimType};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

/// Standard schemas plus a vendor extension with one attribute of each interesting kind.
fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.into(),
        name: "Acme".into(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("orgName", AttrType::String),
            AttributeDef::new("badge", AttrType::String).mutability(Mutability::Immutable),
            AttributeDef::new("level", AttrType::Integer),
            AttributeDef::new("score", AttrType::Decimal),
            AttributeDef::new("hired", AttrType::DateTime),
            AttributeDef::new("syncedBy", AttrType::String).mutability(Mutability::ReadOnly),
            AttributeDef::new("office", AttrType::Complex).subs(vec![
                AttributeDef::new("building", AttrType::String).required(),
                AttributeDef::new("room", AttrType::String),
                AttributeDef::new("code", AttrType::String)
                    .case_exact()
                    .mutability(Mutability::Immutable),
            ]),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
}

fn run(rt: &str, input: Value, mode: WriteMode, existing: Option<&Value>) -> Result<Value, Error> {
    let reg = registry();
    let rt = reg.resource_type(rt).unwrap();
    prepare(&reg, rt, input, mode, existing)
}

/// POST `input` to `rt` and expect exactly `expected`.
fn create(rt: &str, input: Value, expected: Value) {
    let got = run(rt, input.clone(), WriteMode::Create, None)
        .unwrap_or_else(|e| panic!("create failed: {e}\ninput: {input:#}"));
    assert_eq!(got, expected, "input: {input:#}");
}

/// POST `input` to `rt` and expect an error of `ty` whose detail contains `needle`.
fn create_err(rt: &str, input: Value, ty: ScimType, needle: &str) {
    let err = run(rt, input.clone(), WriteMode::Create, None)
        .expect_err(&format!("expected an error for {input:#}"));
    assert_eq!(err.scim_type(), Some(ty), "{err}");
    assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
}

/// PUT `input` over `existing` and return the outcome.
fn replace(rt: &str, input: Value, existing: &Value) -> Result<Value, Error> {
    run(rt, input, WriteMode::Replace, Some(existing))
}

fn user(extra: Value) -> Value {
    let mut v = json!({"schemas": [USER], "userName": "bjensen"});
    if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
        m.extend(e);
    }
    v
}
