//! `POST /Bulk` (RFC 7644 §3.7): operations run in an order that satisfies their `bulkId`
//! references (core plans it), each through the same service function its single request
//! uses, until `failOnErrors` errors have happened.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::bulk::{
    BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse, BulkStep,
    FailOnErrors, check_payload_size,
};
use scim_core::patch::PatchRequest;
use scim_core::resource::{etag, parse_etag};
use scim_store::TenantId;
use serde_json::Value;

use super::common::{Tenant, render};
use crate::error::ApiError;
use crate::http::{base_url, blocking, parse_body, scim_json};
use crate::service::{groups, users};
use crate::state::AppState;

/// POST /Bulk
#[utoipa::path(
    post,
    path = "/Bulk",
    operation_id = "bulk",
    tag = "Bulk",
    summary = "Run many operations",
    description = "Runs POST, PUT, PATCH and DELETE operations on Users and Groups in an order that resolves `bulkId:` references, each like its single request, until `failOnErrors` operations have failed. Operations are not atomic together. The response is 200 with each operation's own status.",
    request_body(
        description = "The operations.",
        content((crate::openapi::BulkRequest = "application/scim+json"), (crate::openapi::BulkRequest = "application/json")),
    ),
    responses(
        (status = 200, description = "Each operation's outcome.", body = crate::openapi::BulkResponse, content_type = "application/scim+json"),
        (status = 400, description = "A body that is not a BulkRequest (`invalidSyntax`), an operation without method or path, or a duplicate or circular `bulkId` (`invalidValue`).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 413, description = "The body exceeds `bulk.maxPayloadSize` or has more than `bulk.maxOperations` operations (see ServiceProviderConfig).", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        (status = 415, description = "`Content-Type` is neither `application/scim+json` nor `application/json`.", body = crate::openapi::ScimError, content_type = "application/scim+json"),
        crate::openapi::Protected,
        crate::openapi::ServerError,
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn bulk(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    check_payload_size(body.len(), &state.config.bulk_limits)?;
    // The operations keep their own copies of each `data`: the body and its parsed tree
    // (several MB for 1 000 users) are dropped before the operations run, not after.
    let request = {
        let input = parse_body(&req, &body)?;
        BulkRequest::parse(&input, &state.config.bulk_limits)?
    };
    drop(body);
    let base = base_url(&req, &state);
    let st = state.clone();
    let response = blocking(move || Ok(execute(&st, &tenant.0.tenant, &request, &base))).await?;
    scim_json(StatusCode::OK, &response)
}

fn execute(st: &AppState, tenant: &TenantId, request: &BulkRequest, base: &str) -> BulkResponse {
    let plan = request.plan();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut fail = FailOnErrors::new(request.fail_on_errors);
    let mut done: Vec<(usize, BulkOperationResponse)> = Vec::new();
    let mut steps = plan.steps.iter().peekable();
    while let Some(step) = steps.next() {
        if fail.should_stop() {
            break;
        }
        let index = step.index();
        let Some(op) = request.operations.get(index) else {
            continue;
        };
        // A run of independent creates goes to the store together, so they share commits.
        if request.fail_on_errors.is_none() && independent_create(step, op) {
            let mut group = vec![(index, op)];
            let mut keys: HashSet<String> = unique_key(op).into_iter().collect();
            while let Some(next) = steps.peek() {
                let Some(next_op) = request.operations.get(next.index()) else {
                    break;
                };
                let key = unique_key(next_op);
                if group.len() >= PARALLEL_CREATES
                    || !independent_create(next, next_op)
                    || key.as_ref().is_some_and(|k| keys.contains(k))
                {
                    break;
                }
                keys.extend(key);
                group.push((next.index(), next_op));
                steps.next();
            }
            for (index, response) in run_creates(st, tenant, &group, base, &mut ids) {
                fail.record(&response);
                done.push((index, response));
            }
            continue;
        }
        let response = match step {
            BulkStep::Fail { failure, .. } => BulkOperationResponse::failed(op, failure),
            BulkStep::Run(_) => match op.resolved(&ids) {
                Ok(resolved) => run(st, tenant, &resolved, base, &mut ids),
                Err(missing) => BulkOperationResponse::error(
                    op,
                    scim_core::ErrorBody::new(
                        409,
                        Some(scim_core::ScimType::InvalidValue),
                        format!("bulkId:{missing} refers to an operation that did not succeed"),
                    ),
                ),
            },
        };
        fail.record(&response);
        done.push((index, response));
    }
    done.sort_by_key(|(i, _)| *i);
    BulkResponse::new(done.into_iter().map(|(_, r)| r).collect())
}

/// Most creates of one Bulk request run at once (each waits for its commit; together they
/// share one).
const PARALLEL_CREATES: usize = 16;

/// A POST that nothing in the request can influence: it names no `bulkId` reference, so its
/// outcome is the same whether it runs alone or beside its neighbours (with distinct unique
/// keys, see [`unique_key`]). Requests with `failOnErrors` keep strict one-by-one order, since
/// they must stop at the n-th error.
fn independent_create(step: &BulkStep, op: &BulkOperation) -> bool {
    matches!(step, BulkStep::Run(_)) && op.method == BulkMethod::Post && op.references().is_empty()
}

/// The unique key a create claims (userName or displayName, folded, per endpoint): two creates
/// of the same key must run in request order so the second is the one refused.
fn unique_key(op: &BulkOperation) -> Option<String> {
    let data = op.data.as_ref()?;
    let value = data
        .get("userName")
        .or_else(|| data.get("displayName"))?
        .as_str()?;
    Some(format!(
        "{}\u{0}{}",
        op.path.to_ascii_lowercase(),
        scim_core::filter::eval::fold_case(value)
    ))
}

/// Runs independent creates concurrently and returns their responses in request order.
fn run_creates(
    st: &AppState,
    tenant: &TenantId,
    group: &[(usize, &BulkOperation)],
    base: &str,
    ids: &mut HashMap<String, String>,
) -> Vec<(usize, BulkOperationResponse)> {
    let outcomes: Vec<(usize, &BulkOperation, Result<Outcome, ApiError>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = group
                .iter()
                .map(|&(index, op)| {
                    (
                        index,
                        op,
                        scope.spawn(move || run_inner(st, tenant, op, base)),
                    )
                })
                .collect();
            handles
                .into_iter()
                .map(|(index, op, h)| {
                    let outcome = h.join().unwrap_or_else(|_| {
                        Err(ApiError::Internal("a bulk operation panicked".into()))
                    });
                    (index, op, outcome)
                })
                .collect()
        });
    outcomes
        .into_iter()
        .map(|(index, op, outcome)| (index, describe(op, outcome, ids)))
        .collect()
}

/// Runs one resolved operation and describes its outcome.
fn run(
    st: &AppState,
    tenant: &TenantId,
    op: &BulkOperation,
    base: &str,
    ids: &mut HashMap<String, String>,
) -> BulkOperationResponse {
    describe(op, run_inner(st, tenant, op, base), ids)
}

/// The response entry of an operation's outcome; a success with a `bulkId` makes the new id
/// available to later references.
fn describe(
    op: &BulkOperation,
    outcome: Result<Outcome, ApiError>,
    ids: &mut HashMap<String, String>,
) -> BulkOperationResponse {
    match outcome {
        Ok((status, location, version, id)) => {
            if let (Some(bulk_id), Some(id)) = (&op.bulk_id, id) {
                ids.insert(bulk_id.clone(), id);
            }
            BulkOperationResponse::success(op, status, location, version)
        }
        Err(e) => BulkOperationResponse::error(op, e.body()),
    }
}

type Outcome = (u16, Option<String>, Option<String>, Option<String>);

fn run_inner(
    st: &AppState,
    tenant: &TenantId,
    op: &BulkOperation,
    base: &str,
) -> Result<Outcome, ApiError> {
    let target = op.target()?;
    let rt = target.resource_type(&st.registry).ok_or_else(|| {
        ApiError::NotFound(format!("bulk path {:?} names no resource type", op.path))
    })?;
    let is_user = rt.name == "User";
    let expected = match &op.version {
        Some(v) if v.trim() != "*" => Some(
            parse_etag(v)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| {
                    ApiError::PreconditionFailed(format!(
                        "version {v:?} is not an ETag this server issued"
                    ))
                })?,
        ),
        _ => None,
    };
    let data = || -> Result<Value, ApiError> {
        op.data
            .clone()
            .ok_or_else(|| scim_core::Error::invalid_value("this bulk operation needs data").into())
    };
    let id = target.id;
    let need_id = || {
        id.ok_or_else(|| -> ApiError {
            scim_core::Error::invalid_value(format!("bulk path {:?} needs a resource id", op.path))
                .into()
        })
    };
    let located = |stored: &scim_store::StoredResource| {
        let doc = render(stored, rt, base);
        let loc = doc
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .map(str::to_string);
        (
            loc,
            Some(etag(u64::try_from(stored.version).unwrap_or_default())),
            Some(stored.id.clone()),
        )
    };
    let (status, stored) = match (op.method, is_user) {
        (BulkMethod::Post, true) => (201, users::create(st, tenant, data()?)?),
        (BulkMethod::Post, false) => (201, groups::create(st, tenant, data()?, |_| ())?.0),
        (BulkMethod::Put, true) => (
            200,
            users::replace(st, tenant, need_id()?, expected, &data()?)?.0,
        ),
        (BulkMethod::Put, false) => (
            200,
            groups::replace(st, tenant, need_id()?, expected, &data()?, |_| ())?.0,
        ),
        (BulkMethod::Patch, true) => {
            let req = PatchRequest::parse(&data()?)?;
            (200, users::patch(st, tenant, need_id()?, expected, &req)?.0)
        }
        (BulkMethod::Patch, false) => {
            let req = PatchRequest::parse(&data()?)?;
            (
                200,
                groups::patch(st, tenant, need_id()?, expected, &req, |_| ())?.0,
            )
        }
        (BulkMethod::Delete, true) => {
            users::delete(st, tenant, need_id()?, expected)?;
            return Ok((204, None, None, None));
        }
        (BulkMethod::Delete, false) => {
            groups::delete(st, tenant, need_id()?, expected)?;
            return Ok((204, None, None, None));
        }
    };
    let (loc, version, id) = located(&stored);
    Ok((status, loc, version, id))
}
