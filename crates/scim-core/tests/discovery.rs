//! Discovery documents: snapshots of what clients see at `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, and checks that every schema is complete and located.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use scim_core::bulk::BulkLimits;
use scim_core::discovery::{
    AuthScheme, ServiceProviderSettings, meta_schemas, resource_type, resource_types, schema,
    schemas, service_provider_config,
};
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry, urn};
use serde_json::{Value, json};

const BASE: &str = "https://example.com/scim/v2";
const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";
const ACME_GROUP: &str = "urn:example:params:scim:schemas:extension:acme:2.0:Group";

/// The standard schemas plus a custom User extension (organization name, as the Code42 mapping
/// uses) and a custom Group extension.
fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    reg.register_extension(
        Schema {
            id: ACME.to_string(),
            name: "AcmeUser".to_string(),
            description: "Acme user attributes".to_string(),
            attributes: vec![
                AttributeDef::new("orgName", AttrType::String)
                    .desc("Name of the organization the user belongs to."),
            ],
        },
        "User",
        false,
    )
    .unwrap();
    reg.register_extension(
        Schema {
            id: ACME_GROUP.to_string(),
            name: "AcmeGroup".to_string(),
            description: String::new(),
            attributes: vec![AttributeDef::new("costCode", AttrType::String).case_exact()],
        },
        "Group",
        true,
    )
    .unwrap();
    reg
}

#[test]
fn service_provider_config_snapshot() {
    let settings = ServiceProviderSettings {
        documentation_uri: Some("https://example.com/help/scim".to_string()),
        ..ServiceProviderSettings::default()
    };
    insta::assert_json_snapshot!(
        "service_provider_config",
        service_provider_config(&settings, BASE)
    );
}

#[test]
fn service_provider_config_reflects_settings() {
    let settings = ServiceProviderSettings {
        documentation_uri: None,
        patch: false,
        bulk: None,
        filter_max_results: 200,
        change_password: false,
        sort: false,
        etag: false,
        authentication_schemes: vec![AuthScheme::http_basic(true)],
    };
    let doc = service_provider_config(&settings, "https://h/scim/v2/");
    assert_eq!(
        doc,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": false},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "Authentication with HTTP Basic: the token id as user name and the token secret as password.",
                "specUri": "https://www.rfc-editor.org/info/rfc7617",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "https://h/scim/v2/ServiceProviderConfig"}
        })
    );
    let with_bulk = ServiceProviderSettings {
        bulk: Some(BulkLimits {
            max_operations: 50,
            max_payload_size: 4096,
        }),
        ..settings
    };
    assert_eq!(
        service_provider_config(&with_bulk, BASE)["bulk"],
        json!({"supported": true, "maxOperations": 50, "maxPayloadSize": 4096})
    );
}

#[test]
fn resource_types_snapshot() {
    insta::assert_json_snapshot!("resource_types", resource_types(&registry(), BASE));
}

#[test]
fn resource_type_lookup() {
    let reg = registry();
    let user = resource_type(&reg, "user", BASE).unwrap();
    assert_eq!(user["id"], "User");
    assert_eq!(
        user["meta"]["location"],
        format!("{BASE}/ResourceTypes/User")
    );
    assert_eq!(
        user["schemaExtensions"],
        json!([
            {"schema": urn::ENTERPRISE_USER, "required": false},
            {"schema": ACME, "required": false}
        ])
    );
    let group = resource_type(&reg, "Group", BASE).unwrap();
    assert_eq!(
        group["schemaExtensions"],
        json!([{"schema": ACME_GROUP, "required": true}])
    );
    assert!(resource_type(&reg, "Widget", BASE).is_none());
    // No extensions: no schemaExtensions key, as in the RFC 7643 §8.6 Group example.
    let plain = resource_type(&SchemaRegistry::standard(), "Group", BASE).unwrap();
    assert!(plain.get("schemaExtensions").is_none());
}

#[test]
fn user_schema_snapshot() {
    insta::assert_json_snapshot!("user_schema", schema(&registry(), urn::USER, BASE).unwrap());
}

#[test]
fn meta_schemas_snapshot() {
    let reg = registry();
    let docs: Vec<Value> = [
        urn::SERVICE_PROVIDER_CONFIG,
        urn::RESOURCE_TYPE,
        urn::SCHEMA,
    ]
    .iter()
    .map(|u| schema(&reg, u, BASE).unwrap())
    .collect();
    insta::assert_json_snapshot!("meta_schemas", docs);
}

