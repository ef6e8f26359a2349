//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the ListResponse message.
//!
//! `GET /Users?…` and `POST /Users/.search` say the same thing in two syntaxes; both are read
//! into one validated [`ListQuery`] here, so the store only translates the filter to SQL and
//! pages, and the server only projects. The rules, decided once:
//!
//! - Parameter names match case-insensitively (`startindex` works); unknown parameters are
//!   ignored, because clients add their own (Entra appends `aadOptscim062020`).
//! - A parameter given twice (in any case) is an `invalidValue` error rather than "last wins":
//!   silently dropping half of what a client asked for would return the wrong page.
//! - An empty value (`filter=`) counts as absent.
//! - `startIndex` below 1 becomes 1; `count` below 0 becomes 0 and above the maximum becomes
//!   the maximum (RFC 7644 §3.4.2.4: clamp, never fail); `count=0` asks for `totalResults`
//!   only. A value that is not an integer is `invalidValue`. In a search body a JSON number
//!   with no fraction (`2.0`) or a numeric string (`"2"`) is accepted too.
//! - `sortOrder` is `ascending` (the default) or `descending`, in any case.
//! - `sortBy` must be an attribute path; a malformed one is `invalidValue` (not `invalidPath`,
//!   which RFC 7644 reserves for PATCH). [`ListQuery::validate_against`] then checks it names
//!   a singular attribute of the resource type.
//! - `filter` goes through [`parse_filter`](crate::filter::parse_filter); its errors are
//!   `invalidFilter` with the byte offset.
//! - `attributes` / `excludedAttributes` are comma-separated lists (or JSON arrays in a search
//!   body); they are checked later, by the projection.

mod response;
mod sort;

pub use response::ListResponse;
pub use sort::sort_and_page;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::filter::eval::EvalContext;
use crate::json::get_ci;
use crate::path::AttrPath;
use crate::projection::Projection;
use crate::schema::{ResourceType, SchemaRegistry, urn};

/// Direction of `sortBy` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// Smallest first; resources without a value come last.
    #[default]
    Ascending,
    /// Largest first; resources without a value come first.
    Descending,
}

/// Paging limits of a server instance: what `count` means when absent and how far it is
/// clamped. The maximum is also advertised as `filter.maxResults` in the ServiceProviderConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Page size when the client sends no `count`.
    pub default_count: u64,
    /// Largest page size; larger `count`s are clamped to it.
    pub max_count: u64,
}

impl Default for QueryLimits {
    /// 100 per page by default, at most 1000: enough for Entra's and Okta's paging, small
    /// enough that one page is one cheap query.
    fn default() -> Self {
        QueryLimits {
            default_count: 100,
            max_count: 1000,
        }
    }
}

/// What a list or search asks for, already validated. The store translates `filter` to SQL and
/// pages with [`offset`](Self::offset) and `count`; the server uses the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Which resources to return; `None` returns all.
    pub filter: Option<Filter>,
    /// Attribute to sort by.
    pub sort_by: Option<AttrPath>,
    /// Sort direction (meaningful only with `sort_by`).
    pub sort_order: SortOrder,
    /// 1-based index of the first result, always at least 1.
    pub start_index: u64,
    /// Page size, already clamped to the maximum; 0 asks for `totalResults` only.
    pub count: u64,
    /// The `attributes` parameter, split at commas.
    pub attributes: Vec<String>,
    /// The `excludedAttributes` parameter, split at commas.
    pub excluded_attributes: Vec<String>,
}

impl Default for ListQuery {
    /// Everything, unsorted, first page of the default size.
    fn default() -> Self {
        ListQuery {
            filter: None,
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: QueryLimits::default().default_count,
            attributes: Vec::new(),
            excluded_attributes: Vec::new(),
        }
    }
}

/// The seven parameters, by their RFC spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Filter,
    SortBy,
    SortOrder,
    StartIndex,
    Count,
    Attributes,
    ExcludedAttributes,
}

impl Param {
    const ALL: [Param; 7] = [
        Param::Filter,
        Param::SortBy,
        Param::SortOrder,
        Param::StartIndex,
        Param::Count,
        Param::Attributes,
        Param::ExcludedAttributes,
    ];

