//! Fuzzes PATCH parsing and application: no body may panic the engine, and whatever it
//! accepts must leave a document that validates and that a second, identical request leaves
//! valid too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::validate;
use scim_core::schema::SchemaRegistry;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // A bare array is taken as the Operations list, so the fuzzer needn't find the envelope.
    let body = match body {
        Value::Array(ops) => json!({"Operations": ops}),
        other => other,
    };
    let Ok(request) = PatchRequest::parse(&body) else {
        return;
    };
    let registry = SchemaRegistry::standard();
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "u1", "userName": "bjensen", "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@example.com", "type": "work", "primary": true},
                   {"value": "h@example.com", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Eng",
        "members": [{"value": "u1"}, {"value": "u2", "display": "x"}]
    });
    for (rt_name, doc) in [("User", &user), ("Group", &group)] {
        let Some(rt) = registry.resource_type(rt_name) else {
            return;
        };
        if let Ok(out) = apply(&registry, rt, doc, &request) {
            assert!(validate(&registry, rt, &out.resource).is_ok());
            if let Ok(again) = apply(&registry, rt, &out.resource, &request) {
                assert!(validate(&registry, rt, &again.resource).is_ok());
            }
        }
    }
});
