//! The SQL interpreter of core's filter AST: one exhaustive `match` per node type, next to
//! core's in-memory evaluator (`scim_core::filter::eval`), whose answers it reproduces exactly
//! on every document core accepts. Each rule below cites the evaluator rule it mirrors.
//!
//! Values come from the hot columns where the table has one (`id`, `externalId`, `userName`,
//! group `displayName`, `meta.created`, `meta.lastModified`, `meta.version`, group
//! `members.value`/`members.type`) and from the search document otherwise (see
//! [`crate::search`]), where strings are already folded, numbers and dateTimes already keyed.
//! So SQL never folds case or parses anything: literals are prepared here, in Rust, the same
//! way, and bound.
//!
//! Every predicate produced is two-valued (NULL is read as false at each leaf), so `not`, `ne`
//! (= not eq) and `eq null` (= not pr) mean what the evaluator means for absent values.
//!
//! `co`/`sw`/`ew` use `LIKE` with `\`, `%` and `_` escaped (SQLite runs with
//! `case_sensitive_like`, so LIKE is exact on both backends, and `userName sw` can use the
//! index on SQLite); needles too long for a LIKE pattern use `instr`/`substr`
//! (`strpos`/`left`/`right`), which are equally exact.

use chrono::{DateTime, FixedOffset};
use scim_core::filter::eval::parse_bool;
use scim_core::filter::eval::parse_instant;
use scim_core::filter::{CompareOp, Filter, Literal};
use scim_core::path::AttrPath;
use scim_core::schema::{AttrType, AttributeDef, Resolved, ResourceType, SchemaRegistry, urn};

use super::sql::{ANY_KIND, Bind, Json, JsonKind, Sql, Substring};
use crate::error::{Result, StoreError};
use crate::search::{
    DT_KEY, DT_TEXT, NUM_INT, NUM_KEY, Num, ODD, doc_key, float_key, fold_if, instant_key,
    text_exact,
};

/// Longest needle (in bytes) put into a LIKE pattern; SQLite refuses patterns over 50 000
/// bytes, and longer needles take the `instr`/`substr` route.
const LIKE_MAX: usize = 10_000;

/// Which table the rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// `users`.
    Users,
    /// `groups`.
    Groups,
}

impl Table {
    /// The SQL table name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Groups => "groups",
        }
    }
}

/// One value as SQL reads it.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    /// A value of the search document, normalized by the definition's type.
    Json(Json),
    /// A text expression that is already in comparison form (folded where the attribute is
    /// not caseExact); NULL when absent.
    Text(String),
    /// A timestamp column (`meta.created`, `meta.lastModified`).
    Stamp(&'static str),
    /// A value that is the same for every row (`meta.resourceType`).
    Const(String),
}

/// What one filter path points at (the evaluator's `Target`).
enum Target<'s> {
    /// A search-document attribute, whole or one sub-attribute.
    Attr {
        j: Json,
        attr: &'s AttributeDef,
        sub: Option<&'s AttributeDef>,
    },
    /// A single value, typed by `def`.
    Leaf { leaf: Leaf, def: &'s AttributeDef },
    /// A user's `emails` compared by value: the `user_emails` rows (`value_key` is the folded
    /// value of each email that has a string value), so `emails.value eq` is an index lookup.
    /// `pr` reads the search document.
    Emails {
        j: Json,
        attr: &'s AttributeDef,
        sub: Option<&'s AttributeDef>,
    },
    /// Membership rows (a group's `members`, a user's `groups`); `sub` picks the column
    /// (`value` when `None`).
    Rows {
        set: RowSet,
        attr: &'s AttributeDef,
        sub: Option<&'s AttributeDef>,
    },
    /// `meta` as a whole: always present, and it has no `value` to compare.
    Meta,
}