    fn name(self) -> &'static str {
        match self {
            Param::Filter => "filter",
            Param::SortBy => "sortBy",
            Param::SortOrder => "sortOrder",
            Param::StartIndex => "startIndex",
            Param::Count => "count",
            Param::Attributes => "attributes",
            Param::ExcludedAttributes => "excludedAttributes",
        }
    }

    fn lookup(name: &str) -> Option<Param> {
        Param::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// The parameters as received, before interpretation; shared by both syntaxes.
#[derive(Debug, Default)]
struct Raw {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<Vec<String>>,
    excluded_attributes: Option<Vec<String>>,
    seen: Vec<Param>,
}

impl Raw {
    /// Marks `p` as given, refusing a second occurrence.
    fn mark(&mut self, p: Param) -> Result<()> {
        if self.seen.contains(&p) {
            return Err(Error::invalid_value(format!(
                "the {} parameter is given more than once; send it once",
                p.name()
            )));
        }
        self.seen.push(p);
        Ok(())
    }

    /// Stores a textual value; empty text counts as absent.
    fn set_text(&mut self, p: Param, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let text = text.to_string();
        match p {
            Param::Filter => self.filter = Some(text),
            Param::SortBy => self.sort_by = Some(text),
            Param::SortOrder => self.sort_order = Some(text),
            Param::StartIndex => self.start_index = Some(text),
            Param::Count => self.count = Some(text),
            Param::Attributes => self.attributes = Some(split_list(&text)),
            Param::ExcludedAttributes => self.excluded_attributes = Some(split_list(&text)),
        }
    }

    fn finish(self, limits: &QueryLimits) -> Result<ListQuery> {
        let filter = self
            .filter
            .as_deref()
            .map(crate::filter::parse_filter)
            .transpose()?;
        let sort_by = self
            .sort_by
            .as_deref()
            .map(|text| {
                AttrPath::parse(text).map_err(|e| {
                    Error::invalid_value(format!(
                        "sortBy must name one attribute, such as \"name.familyName\": {e}"
                    ))
                })
            })
            .transpose()?;
        let sort_order = match self.sort_order.as_deref() {
            None => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(s) => {
                return Err(Error::invalid_value(format!(
                    "sortOrder must be \"ascending\" or \"descending\", got {s:?}"
                )));
            }
        };
        let start_index = match self.start_index.as_deref() {
            None => 1,
            Some(t) => clamp_u64(parse_integer("startIndex", t)?).max(1),
        };
        let max = limits.max_count;
        let count = match self.count.as_deref() {
            None => limits.default_count.min(max),
            Some(t) => clamp_u64(parse_integer("count", t)?).min(max),
        };
        Ok(ListQuery {
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
            attributes: self.attributes.unwrap_or_default(),
            excluded_attributes: self.excluded_attributes.unwrap_or_default(),
        })
    }
}

/// `a, b,,c` → `["a", "b", "c"]`.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An optionally signed run of decimal digits; magnitudes beyond `u64` saturate, since they
/// are clamped anyway.
fn parse_integer(name: &str, text: &str) -> Result<i128> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_value(format!(
            "{name} must be an integer, got {text:?}"
        )));
    }
    let magnitude = digits
        .parse::<u64>()
        .map(i128::from)
        .unwrap_or(i128::from(u64::MAX));
    Ok(if negative { -magnitude } else { magnitude })
}

/// Negative → 0, otherwise the value (which [`parse_integer`] keeps within `u64`).
fn clamp_u64(n: i128) -> u64 {
    u64::try_from(n.max(0)).unwrap_or(u64::MAX)
}

/// A JSON number or numeric string as the text [`parse_integer`] reads; integral floats
/// (`2.0`) are written without their fraction.
fn number_text(name: &str, value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                Ok(Some(n.to_string()))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(format!("{f:.0}"))),
                    _ => Err(Error::invalid_value(format!(
                        "{name} must be an integer, got {n}"
                    ))),
                }
            }
        }
        other => Err(Error::invalid_value(format!(
            "{name} must be an integer, got {other}"
        ))),
    }
}

