//! Ordering bulk operations so that every `bulkId:X` reference runs after the POST that
//! defines `X`, failing up front the operations whose references can never resolve, and
//! replacing references with the ids the store assigned.

use std::collections::HashMap;

use serde_json::Value;

use super::{BULK_ID_PREFIX, BulkMethod, BulkOperation, BulkRequest};
use crate::error::{ErrorBody, ScimType};

/// Why an operation fails without running. Each carries its SCIM Error body, so the executor
/// reports it like any other failure (and counts it against `failOnErrors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanFailure {
    /// The operation references a bulkId that no POST in the request defines: the client's
    /// mistake, 400 `invalidValue`.
    UnknownBulkId {
        /// The undefined bulkId.
        bulk_id: String,
    },
    /// The operation is a POST in a cycle of references (group A lists group B as a member and
    /// B lists A). RFC 7644 §3.7.1 lets the service provider give up with 409 Conflict rather
    /// than split the creates; every POST of the cycle fails.
    CircularReference {
        /// The bulkIds of the cycle, in request order.
        bulk_ids: Vec<String>,
    },
    /// The operation references a bulkId whose POST failed or could not run: 409, since the
    /// request itself was well formed. The executor uses this too when a POST fails at run
    /// time and [`resolve_bulk_ids`] then reports its bulkId as unresolved.
    DependsOnFailed {
        /// The bulkId whose POST failed.
        bulk_id: String,
    },
}

impl PlanFailure {
    /// The HTTP status reported for the operation.
    pub fn status(&self) -> u16 {
        match self {
            PlanFailure::UnknownBulkId { .. } => 400,
            PlanFailure::CircularReference { .. } | PlanFailure::DependsOnFailed { .. } => 409,
        }
    }

    /// The SCIM Error body placed in the operation's `response`.
    pub fn to_body(&self) -> ErrorBody {
        let detail = match self {
            PlanFailure::UnknownBulkId { bulk_id } => format!(
                "bulkId:{bulk_id} is referenced but no POST operation in this request has bulkId {bulk_id:?}"
            ),
            PlanFailure::CircularReference { bulk_ids } => format!(
                "circular bulkId references between {}; create one of them without the reference and add it with a later PATCH",
                bulk_ids.join(", ")
            ),
            PlanFailure::DependsOnFailed { bulk_id } => format!(
                "bulkId:{bulk_id} could not be resolved because the operation that creates it failed"
            ),
        };
        ErrorBody::new(self.status(), Some(ScimType::InvalidValue), detail)
    }
}

/// One step of a bulk plan, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkStep {
    /// Run operation `index` (after resolving its references with
    /// [`BulkOperation::resolved`]).
    Run(usize),
    /// Report operation `index` as failed without running it.
    Fail {
        /// The operation's position in the request.
        index: usize,
        /// Why it fails.
        failure: PlanFailure,
    },
}

impl BulkStep {
    /// The operation's position in the request.
    pub fn index(&self) -> usize {
        match self {
            BulkStep::Run(i) | BulkStep::Fail { index: i, .. } => *i,
        }
    }
}

/// The execution order of a bulk request: every operation exactly once, each after the POSTs
/// it references, and otherwise in request order (so `failOnErrors` counts errors in the order
/// the client expects).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkPlan {
    /// The steps, in execution order.
    pub steps: Vec<BulkStep>,
}

impl BulkPlan {
    /// Indices of the operations to run, in order.
    pub fn order(&self) -> Vec<usize> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                BulkStep::Run(i) => Some(*i),
                BulkStep::Fail { .. } => None,
            })
            .collect()
    }

    /// The operations that fail up front, with their reasons.
    pub fn failures(&self) -> Vec<(usize, &PlanFailure)> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                BulkStep::Fail { index, failure } => Some((*index, failure)),
                BulkStep::Run(_) => None,
            })
            .collect()
    }
}