/// Where the elements of a value path are.
enum Elements<'s> {
    /// One JSON element (a singular complex value, or the current array element).
    Json(Json, &'s AttributeDef),
    /// The current membership row (alias).
    Row(RowSet, String, &'s AttributeDef),
    /// The row's `meta` columns.
    Meta(&'s AttributeDef),
}

/// A literal prepared for the leaf's type, as the evaluator's `Prepared`.
enum Prep {
    Text(String),
    Bool(bool),
    Num(Num),
    DateTime {
        instant: Option<DateTime<FixedOffset>>,
        text: String,
    },
    Never,
}

impl Prep {
    fn new(leaf: &AttributeDef, lit: &Literal) -> Prep {
        match leaf.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                let text = match lit {
                    Literal::String(s) => s.clone(),
                    Literal::Bool(b) => b.to_string(),
                    Literal::Number(n) => n.to_string(),
                    Literal::Null => return Prep::Never,
                };
                Prep::Text(fold_if(&text, text_exact(leaf)))
            }
            AttrType::Boolean => match lit {
                Literal::Bool(b) => Prep::Bool(*b),
                Literal::String(s) => parse_bool(s).map_or(Prep::Never, Prep::Bool),
                Literal::Number(_) | Literal::Null => Prep::Never,
            },
            AttrType::Integer | AttrType::Decimal => match lit {
                Literal::Number(n) => Num::from_json(n).map_or(Prep::Never, Prep::Num),
                Literal::String(s) => Num::parse(s).map_or(Prep::Never, Prep::Num),
                Literal::Bool(_) | Literal::Null => Prep::Never,
            },
            AttrType::DateTime => match lit {
                Literal::String(s) => Prep::DateTime {
                    instant: parse_instant(s),
                    text: fold_if(s, leaf.case_exact),
                },
                _ => Prep::Never,
            },
            AttrType::Complex => Prep::Never,
        }
    }
}

/// Translates filters on one resource type into SQL over the row aliased `r`.
pub(crate) struct Translator<'a> {
    registry: &'a SchemaRegistry,
    rt: &'a ResourceType,
    table: Table,
    /// Placeholder of the tenant id, for uncorrelated subqueries on the side tables.
    tenant: String,
    pub(crate) q: &'a mut Sql,
    aliases: usize,
}