/// An `attributes` list in a search body: an array of strings, or one comma-separated string.
fn list_value(name: &str, value: &Value) -> Result<Option<Vec<String>>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(split_list(s))),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(split_list(s)),
                other => Err(Error::invalid_value(format!(
                    "{name} must be an array of attribute names, found {other}"
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(|parts| Some(parts.concat())),
        other => Err(Error::invalid_value(format!(
            "{name} must be an array of attribute names, found {other}"
        ))),
    }
}

impl ListQuery {
    /// From the URL query pairs, already percent-decoded by the server. Names match
    /// case-insensitively; unknown names are ignored; see the module docs for every rule.
    pub fn from_query_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        limits: &QueryLimits,
    ) -> Result<ListQuery> {
        let mut raw = Raw::default();
        for (name, value) in pairs {
            if let Some(p) = Param::lookup(name) {
                raw.mark(p)?;
                raw.set_text(p, value);
            }
        }
        raw.finish(limits)
    }

    /// From a `POST /.search` body (a SearchRequest, RFC 7644 §3.4.3). `schemas` may be
    /// omitted, but when present it must name the SearchRequest URN, so a PatchOp or a resource
    /// sent here by mistake is refused instead of read as "list everything".
    pub fn from_search_body(body: &Value, limits: &QueryLimits) -> Result<ListQuery> {
        let Value::Object(obj) = body else {
            return Err(Error::InvalidSyntax(
                "a search request must be a JSON object".to_string(),
            ));
        };
        if let Some(schemas) = get_ci(obj, "schemas") {
            let ok = schemas.as_array().is_some_and(|items| {
                items.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(urn::SEARCH_REQUEST))
                })
            });
            if !ok {
                return Err(Error::InvalidSyntax(format!(
                    "schemas must be [\"{}\"] in a search request",
                    urn::SEARCH_REQUEST
                )));
            }
        }
        let mut raw = Raw::default();
        for (key, value) in obj {
            let Some(p) = Param::lookup(key) else {
                continue;
            };
            raw.mark(p)?;
            match p {
                Param::Filter | Param::SortBy | Param::SortOrder => match value {
                    Value::Null => {}
                    Value::String(s) => raw.set_text(p, s),
                    other => {
                        return Err(Error::invalid_value(format!(
                            "{} must be a string, found {other}",
                            p.name()
                        )));
                    }
                },
                Param::StartIndex | Param::Count => {
                    if let Some(text) = number_text(p.name(), value)? {
                        raw.set_text(p, &text);
                    }
                }
                Param::Attributes => raw.attributes = list_value(p.name(), value)?,
                Param::ExcludedAttributes => {
                    raw.excluded_attributes = list_value(p.name(), value)?;
                }
            }
        }
        raw.finish(limits)
    }

    /// Number of resources to skip (`startIndex - 1`), for SQL `OFFSET`.
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }

    /// Checks the query against the resource type's schema: `sortBy` must name a known
    /// attribute with one comparable value (a singular simple attribute, or a sub-attribute of
    /// a singular complex one), and the filter must name known attributes with fitting
    /// operands. Errors are `invalidValue` for `sortBy` and `invalidFilter` for the filter.
    pub fn validate_against(&self, registry: &SchemaRegistry, rt: &ResourceType) -> Result<()> {
        if let Some(path) = &self.sort_by {
            let r = registry.resolve(rt, path).ok_or_else(|| {
                Error::invalid_value(format!(
                    "sortBy names {path}, which is not an attribute of {}",
                    rt.name
                ))
            })?;
            if r.attr.multi_valued {
                return Err(Error::invalid_value(format!(
                    "sortBy names {path}, which is multi-valued; sort by a singular attribute"
                )));
            }
            if r.leaf().ty == crate::schema::AttrType::Complex {
                return Err(Error::invalid_value(format!(
                    "sortBy names {path}, which is complex; sort by one of its sub-attributes, such as {path}.{}",
                    r.leaf()
                        .sub_attributes
                        .first()
                        .map_or("value", |s| s.name.as_str())
                )));
            }
        }
        if let Some(filter) = &self.filter {
            crate::filter::eval::validate(filter, &EvalContext::new(registry, rt))?;
        }
        Ok(())
    }

    /// The projection this query's `attributes` / `excludedAttributes` ask for, so the server
    /// builds it once per request from the same lists it parsed.
    pub fn projection(&self, registry: &SchemaRegistry, rt: &ResourceType) -> Result<Projection> {
        Projection::new(registry, rt, &self.attributes, &self.excluded_attributes)
    }
}
