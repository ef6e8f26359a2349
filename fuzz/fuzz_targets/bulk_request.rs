//! Fuzzes `POST /Bulk` as the handler runs it, with the store replaced by the fixtures: the
//! size check, `BulkRequest::parse`, the plan, and in plan order each operation's target,
//! `bulkId` resolution, and its body (a resource through `prepare`, a PatchOp through
//! `PatchRequest::parse` and `apply`), then the BulkResponse. Nothing may panic; the plan must
//! hold every operation exactly once and run each after the POSTs it references; and what
//! core accepts must validate.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use scim_core::bulk::{
    BulkLimits, BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse,
    BulkStep, FailOnErrors, check_payload_size,
};
use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::{WriteMode, parse_etag, prepare};
use scim_core::schema::SchemaRegistry;
use scim_fuzz::{after_write, group_input, json_body, registry, stored, user_input, with_id};

fuzz_target!(|data: &[u8]| {
    let limits = BulkLimits::default();
    if check_payload_size(data.len(), &limits).is_err() {
        return;
    }
    let Some(body) = json_body(data) else {
        return;
    };
    let Ok(request) = BulkRequest::parse(&body, &limits) else {
        return;
    };
    let registry = registry();
    let plan = request.plan();
    let mut seen = vec![false; request.operations.len()];
    let mut defined: Vec<&str> = Vec::new();
    for step in &plan.steps {
        let i = step.index();
        assert!(!seen[i], "operation {i} is planned twice: {plan:?}");
        seen[i] = true;
        let op = &request.operations[i];
        if let BulkStep::Run(_) = step {
            for r in op.references() {
                assert!(
                    defined.contains(&r.as_str()),
                    "operation {i} runs before bulkId {r} is defined: {plan:?}"
                );
            }
        }
        if let BulkStep::Run(_) = step
            && op.method == BulkMethod::Post
            && let Some(b) = op.bulk_id.as_deref()
        {
            defined.push(b);
        }
    }
    assert!(
        seen.iter().all(|s| *s),
        "an operation is missing from the plan: {plan:?}"
    );
    let _ = plan.order();
    let _ = plan.failures();

    let mut ids: HashMap<String, String> = HashMap::new();
    let mut fail = FailOnErrors::new(request.fail_on_errors);
    let mut done = Vec::new();
    for (n, step) in plan.steps.iter().enumerate() {
        if fail.should_stop() {
            break;
        }
        let op = &request.operations[step.index()];
        let response = match step {
            BulkStep::Fail { failure, .. } => {
                let _ = failure.to_body();
                BulkOperationResponse::failed(op, failure)
            }
            BulkStep::Run(_) => match op.resolved(&ids) {
                Ok(resolved) => match run(&registry, &resolved) {
                    Ok(status) => {
                        if let Some(b) = &op.bulk_id {
                            ids.insert(b.clone(), format!("id-{n}"));
                        }
                        BulkOperationResponse::success(op, status, None, None)
                    }
                    Err(e) => BulkOperationResponse::from_error(op, &e),
                },
                Err(_) => BulkOperationResponse::error(
                    op,
                    scim_core::ErrorBody::new(
                        409,
                        Some(scim_core::ScimType::InvalidValue),
                        "unresolved",
                    ),
                ),
            },
        };
        fail.record(&response);
        done.push(response);
    }
    let _ = fail.errors();
    if let Err(e) = serde_json::to_string(&BulkResponse::new(done)) {
        panic!("a BulkResponse does not serialize: {e}");
    }
});

/// One resolved operation without the store: what core decides for it.
fn run(registry: &SchemaRegistry, op: &BulkOperation) -> scim_core::Result<u16> {
    let target = op.target()?;
    let Some(rt) = target.resource_type(registry) else {
        return Err(scim_core::Error::invalid_value("no such resource type"));
    };
    if let Some(v) = &op.version {
        let _ = parse_etag(v);
    }
    let fixture = if rt.name == "User" {
        user_input()
    } else {
        group_input()
    };
    let current = stored(registry, rt, fixture);
    let data = || {
        op.data
            .clone()
            .ok_or_else(|| scim_core::Error::invalid_value("this bulk operation needs data"))
    };
    match op.method {
        BulkMethod::Post | BulkMethod::Put => {
            let (mode, existing) = if op.method == BulkMethod::Post {
                (WriteMode::Create, None)
            } else {
                (WriteMode::Replace, Some(&current))
            };
            let doc = prepare(registry, rt, data()?, mode, existing)?;
            after_write(registry, rt, &current, &doc);
            Ok(if op.method == BulkMethod::Post {
                201
            } else {
                200
            })
        }
        BulkMethod::Patch => {
            let request = PatchRequest::parse(&data()?)?;
            let mut doc = apply(registry, rt, &with_id(&current, "x1"), &request)?.resource;
            if let Some(obj) = doc.as_object_mut() {
                obj.remove("id");
                obj.remove("meta");
            }
            after_write(registry, rt, &current, &doc);
            Ok(200)
        }
        BulkMethod::Delete => Ok(204),
    }
}