impl<'a> Translator<'a> {
    /// A translator writing binds into `q`; `tenant` is the placeholder of the tenant id.
    pub(crate) fn new(
        registry: &'a SchemaRegistry,
        rt: &'a ResourceType,
        table: Table,
        tenant: String,
        q: &'a mut Sql,
    ) -> Self {
        Translator {
            registry,
            rt,
            table,
            tenant,
            q,
            aliases: 0,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// The SQL condition for `filter` (the evaluator's `matches`).
    pub(crate) fn filter(&mut self, filter: &Filter) -> Result<String> {
        match filter {
            Filter::Not(inner) => Ok(format!("(NOT {})", self.filter(inner)?)),
            Filter::And(a, b) => Ok(format!("({} AND {})", self.filter(a)?, self.filter(b)?)),
            Filter::Or(a, b) => Ok(format!("({} OR {})", self.filter(a)?, self.filter(b)?)),
            Filter::Present(path) => {
                let t = self.target(path)?;
                self.present(&t)
            }
            Filter::Compare { path, op, value } => {
                let t = self.target(path)?;
                self.compare(&t, *op, value)
            }
            Filter::ValuePath { path, filter } => self.value_path(path, filter),
        }
    }

    /// `attr[filter]`: some element satisfies `filter` (a singular complex value is its own
    /// element); a sub-attribute before the brackets, or brackets on a singular simple
    /// attribute, match nothing.
    fn value_path(&mut self, path: &AttrPath, inner: &Filter) -> Result<String> {
        if path.sub.is_some() {
            return Ok(self.q.lit(false).into());
        }
        let r = self.resolve(path)?;
        let attr = r.attr;
        if attr.ty != AttrType::Complex && !attr.multi_valued {
            return Ok(self.q.lit(false).into());
        }
        if r.schema.is_none() && attr.name == "meta" {
            return self.element(inner, &Elements::Meta(attr));
        }
        if let Some(set) = self.row_set(&r) {
            let m = self.alias("m");
            let cond = self.element(inner, &Elements::Row(set, m.clone(), attr))?;
            return Ok(self.rows(set, &m, &cond));
        }
        let j = self.json(&r)?;
        if attr.multi_valued {
            let e = self.alias("e");
            let cond = self.element(inner, &Elements::Json(Json::elem(&e), attr))?;
            let each = self.exists_each(&j, &e, &cond);
            // `emails[type eq "work" and value eq "x"]` (Entra's E14 lookup): the element that
            // matches has the value "x", so its `user_emails` row does too. That implied
            // condition lets the index pick the candidates.
            if self.is_emails(&r)
                && let Some(lit) = value_eq(inner)
                && let Some(value) = attr.sub("value")
                && let Prep::Text(needle) = Prep::new(value, lit)
            {
                let rows = self.email_rows(CompareOp::Eq, &needle);
                return Ok(format!("({rows} AND {each})"));
            }
            Ok(each)
        } else {
            let is_object = self.q.json_is(&j, &[JsonKind::Object]);
            let cond = self.element(inner, &Elements::Json(j, attr))?;
            Ok(format!("({is_object} AND {cond})"))
        }
    }

    /// A filter inside brackets, on one element (the evaluator's `matches_element`): paths
    /// name sub-attributes (`value` for a multi-valued simple attribute); nested brackets, URNs
    /// and dotted names inside match nothing.
    fn element(&mut self, filter: &Filter, el: &Elements<'_>) -> Result<String> {
        match filter {
            Filter::Not(inner) => Ok(format!("(NOT {})", self.element(inner, el)?)),
            Filter::And(a, b) => Ok(format!(
                "({} AND {})",
                self.element(a, el)?,
                self.element(b, el)?
            )),
            Filter::Or(a, b) => Ok(format!(
                "({} OR {})",
                self.element(a, el)?,
                self.element(b, el)?
            )),
            Filter::ValuePath { .. } => Ok(self.q.lit(false).into()),
            Filter::Present(path) => match self.element_target(path, el)? {
                Some(t) => self.present(&t),
                None => Ok(self.q.lit(false).into()),
            },
            Filter::Compare { path, op, value } => match self.element_target(path, el)? {
                Some(t) => self.compare(&t, *op, value),
                None => Ok(self.q.lit(false).into()),
            },
        }
    }

    fn element_target<'s>(&self, path: &AttrPath, el: &Elements<'s>) -> Result<Option<Target<'s>>> {
        if path.urn.is_some() || path.sub.is_some() {
            return Ok(None);
        }
        let attr = match el {
            Elements::Json(_, a) | Elements::Row(_, _, a) | Elements::Meta(a) => *a,
        };
        let def = if attr.ty == AttrType::Complex {
            attr.sub(&path.name).ok_or_else(|| unknown(path))?
        } else if path.name.eq_ignore_ascii_case("value") {
            attr
        } else {
            return Err(unknown(path));
        };
        let leaf = match el {
            Elements::Json(j, a) if a.ty == AttrType::Complex => Leaf::Json(j.field(&def.name)),
            Elements::Json(j, _) => Leaf::Json(j.clone()),
            Elements::Row(set, m, _) => row_leaf(*set, m, def)?,
            Elements::Meta(_) => self.meta_leaf(def)?,
        };
        Ok(Some(Target::Leaf { leaf, def }))
    }

