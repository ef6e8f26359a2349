//! The in-memory filter evaluator and the check of filters against the schema.
//!
//! This is the reference semantics of SCIM filtering in this server: list endpoints use it on
//! small sets, PATCH uses it to select elements, and the SQL translator in `scim-store` is
//! property-tested against it. The rules, decided here once (RFC 7644 §3.4.2.2 plus what Okta
//! and Entra rely on, see `clients.md`):
//!
//! - **Names** resolve through the [`SchemaRegistry`], case-insensitively, with or without the
//!   schema URN; extension attributes are read under their URN key. JSON keys are matched
//!   case-insensitively too. A path the schema doesn't know matches nothing, whatever the
//!   operator ([`validate`] is where such filters are refused).
//! - **Strings** compare case-insensitively unless the attribute is `caseExact`, using
//!   [`fold_case`] (so `ß` equals `SS`). `gt`/`ge`/`lt`/`le` are lexicographic on the folded
//!   text. References and binary values are always case-exact.
//! - **Booleans** accept `true`/`false` and the strings `"True"`/`"False"` in any case, in the
//!   filter and in the stored value. **Numbers** compare numerically; a literal or stored value
//!   may be a numeric string. **dateTimes** compare as instants when both sides parse (RFC 3339,
//!   or without offset as UTC), otherwise as text; `co`/`sw`/`ew` always compare the text.
//! - **Multi-valued** attributes match when any value matches. A complex attribute compared
//!   without a sub-attribute compares its `value` sub-attribute (`emails eq "x"`,
//!   `manager eq "id"`; a manager stored as a bare string compares as that string).
//! - **`pr`** holds for a value that is not null, not `""`, not `[]`, and, for complex values,
//!   holds for at least one sub-value.
//! - **`eq null`** means unassigned (`not pr`), **`ne null`** means assigned (`pr`); other
//!   operators with `null` match nothing.
//! - **`ne v`** is exactly `not (eq v)` for every known attribute: an absent attribute is not
//!   equal to `v`, and `emails.value ne "x"` means no email is `x`.
//! - **`attr[filter]`** holds when some element of `attr` satisfies `filter`, whose paths name
//!   sub-attributes; a singular complex attribute is its own single element, and the values of
//!   a multi-valued simple attribute are named `value` inside the brackets.

mod compare;
mod validate;

pub use compare::{fold_case, parse_bool, parse_instant};
pub use validate::validate;

use serde_json::Value;

use crate::filter::{CompareOp, Filter, Literal};
use crate::json::get_ci;
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceType, SchemaRegistry};
use compare::Prepared;

/// Everything the evaluator needs to know about where it evaluates: which schemas exist and
/// which resource type the documents are, so paths resolve exactly as the rest of core does.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The schemas served, including configured extensions.
    pub registry: &'a SchemaRegistry,
    /// The resource type of the documents being filtered.
    pub resource_type: &'a ResourceType,
}

impl<'a> EvalContext<'a> {
    /// Bundles the registry and the resource type.
    pub fn new(registry: &'a SchemaRegistry, resource_type: &'a ResourceType) -> Self {
        EvalContext {
            registry,
            resource_type,
        }
    }
}

/// Does the resource document (a JSON object as stored and returned: core attributes at the
/// top, extension attributes under their URN key, plus `id`, `externalId` and `meta`) match?
/// Unknown attributes match nothing; call [`validate`] first to refuse such filters.
pub fn matches(filter: &Filter, resource: &Value, ctx: &EvalContext<'_>) -> bool {
    match filter {
        Filter::Not(inner) => !matches(inner, resource, ctx),
        Filter::And(a, b) => matches(a, resource, ctx) && matches(b, resource, ctx),
        Filter::Or(a, b) => matches(a, resource, ctx) || matches(b, resource, ctx),
        Filter::Present(path) => resource_target(path, resource, ctx).is_some_and(|t| t.present()),
        Filter::Compare { path, op, value } => {
            resource_target(path, resource, ctx).is_some_and(|t| t.compare(*op, value))
        }
        Filter::ValuePath { path, filter } => {
            if path.sub.is_some() {
                return false;
            }
            let Some(r) = ctx.registry.resolve(ctx.resource_type, path) else {
                return false;
            };
            if r.attr.ty != AttrType::Complex && !r.attr.multi_valued {
                return false;
            }
            attribute_value(resource, &r).is_some_and(|v| {
                items(v)
                    .iter()
                    .any(|e| !e.is_null() && matches_element(filter, e, r.attr))
            })
        }
    }
}

/// Used by PATCH for value-path filters: does one element of the multi-valued attribute `attr`
/// match `filter`, whose paths are relative sub-attribute names (`type eq "work"`)? For a
/// multi-valued simple attribute the element itself is named `value`. Nested value paths,
/// URN-qualified or dotted inner paths match nothing ([`validate`] refuses them).
pub fn matches_element(filter: &Filter, element: &Value, attr: &AttributeDef) -> bool {
    match filter {
        Filter::Not(inner) => !matches_element(inner, element, attr),
        Filter::And(a, b) => matches_element(a, element, attr) && matches_element(b, element, attr),
        Filter::Or(a, b) => matches_element(a, element, attr) || matches_element(b, element, attr),
        Filter::Present(path) => element_target(path, element, attr).is_some_and(|t| t.present()),
        Filter::Compare { path, op, value } => {
            element_target(path, element, attr).is_some_and(|t| t.compare(*op, value))
        }
        Filter::ValuePath { .. } => false,
    }
}

