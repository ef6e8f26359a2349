//! The filter syntax tree.

use crate::path::AttrPath;

/// The nine binary comparison operators (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// less than
    Lt,
    /// less than or equal
    Le,
}

/// A comparison value (`compValue` in RFC 7644): `false / null / true / number / string`.
/// dateTime and binary values arrive as strings and are interpreted by the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A JSON string.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number, kept exact.
    Number(serde_json::Number),
    /// `null`.
    Null,
}

/// A parsed filter. Attribute paths inside a [`Filter::ValuePath`] are relative to the
/// multi-valued attribute (they name its sub-attributes).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath compareOp compValue`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: Literal,
    },
    /// `attrPath "[" valFilter "]"`: some element of the multi-valued attribute matches the
    /// inner filter. Entra's `emails[type eq "work"].value eq "x"` parses to
    /// `emails[type eq "work" and value eq "x"]`, which means the same.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter each element is tested with.
        filter: Box<Filter>,
    },
    /// `not "(" filter ")"`
    Not(Box<Filter>),
    /// `filter and filter`
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`
    Or(Box<Filter>, Box<Filter>),
}

impl CompareOp {
    /// The operator keyword in canonical (lower) case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // serde_json escapes exactly as the filter grammar's JSON strings expect.
            Literal::String(s) => match serde_json::to_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => Err(std::fmt::Error),
            },
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl Filter {
    /// Binding strength for printing: `or` < `and` < everything else.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_child(
        &self,
        child: &Filter,
        f: &mut std::fmt::Formatter<'_>,
        right: bool,
    ) -> std::fmt::Result {
        // Left-associative printing: a right child of equal precedence needs parentheses so
        // that `parse(display(ast)) == ast` holds for every tree shape.
        let needs = child.precedence() < self.precedence()
            || (right && child.precedence() == self.precedence());
        if needs {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

/// Canonical syntax: lower-case keywords, single spaces, JSON-escaped strings, and only the
/// parentheses precedence requires.
impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(a, b) => {
                self.fmt_child(a, f, false)?;
                f.write_str(" and ")?;
                self.fmt_child(b, f, true)
            }
            Filter::Or(a, b) => {
                self.fmt_child(a, f, false)?;
                f.write_str(" or ")?;
                self.fmt_child(b, f, true)
            }
        }
    }
}