    /// The target of a top-level path; unknown names are the caller's mistake (core's
    /// `validate` refuses them first), reported as `Invalid` rather than matching nothing.
    fn target(&self, path: &AttrPath) -> Result<Target<'a>> {
        let r = self.resolve(path)?;
        let attr = r.attr;
        if r.schema.is_none() {
            let hot = match attr.name.as_str() {
                "id" => Some("r.id"),
                "externalId" => Some("r.external_id"),
                _ => None,
            };
            if let Some(col) = hot {
                return Ok(Target::Leaf {
                    leaf: Leaf::Text(col.into()),
                    def: attr,
                });
            }
            if attr.name == "meta" {
                return Ok(match r.sub {
                    Some(def) => Target::Leaf {
                        leaf: self.meta_leaf(def)?,
                        def,
                    },
                    None => Target::Meta,
                });
            }
        }
        if r.sub.is_none() && !r.in_extension {
            let core = r.schema.map(|s| s.id.as_str());
            let hot = match (self.table, core, attr.name.as_str()) {
                (Table::Users, Some(urn::USER), "userName") => Some("r.user_name_key"),
                (Table::Groups, Some(urn::GROUP), "displayName") => Some("r.display_name_key"),
                _ => None,
            };
            if let Some(col) = hot {
                return Ok(Target::Leaf {
                    leaf: Leaf::Text(col.into()),
                    def: attr,
                });
            }
        }
        if let Some(set) = self.row_set(&r) {
            return Ok(Target::Rows {
                set,
                attr,
                sub: r.sub,
            });
        }
        if self.is_emails(&r) && r.sub.is_none_or(|s| s.name == "value") {
            return Ok(Target::Emails {
                j: self.json(&r)?,
                attr,
                sub: r.sub,
            });
        }
        Ok(Target::Attr {
            j: self.json(&r)?,
            attr,
            sub: r.sub,
        })
    }

    fn resolve(&self, path: &AttrPath) -> Result<Resolved<'a>> {
        self.registry
            .resolve(self.rt, path)
            .ok_or_else(|| unknown(path))
    }

    fn is_emails(&self, r: &Resolved<'_>) -> bool {
        self.table == Table::Users
            && !r.in_extension
            && r.schema.is_some_and(|s| s.id == urn::USER)
            && r.attr.name == "emails"
    }

    /// Group `members` and User `groups` live in `group_members`, not in the document.
    fn row_set(&self, r: &Resolved<'_>) -> Option<RowSet> {
        let core = r.schema.filter(|_| !r.in_extension).map(|s| s.id.as_str());
        match (self.table, core, r.attr.name.as_str()) {
            (Table::Groups, Some(urn::GROUP), "members") => Some(RowSet::GroupMembers),
            (Table::Users, Some(urn::USER), "groups") => Some(RowSet::UserGroups),
            _ => None,
        }
    }

    /// The search-document key of `r`, refused if it could break out of a JSON path label.
    fn json(&self, r: &Resolved<'_>) -> Result<Json> {
        let key = doc_key(r);
        let bad = |s: &str| s.contains(['"', '\\']);
        if bad(&key) || r.sub.is_some_and(|s| bad(&s.name)) {
            return Err(StoreError::Unsupported(format!(
                "attribute name {key:?} can't be filtered in SQL"
            )));
        }
        Ok(Json::row(&key))
    }

    /// `meta.<sub>` as columns of the row.
    fn meta_leaf(&self, def: &AttributeDef) -> Result<Leaf> {
        let d = self.q.dialect;
        Ok(match def.name.as_str() {
            "created" => Leaf::Stamp("r.created_at"),
            "lastModified" => Leaf::Stamp("r.updated_at"),
            "version" => Leaf::Text(d.version_text("r.version")),
            "resourceType" => Leaf::Const(self.rt.name.clone()),
            other => {
                return Err(StoreError::Unsupported(format!(
                    "filtering on meta.{other} is not supported: the store doesn't know it"
                )));
            }
        })
    }

    /// The row has a membership row (aliased `m`) satisfying `cond`. An uncorrelated `IN`,
    /// so the `(tenant_id, member_id)` index can drive `members.value eq`.
    fn rows(&self, set: RowSet, m: &str, cond: &str) -> String {
        let t = &self.tenant;
        match set {
            RowSet::GroupMembers => format!(
                "r.id IN (SELECT {m}.group_id FROM group_members {m} WHERE {m}.tenant_id = {t} \
                 AND {cond})"
            ),
            RowSet::UserGroups => format!(
                "r.id IN (SELECT {m}.member_id FROM group_members {m} JOIN groups {m}g \
                 ON {m}g.tenant_id = {m}.tenant_id AND {m}g.id = {m}.group_id \
                 WHERE {m}.tenant_id = {t} AND {cond})"
            ),
        }
    }

    /// The user has an email whose folded value satisfies `op needle`, from `user_emails`
    /// (index `(tenant_id, value_key)`).
    fn email_rows(&mut self, op: CompareOp, needle: &str) -> String {
        let u = self.alias("u");
        let cond = self.text_op(&format!("{u}.value_key"), op, needle);
        let t = &self.tenant;
        format!(
            "r.id IN (SELECT {u}.user_id FROM user_emails {u} WHERE {u}.tenant_id = {t} \
             AND {cond})"
        )
    }

    /// Some element of the JSON array `j` (iterated as `e`) satisfies `cond`.
    fn exists_each(&mut self, j: &Json, e: &str, cond: &str) -> String {
        let is_array = self.q.json_is(j, &[JsonKind::Array]);
        let from = self.q.json_each(j, e);
        format!("({is_array} AND EXISTS (SELECT 1 FROM {from} WHERE {cond}))")
    }

    /// The evaluator's `Target::compare`: `eq null` is not-present, `ne null` present, other
    /// operators with null nothing, `ne v` is not `eq v`.
    fn compare(&mut self, t: &Target<'_>, op: CompareOp, lit: &Literal) -> Result<String> {
        match (op, lit) {
            (CompareOp::Eq, Literal::Null) => Ok(format!("(NOT {})", self.present(t)?)),
            (CompareOp::Ne, Literal::Null) => self.present(t),
            (_, Literal::Null) => Ok(self.q.lit(false).into()),
            (CompareOp::Ne, _) => Ok(format!("(NOT {})", self.any(t, CompareOp::Eq, lit)?)),
            _ => self.any(t, op, lit),
        }
    }

    /// Whether some value of the target satisfies `op lit` (the evaluator's `Target::any`): a
    /// complex attribute without a sub-attribute compares its `value`.
    fn any(&mut self, t: &Target<'_>, op: CompareOp, lit: &Literal) -> Result<String> {
        let (def, sub) = match t {
            Target::Attr { attr, sub, .. }
            | Target::Emails { attr, sub, .. }
            | Target::Rows { attr, sub, .. } => match sub {
                Some(s) => (Some(*s), Some(*s)),
                None if attr.ty == AttrType::Complex => (attr.sub("value"), attr.sub("value")),
                None => (Some(*attr), None),
            },
            Target::Leaf { def, .. } => (Some(*def), None),
            Target::Meta => (None, None),
        };
        let Some(def) = def else {
            return Ok(self.q.lit(false).into());
        };
        let prep = Prep::new(def, lit);
        if matches!(prep, Prep::Never) {
            return Ok(self.q.lit(false).into());
        }
        match t {
            Target::Attr { j, attr, .. } => self.over_attr(j, attr, sub, |this, j| {
                this.leaf_pred(&Leaf::Json(j), &prep, op)
            }),
            Target::Leaf { leaf, .. } => self.leaf_pred(leaf, &prep, op),
            Target::Emails { .. } => match &prep {
                Prep::Text(needle) => Ok(self.email_rows(op, needle)),
                _ => Ok(self.q.lit(false).into()),
            },
            Target::Rows { set, .. } => {
                let m = self.alias("m");
                let leaf = row_leaf(*set, &m, def)?;
                let cond = self.leaf_pred(&leaf, &prep, op)?;
                Ok(self.rows(*set, &m, &cond))
            }
            Target::Meta => Ok(self.q.lit(false).into()),
        }
    }

    /// RFC 7644 `pr` (the evaluator's `Target::present`).
    fn present(&mut self, t: &Target<'_>) -> Result<String> {
        match t {
            Target::Attr { j, attr, sub } | Target::Emails { j, attr, sub } => match sub {
                Some(s) => self.over_attr(j, attr, Some(s), |this, j| {
                    Ok(this.leaf_present(&Leaf::Json(j), s))
                }),
                None if attr.ty == AttrType::Complex => {
                    self.over_attr(j, attr, None, |this, j| Ok(this.element_present(&j, attr)))
                }
                None => self.over_attr(j, attr, None, |this, j| {
                    Ok(this.leaf_present(&Leaf::Json(j), attr))
                }),
            },
            Target::Leaf { leaf, def } => Ok(self.leaf_present(leaf, def)),
            Target::Rows { set, sub, .. } => {
                let m = self.alias("m");
                let cond = match sub {
                    Some(def) => {
                        let leaf = row_leaf(*set, &m, def)?;
                        self.leaf_present(&leaf, def)
                    }
                    None => self.q.lit(true).into(),
                };
                Ok(self.rows(*set, &m, &cond))
            }
            Target::Meta => Ok(self.q.lit(true).into()),
        }
    }

    /// `pred` on the attribute's values: each array element (or its `sub` key) for a
    /// multi-valued attribute, the value (or its `sub` key) otherwise.
    fn over_attr(
        &mut self,
        j: &Json,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        pred: impl FnOnce(&mut Self, Json) -> Result<String>,
    ) -> Result<String> {
        if attr.multi_valued {
            let e = self.alias("e");
            let el = Json::elem(&e);
            let leaf = match sub {
                Some(s) => el.field(&s.name),
                None => el,
            };
            let cond = pred(self, leaf)?;
            Ok(self.exists_each(j, &e, &cond))
        } else {
            let leaf = match sub {
                Some(s) => j.field(&s.name),
                None => j.clone(),
            };
            pred(self, leaf)
        }
    }

    /// A complex element is present when one of its sub-attributes is (or it carries the
    /// marker of a present value of the wrong shape).
    fn element_present(&mut self, j: &Json, attr: &AttributeDef) -> String {
        let mut parts: Vec<String> = attr
            .sub_attributes
            .iter()
            .map(|s| self.leaf_present(&Leaf::Json(j.field(&s.name)), s))
            .collect();
        parts.push(self.q.json_is(&j.field(ODD), ANY_KIND));
        format!("({})", parts.join(" OR "))
    }

    /// `pr` of one leaf: a value that is not null and not `""`.
    fn leaf_present(&mut self, leaf: &Leaf, def: &AttributeDef) -> String {
        match leaf {
            Leaf::Json(j) => match def.ty {
                AttrType::DateTime => {
                    let is_object = self.q.json_is(j, &[JsonKind::Object]);
                    let t = j.field(DT_TEXT);
                    let t_is = self.q.json_is(&t, &[JsonKind::String]);
                    let text = self.q.json_text(&t);
                    let empty = self.q.is_true(&format!("{t_is} AND {text} = ''"));
                    format!("({is_object} AND NOT {empty})")
                }
                _ => {
                    let any = self.q.json_is(j, ANY_KIND);
                    let is_string = self.q.json_is(j, &[JsonKind::String]);
                    let text = self.q.json_text(j);
                    let empty = self.q.is_true(&format!("{is_string} AND {text} = ''"));
                    format!("({any} AND NOT {empty})")
                }
            },
            Leaf::Text(e) => self.q.is_true(&format!("{e} <> ''")),
            Leaf::Stamp(_) => self.q.lit(true).into(),
            Leaf::Const(s) => self.q.lit(!s.is_empty()).into(),
        }
    }

    /// `leaf <op> literal` for one leaf (the evaluator's `Prepared::test`).
    fn leaf_pred(&mut self, leaf: &Leaf, prep: &Prep, op: CompareOp) -> Result<String> {
        let ordered = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        Ok(match (leaf, prep) {
            (_, Prep::Never) => self.q.lit(false).into(),
            (Leaf::Json(j), Prep::Text(needle)) => {
                let is_string = self.q.json_is(j, &[JsonKind::String]);
                let text = self.q.json_text(j);
                let cond = self.text_op(&text, op, needle);
                self.q.is_true(&format!("{is_string} AND {cond}"))
            }
            (Leaf::Json(j), Prep::Bool(b)) => match op {
                CompareOp::Eq => {
                    let kind = if *b { JsonKind::True } else { JsonKind::False };
                    self.q.json_is(j, &[kind])
                }
                _ => self.q.lit(false).into(),
            },
            (Leaf::Json(_), Prep::Num(_)) if !ordered => self.q.lit(false).into(),
            (Leaf::Json(j), Prep::Num(want)) => {
                let f = self.q.json_num(&j.field(NUM_KEY));
                let cond = match want {
                    Num::Int(w) => {
                        let i = self.q.json_num(&j.field(NUM_INT));
                        let w_ph = self.q.bind(Bind::Int(*w));
                        let float = self.float_cond(&f, op, *w as f64);
                        format!(
                            "CASE WHEN {i} IS NOT NULL THEN {i} {} {w_ph} ELSE {float} END",
                            sql_op(op)
                        )
                    }
                    Num::Float(w) => self.float_cond(&f, op, *w),
                };
                self.q.is_true(&cond)
            }
            (Leaf::Json(j), Prep::DateTime { instant, text }) => {
                let t = j.field(DT_TEXT);
                let t_is = self.q.json_is(&t, &[JsonKind::String]);
                let t_text = self.q.json_text(&t);
                let by_text = format!("({t_is} AND {})", self.text_op(&t_text, op, text));
                match instant {
                    Some(w) if ordered => {
                        let k = j.field(DT_KEY);
                        let k_is = self.q.json_is(&k, &[JsonKind::String]);
                        let k_text = self.q.json_text(&k);
                        let by_instant = self.text_op(&k_text, op, &instant_key(*w));
                        self.q.is_true(&format!(
                            "CASE WHEN {k_is} THEN {by_instant} ELSE {by_text} END"
                        ))
                    }
                    _ => self.q.is_true(&by_text),
                }
            }
            (Leaf::Text(e), Prep::Text(needle)) => {
                let cond = self.text_op(e, op, needle);
                self.q.is_true(&cond)
            }
            (Leaf::Stamp(col), Prep::DateTime { instant, text }) => match instant {
                Some(w) if ordered => {
                    let d = self.q.dialect;
                    d.stamp_cmp(self.q, col, sql_op(op), w.naive_utc())
                }
                _ => {
                    let e = self.q.dialect.stamp_text(col);
                    self.text_op(&e, op, text)
                }
            },
            (Leaf::Const(s), Prep::Text(needle)) => self.q.lit(const_op(s, op, needle)).into(),
            (Leaf::Text(_) | Leaf::Stamp(_) | Leaf::Const(_), _) => {
                return Err(StoreError::Unsupported(
                    "a column compared with a literal of another type".into(),
                ));
            }
        })
    }

    /// `f <op> x` on [`float_key`]s, where `-0.0` (key -1) equals `0.0` (key 0) as in
    /// `f64::partial_cmp`.
    fn float_cond(&mut self, f: &str, op: CompareOp, x: f64) -> String {
        if x == 0.0 {
            return match op {
                CompareOp::Eq => format!("({f} >= -1 AND {f} <= 0)"),
                CompareOp::Ne => format!("NOT ({f} >= -1 AND {f} <= 0)"),
                CompareOp::Gt => format!("{f} > 0"),
                CompareOp::Ge => format!("{f} >= -1"),
                CompareOp::Lt => format!("{f} < -1"),
                CompareOp::Le | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    format!("{f} <= 0")
                }
            };
        }
        let ph = self.q.bind(Bind::Int(float_key(x)));
        format!("{f} {} {ph}", sql_op(op))
    }

    /// `e <op> needle` on text, exact: `=`, byte order, or a substring test.
    fn text_op(&mut self, e: &str, op: CompareOp, needle: &str) -> String {
        let d = self.q.dialect;
        let sub = match op {
            CompareOp::Co => Substring::Contains,
            CompareOp::Sw => Substring::Starts,
            CompareOp::Ew => Substring::Ends,
            CompareOp::Eq | CompareOp::Ne => {
                let ph = self.q.text(needle);
                return format!("{e} {} {ph}", sql_op(op));
            }
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                let ph = self.q.text(needle);
                return format!("{} {} {ph}", d.bytewise(e), sql_op(op));
            }
        };
        if needle.is_empty() {
            // Every string contains, starts and ends with "".
            return format!("{e} IS NOT NULL");
        }
        if needle.len() > LIKE_MAX {
            let n = self.q.text(needle);
            let chars = i64::try_from(needle.chars().count()).unwrap_or(i64::MAX);
            let c = self.q.bind(Bind::Int(chars));
            return d.substring(e, sub, &n, &c);
        }
        let escaped = like_escape(needle);
        let pattern = match sub {
            Substring::Contains => format!("%{escaped}%"),
            Substring::Starts => format!("{escaped}%"),
            Substring::Ends => format!("%{escaped}"),
        };
        let ph = self.q.text(&pattern);
        d.like(e, &ph)
    }
}