/// Appends every `bulkId:X` string found at any depth of `value` (values, not keys).
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX)
                && !id.is_empty()
                && !out.iter().any(|o| o == id)
            {
                out.push(id.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_refs(v, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl BulkOperation {
    /// The bulkIds this operation references, in its path and anywhere in its data.
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(target) = self.target()
            && let Some(id) = target.id
        {
            collect_refs(&Value::String(id.to_string()), &mut out);
        }
        if let Some(data) = &self.data {
            collect_refs(data, &mut out);
        }
        out
    }

    /// A copy with every `bulkId:X` in the path and data replaced by the id `ids` maps `X` to;
    /// `Err(X)` names the first reference not resolvable yet.
    pub fn resolved(&self, ids: &HashMap<String, String>) -> Result<BulkOperation, String> {
        let mut op = self.clone();
        op.path = resolve_path(&self.path, ids)?;
        if let Some(data) = op.data.as_mut() {
            resolve_bulk_ids(data, ids)?;
        }
        Ok(op)
    }
}

/// Replaces every `bulkId:X` string in `value`, at any depth, with `ids[X]`. Nothing is
/// changed when a reference is unknown: `Err(X)` names the first one.
pub fn resolve_bulk_ids(value: &mut Value, ids: &HashMap<String, String>) -> Result<(), String> {
    let mut refs = Vec::new();
    collect_refs(value, &mut refs);
    if let Some(missing) = refs.into_iter().find(|r| !ids.contains_key(r)) {
        return Err(missing);
    }
    replace_refs(value, ids);
    Ok(())
}

fn replace_refs(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = s.strip_prefix(BULK_ID_PREFIX).and_then(|id| ids.get(id)) {
                *s = new.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_refs(v, ids)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_refs(v, ids)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Replaces a `bulkId:X` path segment (`/Groups/bulkId:X`) with `ids[X]`; `Err(X)` when
/// unknown.
pub fn resolve_path(path: &str, ids: &HashMap<String, String>) -> Result<String, String> {
    let segments = path
        .split('/')
        .map(|seg| match seg.strip_prefix(BULK_ID_PREFIX) {
            Some(id) if !id.is_empty() => ids.get(id).cloned().ok_or_else(|| id.to_string()),
            _ => Ok(seg.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(segments.join("/"))
}

/// Where one operation stands while the plan is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Planned,
    Failed,
}

impl BulkRequest {
    /// Orders the operations so that references resolve: an operation referencing `bulkId:X`
    /// runs after the POST that defines `X`, even when that POST comes later in the request.
    /// Otherwise request order is kept. Operations referencing an unknown bulkId, POSTs in a
    /// reference cycle, and operations depending on either fail up front (see
    /// [`PlanFailure`]).
    pub fn plan(&self) -> BulkPlan {
        let ops = &self.operations;
        let defs: HashMap<&str, usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.method == BulkMethod::Post)
            .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
            .collect();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
        let mut prefail: Vec<Option<PlanFailure>> = vec![None; ops.len()];
        for (i, op) in ops.iter().enumerate() {
            for r in op.references() {
                match defs.get(r.as_str()) {
                    Some(&j) => deps[i].push(j),
                    None => {
                        prefail[i].get_or_insert(PlanFailure::UnknownBulkId { bulk_id: r });
                    }
                }
            }
        }
        let mut state = vec![State::Pending; ops.len()];
        let mut steps = Vec::with_capacity(ops.len());
        let bulk_id_of = |j: usize| {
            ops.get(j)
                .and_then(|o| o.bulk_id.clone())
                .unwrap_or_default()
        };
        while state.contains(&State::Pending) {
            let ready = (0..ops.len()).find(|&i| {
                state[i] == State::Pending
                    && (prefail[i].is_some() || deps[i].iter().all(|&j| state[j] != State::Pending))
            });
            if let Some(i) = ready {
                let failure = prefail[i].take().or_else(|| {
                    deps[i]
                        .iter()
                        .find(|&&j| state[j] == State::Failed)
                        .map(|&j| PlanFailure::DependsOnFailed {
                            bulk_id: bulk_id_of(j),
                        })
                });
                match failure {
                    Some(failure) => {
                        state[i] = State::Failed;
                        steps.push(BulkStep::Fail { index: i, failure });
                    }
                    None => {
                        state[i] = State::Planned;
                        steps.push(BulkStep::Run(i));
                    }
                }
                continue;
            }
            // Nothing is ready, so every pending operation waits on another pending one: the
            // pending set contains a cycle. Fail the POSTs on cycles; their dependents then
            // become ready and fail as DependsOnFailed.
            let pending: Vec<usize> = (0..ops.len())
                .filter(|&i| state[i] == State::Pending)
                .collect();
            let reach: HashMap<usize, Vec<bool>> = pending
                .iter()
                .map(|&i| (i, reachable(i, &deps, &state)))
                .collect();
            let on_cycle = |i: usize| reach.get(&i).is_some_and(|r| r[i]);
            let cyclic: Vec<usize> = pending.iter().copied().filter(|&i| on_cycle(i)).collect();
            if cyclic.is_empty() {
                // Unreachable by the argument above; fail the rest rather than loop forever.
                for i in pending {
                    state[i] = State::Failed;
                    steps.push(BulkStep::Fail {
                        index: i,
                        failure: PlanFailure::CircularReference {
                            bulk_ids: vec![bulk_id_of(i)],
                        },
                    });
                }
                break;
            }
            for &i in &cyclic {
                let members = cyclic.iter().copied().filter(|&j| {
                    reach.get(&i).is_some_and(|r| r[j]) && reach.get(&j).is_some_and(|r| r[i])
                });
                let bulk_ids = members.map(bulk_id_of).collect();
                state[i] = State::Failed;
                steps.push(BulkStep::Fail {
                    index: i,
                    failure: PlanFailure::CircularReference { bulk_ids },
                });
            }
        }
        BulkPlan { steps }
    }
}

/// Which pending operations `start` reaches through one or more dependency edges.
fn reachable(start: usize, deps: &[Vec<usize>], state: &[State]) -> Vec<bool> {
    let mut seen = vec![false; deps.len()];
    let mut stack: Vec<usize> = deps.get(start).cloned().unwrap_or_default();
    while let Some(j) = stack.pop() {
        if state.get(j) != Some(&State::Pending) || seen[j] {
            continue;
        }
        seen[j] = true;
        if let Some(next) = deps.get(j) {
            stack.extend(next.iter().copied());
        }
    }
    seen
}
