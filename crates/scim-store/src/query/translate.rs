//! The SQL interpreter of core's filter AST: one exhaustive `match` per node type, next to
//! core's in-memory evaluator (`scim_core::filter::eval`), whose answers it reproduces exactly
//! on every document core accepts. Each rule below cites the evaluator rule it mirrors.
//!
//! Values come from the hot columns where the table has one (`id`, `externalId`, `userName`,
//! group `displayName`, `meta.created`, `meta.lastModified`, `meta.version`), from the
//! membership table (group `members.value`/`members.type`, user `groups.value`/`groups.display`),
//! from `user_emails` (`emails.value` comparisons)) and from the search document otherwise (see
//! [`crate::search`]), where strings are already folded, numbers and dateTimes already keyed.
//! So SQL never folds case or parses anything: literals are prepared here, in Rust, the same
//! way, and bound.
//!
//! Every predicate produced is two-valued (NULL is read as false at each leaf), so `not`, `ne`
//! (= not eq) and `eq null` (= not pr) mean what the evaluator means for absent values.
//!
//! Hot lookups stay index lookups: key columns are compared bare (not wrapped for NULL when
//! the column can't be NULL), and `externalId`, `emails.value` and membership are uncorrelated
//! `r.id IN (SELECT … WHERE tenant_id = ? AND …)` subqueries on their indexes. When such an
//! equality must hold for every result, [`Translator::indexed`] tells the caller to order
//! without the creation-order index (SQLite has no statistics to weigh the two).
//!
//! `active` reads the document, not the `active` column: the column says true for a document
//! without `active`, which the evaluator doesn't (and it has no index to offer).
//!
//! The typed comparison of one value is in [`super::leaf`].

use scim_core::filter::{CompareOp, Filter, Literal};
use scim_core::path::AttrPath;
use scim_core::schema::{AttrType, AttributeDef, Resolved, ResourceType, SchemaRegistry, urn};

use super::leaf::{self, Leaf, Prep};
use super::sql::{ANY_KIND, Json, JsonKind, Sql};
use crate::error::{Result, StoreError};
use crate::search::{ODD, doc_key};

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
    /// `externalId`: compared through its `(tenant_id, external_id)` index as an `IN`
    /// subquery, which SQLite's planner (without statistics) would otherwise pass over for
    /// the primary key.
    ExternalId { def: &'s AttributeDef },
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

/// Translates filters on one resource type into SQL over the row aliased `r`.
pub(crate) struct Translator<'a> {
    registry: &'a SchemaRegistry,
    rt: &'a ResourceType,
    table: Table,
    /// Placeholder of the tenant id, for uncorrelated subqueries on the side tables.
    tenant: String,
    pub(crate) q: &'a mut Sql,
    aliases: usize,
    /// Whether the node being translated must hold for every result (not under `not`/`or`).
    top: bool,
    /// Whether some such node is an equality an index answers (`userName eq`, `emails.value
    /// eq`, …): the statement then orders without the creation-order index.
    pub(crate) indexed: bool,
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
            top: true,
            indexed: false,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// The SQL condition for `filter` (the evaluator's `matches`).
    pub(crate) fn filter(&mut self, filter: &Filter) -> Result<String> {
        match filter {
            Filter::Not(inner) => {
                let top = std::mem::replace(&mut self.top, false);
                let cond = self.filter(inner);
                self.top = top;
                Ok(format!("(NOT {})", cond?))
            }
            Filter::And(a, b) => Ok(format!("({} AND {})", self.filter(a)?, self.filter(b)?)),
            Filter::Or(a, b) => {
                let top = std::mem::replace(&mut self.top, false);
                let cond = self.filter(a).and_then(|a| Ok((a, self.filter(b)?)));
                self.top = top;
                let (a, b) = cond?;
                Ok(format!("({a} OR {b})"))
            }
            Filter::Present(path) => {
                let t = self.target(path)?;
                self.present(&t)
            }
            Filter::Compare { path, op, value } => {
                let t = self.target(path)?;
                if self.top && *op == CompareOp::Eq && *value != Literal::Null && indexed(&t) {
                    self.indexed = true;
                }
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
                self.indexed |= self.top;
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
            match attr.name.as_str() {
                "id" => {
                    return Ok(Target::Leaf {
                        leaf: Leaf::Text("r.id".into()),
                        def: attr,
                    });
                }
                "externalId" => return Ok(Target::ExternalId { def: attr }),
                _ => {}
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
        let cond = leaf::text_op(self.q, &format!("{u}.value_key"), op, needle);
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
            Target::Leaf { def, .. } | Target::ExternalId { def } => (Some(*def), None),
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
                leaf::compare(this.q, &Leaf::Json(j), &prep, op)
            }),
            Target::Leaf { leaf, .. } => leaf::compare(self.q, leaf, &prep, op),
            Target::ExternalId { .. } => {
                let x = self.alias("x");
                let cond =
                    leaf::compare(self.q, &Leaf::Text(format!("{x}.external_id")), &prep, op)?;
                let (table, t) = (self.table.name(), &self.tenant);
                Ok(format!(
                    "r.id IN (SELECT {x}.id FROM {table} {x} WHERE {x}.tenant_id = {t} \
                     AND {x}.external_id IS NOT NULL AND {cond})"
                ))
            }
            Target::Emails { .. } => match &prep {
                Prep::Text(needle) => Ok(self.email_rows(op, needle)),
                _ => Ok(self.q.lit(false).into()),
            },
            Target::Rows { set, .. } => {
                let m = self.alias("m");
                let leaf = row_leaf(*set, &m, def)?;
                let cond = leaf::compare(self.q, &leaf, &prep, op)?;
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
                    Ok(leaf::present(this.q, &Leaf::Json(j), s))
                }),
                None if attr.ty == AttrType::Complex => {
                    self.over_attr(j, attr, None, |this, j| Ok(this.element_present(&j, attr)))
                }
                None => self.over_attr(j, attr, None, |this, j| {
                    Ok(leaf::present(this.q, &Leaf::Json(j), attr))
                }),
            },
            Target::Leaf { leaf, def } => Ok(leaf::present(self.q, leaf, def)),
            Target::ExternalId { def } => Ok(leaf::present(
                self.q,
                &Leaf::NullableText("r.external_id".into()),
                def,
            )),
            Target::Rows { set, sub, .. } => {
                let m = self.alias("m");
                let cond = match sub {
                    Some(def) => {
                        let leaf = row_leaf(*set, &m, def)?;
                        leaf::present(self.q, &leaf, def)
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
            .map(|s| leaf::present(self.q, &Leaf::Json(j.field(&s.name)), s))
            .collect();
        parts.push(self.q.json_is(&j.field(ODD), ANY_KIND));
        format!("({})", parts.join(" OR "))
    }
}

/// Whether `eq` on this target is an index lookup: a key column of the row, an email value,
/// a member id.
fn indexed(t: &Target<'_>) -> bool {
    match t {
        Target::Leaf {
            leaf: Leaf::Text(e) | Leaf::NullableText(e),
            ..
        } => matches!(
            e.as_str(),
            "r.id" | "r.user_name_key" | "r.display_name_key"
        ),
        Target::ExternalId { .. } | Target::Emails { .. } => true,
        Target::Rows { sub, .. } => sub.is_none_or(|s| s.name == "value"),
        Target::Attr { .. } | Target::Leaf { .. } | Target::Meta => false,
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