/// What one attribute path points at in a document: the attribute's JSON value (if any), its
/// definition, and the sub-attribute to look at inside each element.
struct Target<'d, 's> {
    value: Option<&'d Value>,
    attr: &'s AttributeDef,
    sub: Option<&'s AttributeDef>,
}

fn resource_target<'d, 's>(
    path: &AttrPath,
    doc: &'d Value,
    ctx: &EvalContext<'s>,
) -> Option<Target<'d, 's>> {
    let r = ctx.registry.resolve(ctx.resource_type, path)?;
    Some(Target {
        value: attribute_value(doc, &r),
        attr: r.attr,
        sub: r.sub,
    })
}

fn element_target<'d, 's>(
    path: &AttrPath,
    element: &'d Value,
    attr: &'s AttributeDef,
) -> Option<Target<'d, 's>> {
    if path.urn.is_some() || path.sub.is_some() {
        return None;
    }
    if attr.ty == AttrType::Complex {
        let sub = attr.sub(&path.name)?;
        Some(Target {
            value: sub_value(element, sub),
            attr: sub,
            sub: None,
        })
    } else if path.name.eq_ignore_ascii_case("value") {
        Some(Target {
            value: Some(element),
            attr,
            sub: None,
        })
    } else {
        None
    }
}

impl<'d> Target<'d, '_> {
    /// The definition the compared values follow: the sub-attribute, the `value` sub-attribute
    /// of a complex attribute compared as a whole, or the attribute itself.
    fn leaf(&self) -> Option<&AttributeDef> {
        match self.sub {
            Some(s) => Some(s),
            None if self.attr.ty == AttrType::Complex => self.attr.sub("value"),
            None => Some(self.attr),
        }
    }

    fn compare(&self, op: CompareOp, lit: &Literal) -> bool {
        match (op, lit) {
            (CompareOp::Eq, Literal::Null) => !self.present(),
            (CompareOp::Ne, Literal::Null) => self.present(),
            (_, Literal::Null) => false,
            (CompareOp::Ne, _) => !self.any(CompareOp::Eq, lit),
            _ => self.any(op, lit),
        }
    }

    /// Whether some leaf value satisfies `op lit`.
    fn any(&self, op: CompareOp, lit: &Literal) -> bool {
        let Some(leaf) = self.leaf() else {
            return false;
        };
        let prepared = Prepared::new(leaf, lit);
        if matches!(prepared, Prepared::Never) {
            return false;
        }
        let Some(v) = self.value else {
            return false;
        };
        let test = |x: &Value| items(x).iter().any(|y| prepared.test(op, y));
        match self.sub {
            Some(s) => items(v).iter().any(|e| sub_value(e, s).is_some_and(test)),
            None if self.attr.ty == AttrType::Complex => items(v).iter().any(|e| match e {
                Value::Object(o) => get_ci(o, "value").is_some_and(test),
                scalar => prepared.test(op, scalar),
            }),
            None => items(v).iter().any(|e| prepared.test(op, e)),
        }
    }

    fn present(&self) -> bool {
        let Some(v) = self.value else {
            return false;
        };
        match self.sub {
            Some(s) => items(v)
                .iter()
                .any(|e| sub_value(e, s).is_some_and(|x| is_present(x, PRESENT_DEPTH))),
            None => is_present(v, PRESENT_DEPTH),
        }
    }
}

/// How deep `pr` looks into nested values; SCIM values are at most two levels deep, and a
/// bound keeps hostile documents from exhausting the stack.
const PRESENT_DEPTH: u8 = 4;

/// RFC 7644 `pr`: a non-empty value, or a complex value with a non-empty node.
fn is_present(v: &Value, depth: u8) -> bool {
    if depth == 0 {
        return !v.is_null();
    }
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(|x| is_present(x, depth - 1)),
        Value::Object(o) => o.values().any(|x| is_present(x, depth - 1)),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The values of a possibly multi-valued JSON value: an array's elements, or the value alone
/// (tolerating a single value stored where an array was declared, and the reverse).
fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    }
}

/// The value of sub-attribute `sub` in one element of a complex attribute. A complex value
/// stored as a bare scalar (a manager given as a string, clients.md E10) is its own `value`.
fn sub_value<'d>(element: &'d Value, sub: &AttributeDef) -> Option<&'d Value> {
    match element {
        Value::Object(o) => get_ci(o, &sub.name),
        Value::Null | Value::Array(_) => None,
        scalar => (sub.name == "value").then_some(scalar),
    }
}

/// The JSON value of a resolved attribute in a resource document.
fn attribute_value<'d>(doc: &'d Value, r: &Resolved<'_>) -> Option<&'d Value> {
    let obj = doc.as_object()?;
    let container = match r.extension_urn() {
        Some(urn) => get_ci(obj, urn)?.as_object()?,
        None => obj,
    };
    get_ci(container, &r.attr.name)
}
