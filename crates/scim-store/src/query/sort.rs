//! `ORDER BY` for `sortBy`/`sortOrder`, agreeing with `scim_core::query::sort_and_page`:
//! values compare by type (folded text unless caseExact, numbers as f64 in `total_cmp` order,
//! dateTimes as instants with unparsable ones after them, `false` before `true`), resources
//! without a value (absent, null or `""`) come last ascending and first descending, and equal
//! values are ordered by id, byte-wise.

use scim_core::path::AttrPath;
use scim_core::query::SortOrder;
use scim_core::schema::{AttrType, ResourceType, SchemaRegistry, urn};

use super::sql::{Json, JsonKind, Sql};
use super::translate::Table;
use crate::error::{Result, StoreError};
use crate::search::{DT_KEY, DT_RAW, DT_TEXT, NUM_KEY, doc_key};

/// One ORDER BY item: an expression and its direction.
pub(crate) type OrderItem = (String, &'static str);

/// The ORDER BY list without `sortBy`: creation order, which is what clients paging through
/// an import expect, with the id as a tiebreak (the `(tenant_id, created_at, id)` index).
pub(crate) fn default_order() -> Vec<OrderItem> {
    vec![("r.created_at".into(), "ASC"), ("r.id".into(), "ASC")]
}

/// The ORDER BY list for sorting by `path`.
pub(crate) fn order_by(
    q: &mut Sql,
    registry: &SchemaRegistry,
    rt: &ResourceType,
    table: Table,
    path: &AttrPath,
    order: SortOrder,
) -> Result<Vec<OrderItem>> {
    let d = q.dialect;
    let r = registry.resolve(rt, path).ok_or_else(|| {
        StoreError::Invalid(format!("sortBy {path} is not an attribute of {}", rt.name))
    })?;
    let leaf = r.leaf();
    if r.attr.multi_valued || leaf.ty == AttrType::Complex {
        return Err(StoreError::Invalid(format!(
            "sortBy {path} must name a single-valued attribute"
        )));
    }
    // Each key is NULL for a resource without a value; `missing` says so.
    let (missing, keys): (String, Vec<String>) = match (r.schema, r.attr.name.as_str(), r.sub) {
        (None, "id", None) => ("(1 = 0)".into(), vec![d.bytewise("r.id")]),
        (None, "externalId", None) => text_key(q, "r.external_id".into()),
        (None, "meta", Some(sub)) => match sub.name.as_str() {
            "created" => ("(1 = 0)".into(), vec!["r.created_at".into()]),
            "lastModified" => ("(1 = 0)".into(), vec!["r.updated_at".into()]),
            "version" => (
                "(1 = 0)".into(),
                vec![d.bytewise(&d.version_text("r.version"))],
            ),
            // The same for every row: only the id orders.
            "resourceType" => ("(1 = 0)".into(), Vec::new()),
            other => {
                return Err(StoreError::Invalid(format!(
                    "sorting by meta.{other} is not supported"
                )));
            }
        },
        (Some(s), "userName", None) if table == Table::Users && s.id == urn::USER => {
            text_key(q, "r.user_name_key".into())
        }
        (Some(s), "displayName", None) if table == Table::Groups && s.id == urn::GROUP => {
            text_key(q, "r.display_name_key".into())
        }
        _ => {
            let key = doc_key(&r);
            if key.contains(['"', '\\']) || leaf.name.contains(['"', '\\']) {
                return Err(StoreError::Invalid(format!(
                    "attribute name {key:?} can't be sorted in SQL"
                )));
            }
            let mut j = Json::row(&key);
            if let Some(sub) = r.sub {
                j = j.field(&sub.name);
            }
            json_keys(q, &j, leaf.ty)
        }
    };
    let dir = match order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    let mut items = vec![(missing, dir)];
    items.extend(keys.into_iter().map(|k| (k, dir)));
    items.push((d.bytewise("r.id"), "ASC"));
    Ok(items)
}

/// A nullable text column: missing when NULL or `""`.
fn text_key(q: &mut Sql, col: String) -> (String, Vec<String>) {
    let d = q.dialect;
    let present = d.is_true(&format!("{col} <> ''"));
    (
        format!("(NOT {present})"),
        vec![d.bytewise(&format!("CASE WHEN {present} THEN {col} END"))],
    )
}

/// The keys of a search-document leaf of type `ty`.
fn json_keys(q: &mut Sql, j: &Json, ty: AttrType) -> (String, Vec<String>) {
    let d = q.dialect;
    match ty {
        AttrType::Boolean => {
            let t = q.json_is(j, &[JsonKind::True]);
            let f = q.json_is(j, &[JsonKind::False]);
            let key = format!("(CASE WHEN {t} THEN 1 WHEN {f} THEN 0 END)");
            (format!("(NOT ({t} OR {f}))"), vec![key])
        }
        AttrType::Integer | AttrType::Decimal => {
            let key = q.json_num(&j.field(NUM_KEY));
            (format!("({key} IS NULL)"), vec![key])
        }
        AttrType::DateTime => {
            let t = j.field(DT_TEXT);
            let t_is = q.json_is(&t, &[JsonKind::String]);
            let t_text = q.json_text(&t);
            let present = d.is_true(&format!("{t_is} AND {t_text} <> ''"));
            let k = j.field(DT_KEY);
            let k_is = q.json_is(&k, &[JsonKind::String]);
            let k_text = q.json_text(&k);
            let r = j.field(DT_RAW);
            let r_is = q.json_is(&r, &[JsonKind::String]);
            let r_text = q.json_text(&r);
            // Instants first, then unparsable values by their raw text.
            let rank = format!("(CASE WHEN {k_is} THEN 0 ELSE 1 END)");
            let instant = d.bytewise(&format!("CASE WHEN {k_is} THEN {k_text} END"));
            let raw = d.bytewise(&format!(
                "CASE WHEN {k_is} THEN NULL WHEN {r_is} THEN {r_text} ELSE {t_text} END"
            ));
            (format!("(NOT {present})"), vec![rank, instant, raw])
        }
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::Complex => {
            let is_string = q.json_is(j, &[JsonKind::String]);
            let text = q.json_text(j);
            let present = d.is_true(&format!("{is_string} AND {text} <> ''"));
            (
                format!("(NOT {present})"),
                vec![d.bytewise(&format!("CASE WHEN {present} THEN {text} END"))],
            )
        }
    }
}