/// Membership rows that stand for a multi-valued attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowSet {
    /// A group's `members`: `group_members` rows of the group.
    GroupMembers,
    /// A user's `groups` (direct memberships, as the server renders them: `value` and
    /// `display`): `group_members` rows of the user, joined to the group for its name.
    UserGroups,
}

/// A membership column as a leaf. Group `members`: `value` is the member id (caseExact),
/// `type` the stored `User`/`Group` (ASCII, so `lower` is exactly `fold_case`). User `groups`:
/// `value` is the group id, `display` the group's folded displayName key. The rest (a
/// member's free-text `display`, which SQL can't fold like core; `$ref`, built from the
/// server's base URL; `groups.type`) is not stored in a comparable form.
fn row_leaf(set: RowSet, m: &str, def: &AttributeDef) -> Result<Leaf> {
    match (set, def.name.as_str()) {
        (RowSet::GroupMembers, "value") => Ok(Leaf::Text(format!("{m}.member_id"))),
        (RowSet::GroupMembers, "type") => Ok(Leaf::Text(format!("lower({m}.member_type)"))),
        (RowSet::UserGroups, "value") => Ok(Leaf::Text(format!("{m}.group_id"))),
        (RowSet::UserGroups, "display") => Ok(Leaf::Text(format!("{m}g.display_name_key"))),
        (RowSet::GroupMembers, other) => Err(StoreError::Unsupported(format!(
            "filtering on members.{other} is not supported; filter on members.value or \
             members.type"
        ))),
        (RowSet::UserGroups, other) => Err(StoreError::Unsupported(format!(
            "filtering on groups.{other} is not supported; filter on groups.value or \
             groups.display"
        ))),
    }
}

/// The literal of a top-level `value eq <literal>` conjunct of a bracket filter, if any.
fn value_eq(filter: &Filter) -> Option<&Literal> {
    match filter {
        Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.name.eq_ignore_ascii_case("value")
            && !matches!(value, Literal::Null) =>
        {
            Some(value)
        }
        _ => None,
    }
}

fn unknown(path: &AttrPath) -> StoreError {
    StoreError::Invalid(format!(
        "attribute {path} is not defined for this resource type"
    ))
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        // Substring operators never reach an ordering comparison.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// `\`, `%` and `_` escaped for `LIKE … ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A comparison whose stored side is the same constant for every row, decided here.
fn const_op(hay: &str, op: CompareOp, needle: &str) -> bool {
    match op {
        CompareOp::Eq => hay == needle,
        CompareOp::Ne => hay != needle,
        CompareOp::Co => hay.contains(needle),
        CompareOp::Sw => hay.starts_with(needle),
        CompareOp::Ew => hay.ends_with(needle),
        CompareOp::Gt => hay > needle,
        CompareOp::Ge => hay >= needle,
        CompareOp::Lt => hay < needle,
        CompareOp::Le => hay <= needle,
    }
}
