//! Building blocks of generated SQL: bind values, the statement builder, handles on values of
//! the search document, and the [`Dialect`] trait that the two backends implement.
//!
//! Placeholders are numbered on both backends (`?N` on SQLite, `$N` on PostgreSQL), so a bind
//! can be referenced twice and pieces of SQL can be assembled in any order. Literals from the
//! filter are always binds; the only text spliced into SQL is fixed by this crate (column
//! names, operators, table aliases it generates).

use chrono::NaiveDateTime;

/// One bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    /// TEXT.
    Text(String),
    /// BIGINT.
    Int(i64),
    /// TIMESTAMP (UTC).
    Stamp(NaiveDateTime),
}

/// A statement under construction: the binds pushed so far, for one backend.
pub(crate) struct Sql {
    pub(crate) dialect: &'static dyn Dialect,
    pub(crate) binds: Vec<Bind>,
}

impl Sql {
    /// An empty builder for `dialect`.
    pub(crate) fn new(dialect: &'static dyn Dialect) -> Sql {
        Sql {
            dialect,
            binds: Vec::new(),
        }
    }

    /// Pushes a bind and returns its placeholder.
    pub(crate) fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        self.dialect.placeholder(self.binds.len())
    }

    /// Pushes a text bind and returns its placeholder.
    pub(crate) fn text(&mut self, s: &str) -> String {
        self.bind(Bind::Text(s.to_string()))
    }

    /// `TRUE` or `FALSE` as this backend spells a boolean expression.
    pub(crate) fn lit(&self, b: bool) -> &'static str {
        if b { "(1 = 1)" } else { "(1 = 0)" }
    }

    /// `e`, with SQL NULL read as false, so that `NOT` keeps two-valued logic.
    pub(crate) fn is_true(&self, e: &str) -> String {
        self.dialect.is_true(e)
    }

    /// Whether the JSON value at `j` is of one of `kinds` (false when absent).
    pub(crate) fn json_is(&mut self, j: &Json, kinds: &[JsonKind]) -> String {
        let d = self.dialect;
        d.json_is(self, j, kinds)
    }

    /// The text of the JSON string at `j`.
    pub(crate) fn json_text(&mut self, j: &Json) -> String {
        let d = self.dialect;
        d.json_text(self, j)
    }

    /// The JSON number at `j` as an SQL number (NULL when it is not a number).
    pub(crate) fn json_num(&mut self, j: &Json) -> String {
        let d = self.dialect;
        d.json_num(self, j)
    }

    /// A FROM item over the elements of the JSON array at `j` (none when it is not an array),
    /// whose elements are then addressed as `Json::elem(alias)`.
    pub(crate) fn json_each(&mut self, j: &Json, alias: &str) -> String {
        let d = self.dialect;
        d.json_each(self, j, alias)
    }
}

/// The kinds of JSON value the translator distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    /// A string.
    String,
    /// A number.
    Number,
    /// `true`.
    True,
    /// `false`.
    False,
    /// An object.
    Object,
    /// An array.
    Array,
}

/// Every kind except JSON `null`: "has a value".
pub(crate) const ANY_KIND: &[JsonKind] = &[
    JsonKind::String,
    JsonKind::Number,
    JsonKind::True,
    JsonKind::False,
    JsonKind::Object,
    JsonKind::Array,
];

/// Where a JSON value sits: a key path into the row's search document, or into one element of
/// a `json_each` / `jsonb_array_elements` iteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Json {
    pub(crate) base: Base,
    pub(crate) path: Vec<String>,
}

/// What a [`Json`] path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Base {
    /// The search column of the row aliased `r`.
    Row,
    /// The element of the array iteration with this alias.
    Elem(String),
}

impl Json {
    /// A top-level key of the row's search document.
    pub(crate) fn row(key: &str) -> Json {
        Json {
            base: Base::Row,
            path: vec![key.to_string()],
        }
    }

    /// The element of the iteration `alias`.
    pub(crate) fn elem(alias: &str) -> Json {
        Json {
            base: Base::Elem(alias.to_string()),
            path: Vec::new(),
        }
    }

    /// The member `key` of this value (absent unless it is an object).
    pub(crate) fn field(&self, key: &str) -> Json {
        let mut path = self.path.clone();
        path.push(key.to_string());
        Json {
            base: self.base.clone(),
            path,
        }
    }
}

/// What differs between SQLite and PostgreSQL in generated SQL. Every method returns an
/// expression that never raises an error, whatever the data (a JSON function is applied only
/// to what it accepts).
pub(crate) trait Dialect: Sync {
    /// Placeholder of the n-th (1-based) bind, referable more than once.
    fn placeholder(&self, n: usize) -> String;
    /// `e` with NULL read as false.
    fn is_true(&self, e: &str) -> String;
    /// See [`Sql::json_is`].
    fn json_is(&self, q: &mut Sql, j: &Json, kinds: &[JsonKind]) -> String;
    /// See [`Sql::json_text`].
    fn json_text(&self, q: &mut Sql, j: &Json) -> String;
    /// See [`Sql::json_num`].
    fn json_num(&self, q: &mut Sql, j: &Json) -> String;
    /// See [`Sql::json_each`].
    fn json_each(&self, q: &mut Sql, j: &Json, alias: &str) -> String;
    /// `e` compared byte by byte (code point order, as Rust compares strings).
    fn bytewise(&self, e: &str) -> String;
    /// `e LIKE pattern` with `\` as the escape character.
    fn like(&self, e: &str, pattern: &str) -> String;
    /// Whether `e` contains the bound `needle`, starts or ends with it, without LIKE (for
    /// needles too long for a LIKE pattern); `chars` is the bound length in characters.
    fn substring(&self, e: &str, op: Substring, needle: &str, chars: &str) -> String;
    /// A timestamp column as `meta` prints it (RFC 3339, UTC, 0/3/6/9 fraction digits),
    /// case-folded (`t`, `z`), for text comparisons of `meta.created`/`meta.lastModified`.
    fn stamp_text(&self, col: &str) -> String;
    /// `col <op> t` for a timestamp column and an instant, exact at the column's precision.
    fn stamp_cmp(&self, q: &mut Sql, col: &str, op: &str, t: NaiveDateTime) -> String;
    /// The version column as `meta.version` prints it (`W/"7"`).
    fn version_text(&self, col: &str) -> String;
    /// `e` in a form no index can deliver in order, so that an ORDER BY doesn't talk the
    /// planner out of the index a selective filter uses.
    fn unindexed(&self, e: &str) -> String;
    /// The bound integer `ph` as a `LIMIT`/`OFFSET` value.
    fn row_count(&self, ph: &str) -> String;
}

/// The substring operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Substring {
    /// `co`
    Contains,
    /// `sw`
    Starts,
    /// `ew`
    Ends,
}
