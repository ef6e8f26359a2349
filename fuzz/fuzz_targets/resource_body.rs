//! Fuzzes the bodies of `POST` and `PUT` on `/Users` and `/Groups` (service `create` and
//! `replace`): the first byte picks the resource type and the mode, the rest is the JSON body.
//! `prepare` must never panic; what it accepts must validate and go through what the server
//! does before storing and rendering it; and preparing its own output again (a client echoing
//! our response back as a PUT, as Okta does) must be accepted and change nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::resource::{WriteMode, prepare};
use scim_fuzz::{after_write, group_input, json_body, registry, resource_type, stored, user_input};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some(body) = json_body(rest) else {
        return;
    };
    let registry = registry();
    let (name, fixture) = if selector & 1 == 0 {
        ("User", user_input())
    } else {
        ("Group", group_input())
    };
    let rt = resource_type(&registry, name);
    let existing = stored(&registry, rt, fixture);
    let (mode, current) = if selector & 2 == 0 {
        (WriteMode::Create, None)
    } else {
        (WriteMode::Replace, Some(&existing))
    };
    let Ok(doc) = prepare(&registry, rt, body, mode, current) else {
        return;
    };
    after_write(&registry, rt, &existing, &doc);
    match prepare(&registry, rt, doc.clone(), mode, current) {
        Ok(again) => assert_eq!(again, doc, "preparing a prepared document changed it"),
        Err(e) => panic!("a prepared document is refused when sent again: {e}\n{doc:#}"),
    }
});
