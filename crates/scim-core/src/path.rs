//! Attribute paths: the names that filters, PATCH, sorting and projection use to point into a
//! resource (RFC 7644 §3.4.2.2 `attrPath`, §3.5.2 `PATH`).
//!
//! Paths are kept as written (case and all); the schema registry resolves them to definitions
//! case-insensitively, so a client's `"Emails"` and our `emails` meet there and nowhere else.

use std::fmt;

use crate::error::{Error, Result};
use crate::filter::Filter;

/// `[urn ":"] name ["." sub]`: one attribute, optionally qualified and optionally a
/// sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, without the trailing colon.
    pub urn: Option<String>,
    /// Attribute name.
    pub name: String,
    /// Sub-attribute name.
    pub sub: Option<String>,
}

impl AttrPath {
    /// An unqualified path to a top-level attribute.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    /// Same path with a sub-attribute.
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Same path with a URN qualifier.
    pub fn with_urn(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }

    /// Parses a plain attribute path such as `name.givenName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, as used by
    /// `attributes`, `sortBy` and the keys of a pathless PATCH value. Value filters are not
    /// allowed here; PATCH paths with filters go through [`crate::filter::parse_path`].
    pub fn parse(text: &str) -> Result<AttrPath> {
        let bad =
            |why: &str| Error::invalid_path(format!("invalid attribute path {text:?}: {why}"));
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        let (urn, rest) = split_urn(text);
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        if !is_attr_name(name) {
            return Err(bad(
                "attribute names start with a letter and contain letters, digits, '-', '_' or are '$ref'",
            ));
        }
        if let Some(s) = sub
            && !is_attr_name(s)
        {
            return Err(bad("the sub-attribute name is not a valid attribute name"));
        }
        Ok(AttrPath {
            urn: urn.map(str::to_string),
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The path without its sub-attribute (the parent attribute).
    pub fn parent(&self) -> AttrPath {
        AttrPath {
            urn: self.urn.clone(),
            name: self.name.clone(),
            sub: None,
        }
    }
}

/// Splits a leading schema URN off a path: everything up to the last `:` when the text starts
/// with `urn:` (case-insensitively). URNs contain dots (`2.0`), so the split must happen before
/// the attribute part is split on `.`.
pub fn split_urn(text: &str) -> (Option<&str>, &str) {
    // `get` rather than slicing: the text is client input and may not be ASCII.
    if text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        && let Some(pos) = text.rfind(':')
    {
        return (Some(&text[..pos]), &text[pos + 1..]);
    }
    (None, text)
}

/// RFC 7643 §2.1 ATTRNAME (`ALPHA *(nameChar)`), plus `$ref`.
pub fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `attrPath "[" valFilter "]" ["." subAttr]`.
///
/// `attr.sub` is the sub-attribute whether it is written before or after the filter, because
/// an attribute path can't have both (`name.givenName` vs `emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, and the sub-attribute to address inside each selected element.
    pub attr: AttrPath,
    /// Selects elements of a multi-valued attribute.
    pub filter: Option<Filter>,
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.filter {
            None => write!(f, "{}", self.attr),
            Some(filter) => {
                write!(f, "{}[{}]", self.attr.parent(), filter)?;
                if let Some(sub) = &self.attr.sub {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_paths() {
        let p = AttrPath::parse("name.givenName").unwrap();
        assert_eq!(p, AttrPath::new("name").with_sub("givenName"));
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.name, "manager");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in [
            "",
            "1abc",
            "name..x",
            "na me",
            "name.",
            "emails[type eq \"work\"]",
        ] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