#[test]
fn schemas_list_every_schema_with_location() {
    let reg = registry();
    let all = schemas(&reg, BASE);
    let ids: Vec<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            urn::USER,
            urn::ENTERPRISE_USER,
            urn::GROUP,
            ACME,
            ACME_GROUP,
            urn::SERVICE_PROVIDER_CONFIG,
            urn::RESOURCE_TYPE,
            urn::SCHEMA
        ]
    );
    for s in &all {
        let id = s["id"].as_str().unwrap();
        assert_eq!(s["schemas"], json!([urn::SCHEMA]), "{id}");
        assert_eq!(s["meta"]["resourceType"], "Schema", "{id}");
        assert_eq!(
            s["meta"]["location"],
            format!("{BASE}/Schemas/{id}"),
            "{id}"
        );
        assert!(
            s["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{id} has a name"
        );
        assert!(
            s["attributes"].as_array().is_some_and(|a| !a.is_empty()),
            "{id}"
        );
    }
    // Every registered extension appears, and each resource type's schemas are all listed.
    for rt in resource_types(&reg, BASE) {
        let mut wanted = vec![rt["schema"].as_str().unwrap()];
        for ext in rt["schemaExtensions"].as_array().into_iter().flatten() {
            wanted.push(ext["schema"].as_str().unwrap());
        }
        for w in wanted {
            assert!(
                ids.contains(&w),
                "{w} of {} missing from /Schemas",
                rt["name"]
            );
        }
    }
}

#[test]
fn schema_lookup_ignores_case_and_knows_meta_schemas() {
    let reg = registry();
    let ent = schema(&reg, &urn::ENTERPRISE_USER.to_uppercase(), BASE).unwrap();
    assert_eq!(ent["id"], urn::ENTERPRISE_USER);
    let acme = schema(&reg, ACME, BASE).unwrap();
    assert_eq!(acme["attributes"][0]["name"], "orgName");
    assert_eq!(acme["meta"]["location"], format!("{BASE}/Schemas/{ACME}"));
    let spc = schema(&reg, urn::SERVICE_PROVIDER_CONFIG, BASE).unwrap();
    assert_eq!(spc["name"], "Service Provider Configuration");
    assert!(schema(&reg, "urn:nope", BASE).is_none());
    assert_eq!(meta_schemas().len(), 3);
}

const CHARACTERISTICS: [&str; 9] = [
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
];

/// Checks one published attribute (and its sub-attributes) has every RFC 7643 §7
/// characteristic; returns how many attributes it checked.
fn check_attribute(schema_id: &str, attr: &Value) -> usize {
    let name = attr["name"].as_str().unwrap_or("?");
    for key in CHARACTERISTICS {
        assert!(attr.get(key).is_some(), "{schema_id} {name} lacks {key}");
    }
    assert!(
        attr["multiValued"].is_boolean()
            && attr["required"].is_boolean()
            && attr["caseExact"].is_boolean()
    );
    assert!(
        ["readOnly", "readWrite", "immutable", "writeOnly"]
            .contains(&attr["mutability"].as_str().unwrap())
    );
    assert!(
        ["always", "never", "default", "request"].contains(&attr["returned"].as_str().unwrap())
    );
    assert!(["none", "server", "global"].contains(&attr["uniqueness"].as_str().unwrap()));
    let ty = attr["type"].as_str().unwrap();
    assert!(
        [
            "string",
            "boolean",
            "decimal",
            "integer",
            "dateTime",
            "binary",
            "reference",
            "complex"
        ]
        .contains(&ty),
        "{schema_id} {name}: type {ty}"
    );
    if let Some(values) = attr.get("canonicalValues") {
        assert!(
            values
                .as_array()
                .is_some_and(|v| v.iter().all(Value::is_string))
        );
    }
    let mut checked = 1;
    match ty {
        "complex" => {
            let subs = attr["subAttributes"].as_array();
            assert!(
                subs.is_some_and(|s| !s.is_empty()),
                "{schema_id} {name} lacks subAttributes"
            );
            for sub in subs.into_iter().flatten() {
                checked += check_attribute(schema_id, sub);
            }
        }
        "reference" => {
            let refs = attr["referenceTypes"].as_array();
            assert!(
                refs.is_some_and(|r| !r.is_empty()),
                "{schema_id} {name} lacks referenceTypes"
            );
        }
        _ => assert!(attr.get("subAttributes").is_none(), "{schema_id} {name}"),
    }
    checked
}

#[test]
fn every_attribute_has_all_characteristics() {
    let mut checked = 0;
    for s in schemas(&registry(), BASE) {
        let id = s["id"].as_str().unwrap().to_string();
        for attr in s["attributes"].as_array().unwrap() {
            checked += check_attribute(&id, attr);
        }
    }
    assert!(checked > 100, "only {checked} attributes checked");
}

#[test]
fn user_schema_matches_rfc_examples() {
    // Spot checks against RFC 7643 §8.7.1.
    let user = schema(&registry(), urn::USER, BASE).unwrap();
    let attr = |name: &str| {
        user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    let user_name = attr("userName");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    let password = attr("password");
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");
    let emails = attr("emails");
    assert_eq!(emails["multiValued"], true);
    let email_type = emails["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "type")
        .unwrap();
    assert_eq!(
        email_type["canonicalValues"],
        json!(["work", "home", "other"])
    );
    let groups = attr("groups");
    assert_eq!(groups["mutability"], "readOnly");
    let group_ref = groups["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "$ref")
        .unwrap();
    assert_eq!(group_ref["referenceTypes"], json!(["User", "Group"]));
    // The common attributes are not part of any schema (RFC 7643 §3.1).
    assert!(
        user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != "id" && a["name"] != "meta")
    );
}
