//! Fuzzes PATCH as `PATCH /Users/{id}` and `PATCH /Groups/{id}` run it (service `patch`): the
//! body is parsed into a PatchOp, applied to the stored document with its `id` put back, and
//! the result goes through what the server does before storing it. No body may panic the
//! engine; whatever it accepts must validate, its change set must name every attribute whose
//! value changed (the Group service skips the write otherwise), and applying the same request
//! again to the result must not panic or produce an invalid document either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::changed_attributes;
use scim_fuzz::{
    after_write, group_input, json_body, registry, resource_type, stored, user_input, with_id,
};
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Some(body) = json_body(data) else {
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
    let registry = registry();
    for (name, input) in [("User", user_input()), ("Group", group_input())] {
        let rt = resource_type(&registry, name);
        let current = stored(&registry, rt, input);
        let before = with_id(&current, "x1");
        let Ok(outcome) = apply(&registry, rt, &before, &request) else {
            continue;
        };
        // The Group service writes the document only when the change set names an attribute
        // other than members: a change it does not name would be lost.
        for changed in changed_attributes(&before, &outcome.resource, rt) {
            assert!(
                outcome.changes.touches(&changed),
                "{name}.{changed} changed but the change set says {:?}",
                outcome.changes.attributes
            );
        }
        let mut doc = outcome.resource;
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("id");
            obj.remove("meta");
        }
        after_write(&registry, rt, &current, &doc);
        if let Ok(again) = apply(&registry, rt, &with_id(&doc, "x1"), &request) {
            let mut again = again.resource;
            if let Some(obj) = again.as_object_mut() {
                obj.remove("id");
                obj.remove("meta");
            }
            after_write(&registry, rt, &doc, &again);
        }
    }
});
