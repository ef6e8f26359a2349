//! Registers a vendor extension schema (Code42's organization name, from `shared/seeds/`),
//! then runs what an identity provider would send through `scim-core`: a create carrying the
//! extension, a filter on it, and an Entra-style PATCH of it. Prints each resulting document.
//!
//! `cargo run -p scim-examples --example custom_extension`

use scim_core::filter::{eval, parse_filter};
use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry};
use serde_json::json;

const CODE42: &str = "urn:ietf:params:scim:schemas:extension:code42:2.0:User";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = SchemaRegistry::standard();
    registry.register_extension(
        Schema {
            id: CODE42.into(),
            name: "Code42User".into(),
            description: "Where the product places the user".into(),
            attributes: vec![
                AttributeDef::new("c42OrgName", AttrType::String)
                    .desc("Organization the user is placed in; created when missing."),
            ],
        },
        "User",
        false,
    )?;
    let rt = registry
        .resource_type("User")
        .ok_or("the standard registry always has User")?;

    let user = prepare(
        &registry,
        rt,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CODE42],
            "userName": "lee@example.com",
            "active": "True",
            CODE42: {"C42ORGNAME": "Research"}
        }),
        WriteMode::Create,
        None,
    )?;
    println!("created:\n{user:#}");

    let filter = parse_filter(&format!(r#"{CODE42}:c42OrgName eq "research""#))?;
    let ctx = eval::EvalContext::new(&registry, rt);
    println!(
        "filter {filter} matches: {}",
        eval::matches(&filter, &user, &ctx)
    );

    let patch = PatchRequest::parse(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {format!("{CODE42}:c42OrgName"): "Sales"}}]
    }))?;
    let outcome = apply(&registry, rt, &user, &patch)?;
    println!(
        "patched ({:?} changed):\n{:#}",
        outcome.changes.attributes, outcome.resource
    );
    Ok(())
}
