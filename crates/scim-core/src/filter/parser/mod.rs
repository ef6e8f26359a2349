//! The filter parser: text to [`Filter`](super::Filter) and PATCH paths, with byte-offset errors and hard limits.
//!
//! Grammar (RFC 7644 §3.4.2.2), parsed by recursive descent over the tokens of [`lexer`]:
//!
//! ```text
//! filter   = and *("or" and)                       ; iterative, left-associative
//! and      = unary *("and" unary)                  ; iterative, left-associative
//! unary    = "not" "(" filter ")" / "(" filter ")" / term
//! term     = attrPath ("pr" / compareOp compValue)
//!          / attrPath "[" filter "]" ["." subAttr ("pr" / compareOp compValue)]
//! ```
//!
//! Keywords are case-insensitive. Recursion happens only through parentheses, `not` and
//! brackets, each of which counts against [`MAX_DEPTH`]; `and`/`or` chains are loops, and
//! [`MAX_TERMS`] bounds how long they get. Together the two bound the depth of every tree this
//! parser returns (at most `MAX_TERMS + MAX_DEPTH`), so dropping, printing or evaluating it
//! recursively cannot overflow the stack.
//!
//! Two leniencies for Microsoft Entra ID, both documented in `shared/clients.md`:
//! - `emails[type eq "work"].value eq "x"` (a comparison on a sub-attribute after the value
//!   filter, any operator including `pr`) is desugared to
//!   `emails[type eq "work" and value eq "x"]`, which selects the same resources.
//! - An unquoted value that is not `true`, `false`, `null` or a JSON number is read as a
//!   string (`externalId eq jyoung` from Entra's legacy docs).

mod lexer;
mod words;

use lexer::{Lexer, Tok, Token, error};
use words::{Op, is_json_number, is_logic_keyword, number, operator};

use crate::error::{Error, Result};
use crate::filter::{CompareOp, Filter, Literal};
use crate::path::{AttrPath, PatchPath, is_attr_name, split_urn};

/// Longest filter or PATCH path accepted, in bytes. Real filters are under a hundred bytes;
/// the limit keeps a hostile request from costing more than a few microseconds per kilobyte.
pub const MAX_FILTER_LEN: usize = 64 * 1024;

/// Deepest nesting of parentheses, `not (...)` and value filters `[...]`. Bounds the parser's
/// recursion and, with [`MAX_TERMS`], the depth of the returned tree.
pub const MAX_DEPTH: usize = 32;

/// Most attribute expressions (`attr op value` / `attr pr`) in one filter. Bounds the length of
/// `and`/`or` chains, and so the depth of the left-leaning trees they build. 200, not more:
/// the SQL the store makes of a chain nests about two levels per term and SQLite refuses
/// expressions deeper than 1000 (500 terms failed), and at 1000 terms the store's recursive
/// translator overflowed the 2 MiB stack of a blocking thread in a debug build, killing the
/// server (a `/.search` with 1000 `or` terms, issue #9 hostile-input table).
pub const MAX_TERMS: usize = 200;

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le, pr";

/// Parses a SCIM filter (the `filter` query parameter, or the `filter` of a `.search` body).
///
/// Errors are [`Error::InvalidFilter`] with the byte offset where parsing stopped.
pub fn parse_filter(text: &str) -> Result<Filter> {
    check_len(text)?;
    let mut parser = Parser::new(text)?;
    let filter = parser.filter()?;
    parser.expect_end()?;
    Ok(filter)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2): `attrPath`, `attrPath[valFilter]` or
/// `attrPath[valFilter].subAttr`. The sub-attribute lands in `attr.sub` either way.
///
/// Errors are [`Error::InvalidPath`] whose detail names the byte offset.
pub fn parse_path(text: &str) -> Result<PatchPath> {
    patch_path(text).map_err(|e| match e {
        Error::InvalidFilter { detail, offset } => {
            Error::InvalidPath(format!("invalid PATCH path at byte {offset}: {detail}"))
        }
        other => other,
    })
}

fn patch_path(text: &str) -> Result<PatchPath> {
    check_len(text)?;
    let mut parser = Parser::new(text)?;
    let start = parser.cur.start;
    let Tok::Word(word) = parser.cur.tok else {
        return Err(error(
            start,
            format!(
                "expected an attribute path such as \"members\" or \"emails[type eq \\\"work\\\"].value\", found {}",
                describe(&parser.cur.tok)
            ),
        ));
    };
    let mut attr = parser.attr_path(word, start)?;
    parser.bump()?;
    let mut filter = None;
    if parser.cur.tok == Tok::LBracket {
        filter = Some(parser.bracket(&attr, word)?);
        if let Tok::Word(w) = parser.cur.tok
            && let Some(sub) = w.strip_prefix('.')
        {
            attr.sub = Some(parser.sub_attr(sub, parser.cur.start + 1)?);
            parser.bump()?;
        }
    }
    parser.expect_end()?;
    Ok(PatchPath { attr, filter })
}

fn check_len(text: &str) -> Result<()> {
    if text.len() > MAX_FILTER_LEN {
        return Err(error(
            MAX_FILTER_LEN,
            format!(
                "the text is {} bytes long; the limit (MAX_FILTER_LEN) is {MAX_FILTER_LEN} bytes",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// How a token reads in an error message.
fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Word(w) => format!("{:?}", shorten(w)),
        Tok::Str(s) => format!("the string {:?}", shorten(s)),
        Tok::Eof => "the end of the input".into(),
    }
}

/// At most 40 characters of client text, so error details stay readable.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((at, _)) => s.get(..at).unwrap_or(s),
        None => s,
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The lookahead token.
    cur: Token<'a>,
    /// Open parentheses, `not`s and brackets around the current position.
    depth: usize,
    /// Attribute expressions read so far.
    terms: usize,
    /// Offset of the `[` whose value filter is being read, if any.
    bracket: Option<usize>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self> {
        let mut lexer = Lexer::new(text);
        let cur = lexer.next_token()?;
        Ok(Parser {
            lexer,
            cur,
            depth: 0,
            terms: 0,
            bracket: None,
        })
    }

    /// Moves to the next token and returns the current one.
    fn bump(&mut self) -> Result<Token<'a>> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.cur, next))
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.cur.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                at,
                format!(
                    "the filter nests parentheses, 'not' and '[...]' more than {MAX_DEPTH} levels deep (limit MAX_DEPTH)"
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn count_term(&mut self, at: usize) -> Result<()> {
        if self.terms >= MAX_TERMS {
            return Err(error(
                at,
                format!(
                    "the filter has more than {MAX_TERMS} attribute expressions (limit MAX_TERMS)"
                ),
            ));
        }
        self.terms += 1;
        Ok(())
    }

    /// `and *("or" and)`, as a loop so long chains don't recurse.
    fn filter(&mut self) -> Result<Filter> {
        let mut left = self.and()?;
        while self.at_keyword("or") {
            self.bump()?;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut left = self.unary()?;
        while self.at_keyword("and") {
            self.bump()?;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter> {
        let start = self.cur.start;
        match self.cur.tok {
            Tok::LParen => {
                self.enter(start)?;
                self.bump()?;
                let inner = self.filter()?;
                self.close_paren(start)?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(w)
                if w.eq_ignore_ascii_case("not") && self.lexer.peek_byte() == Some(b'(') =>
            {
                self.enter(start)?;
                self.bump()?;
                let open = self.cur.start;
                self.bump()?;
                let inner = self.filter()?;
                self.close_paren(open)?;
                self.depth -= 1;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(w) => self.term(w, start),
            _ => Err(error(
                start,
                format!(
                    "expected an attribute expression (such as userName eq \"bjensen\"), '(' or 'not (', found {}",
                    describe(&self.cur.tok)
                ),
            )),
        }
    }

    fn close_paren(&mut self, open: usize) -> Result<()> {
        match self.cur.tok {
            Tok::RParen => {
                self.bump()?;
                Ok(())
            }
            Tok::Eof => Err(error(
                self.cur.start,
                format!("unbalanced parenthesis: the '(' at byte {open} is never closed"),
            )),
            _ => Err(error(
                self.cur.start,
                format!(
                    "expected 'and', 'or' or ')' to close the '(' at byte {open}, found {}",
                    describe(&self.cur.tok)
                ),
            )),
        }
    }

    /// After the whole filter: nothing may follow.
    fn expect_end(&self) -> Result<()> {
        let at = self.cur.start;
        match self.cur.tok {
            Tok::Eof => Ok(()),
            Tok::RParen => Err(error(
                at,
                format!("unbalanced parenthesis: the ')' at byte {at} has no matching '('"),
            )),
            Tok::RBracket => Err(error(
                at,
                format!("unbalanced bracket: the ']' at byte {at} has no matching '['"),
            )),
            _ => Err(error(
                at,
                format!(
                    "unexpected trailing input {}: expected 'and', 'or' or the end",
                    describe(&self.cur.tok)
                ),
            )),
        }
    }

    /// A term that starts with the word `word` at `start` (the current token).
    fn term(&mut self, word: &'a str, start: usize) -> Result<Filter> {
        let path = self.attr_path(word, start)?;
        self.bump()?;
        if self.cur.tok == Tok::LBracket {
            return self.value_path(path, word);
        }
        self.comparison(path, word, start)
    }

    /// `("pr" / compareOp compValue)` after `path` (written as `word` at `start`).
    fn comparison(&mut self, path: AttrPath, word: &str, start: usize) -> Result<Filter> {
        let op = match self.cur.tok {
            Tok::Word(w) => operator(w),
            _ => None,
        };
        let Some(op) = op else {
            let detail = if word.eq_ignore_ascii_case("not") {
                "'not' must be followed by a parenthesised filter: not (...)".to_string()
            } else if is_logic_keyword(word) {
                format!("expected an attribute expression before the keyword {word:?}")
            } else {
                format!(
                    "expected an operator ({OPERATORS}) after attribute path {:?}, found {}",
                    shorten(word),
                    describe(&self.cur.tok)
                )
            };
            let at = if is_logic_keyword(word) {
                start
            } else {
                self.cur.start
            };
            return Err(error(at, detail));
        };
        self.count_term(start)?;
        let op_token = self.bump()?;
        let op = match op {
            Op::Present => return Ok(Filter::Present(path)),
            Op::Compare(op) => op,
        };
        let value = self.value(op, op_token.start)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue` after the operator `op`.
    fn value(&mut self, op: CompareOp, op_at: usize) -> Result<Literal> {
        let expected = || {
            format!(
                "expected a value (a quoted string, a number, true, false or null) after {:?} at byte {op_at}",
                op.as_str()
            )
        };
        let at = self.cur.start;
        match self.cur.tok {
            Tok::Str(_) => match self.bump()?.tok {
                Tok::Str(s) => Ok(Literal::String(s)),
                _ => Err(error(at, expected())),
            },
            Tok::Word(w) => {
                let literal = if w.eq_ignore_ascii_case("true") {
                    Literal::Bool(true)
                } else if w.eq_ignore_ascii_case("false") {
                    Literal::Bool(false)
                } else if w.eq_ignore_ascii_case("null") {
                    Literal::Null
                } else if is_json_number(w) {
                    let n = number(w)
                        .ok_or_else(|| error(at, format!("the number {w:?} is out of range")))?;
                    Literal::Number(n)
                } else if is_logic_keyword(w) || operator(w).is_some() {
                    return Err(error(
                        at,
                        format!(
                            "{}, found the keyword {w:?}; quote it if it is a string value",
                            expected()
                        ),
                    ));
                } else {
                    // Entra leniency: a bare word is a string (`externalId eq jyoung`).
                    Literal::String(w.to_string())
                };
                self.bump()?;
                Ok(literal)
            }
            _ => Err(error(
                at,
                format!("{}, found {}", expected(), describe(&self.cur.tok)),
            )),
        }
    }

    /// `path "[" filter "]"`, plus Entra's `"." subAttr (pr / op value)` suffix, which is
    /// desugared into the value filter: `emails[F].value eq "x"` = `emails[F and value eq "x"]`.
    fn value_path(&mut self, path: AttrPath, word: &str) -> Result<Filter> {
        let mut filter = self.bracket(&path, word)?;
        if let Tok::Word(w) = self.cur.tok
            && let Some(sub) = w.strip_prefix('.')
        {
            let start = self.cur.start;
            let sub = AttrPath::new(self.sub_attr(sub, start + 1)?);
            self.bump()?;
            let term = self.comparison(sub, w, start)?;
            filter = Filter::And(Box::new(filter), Box::new(term));
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    /// `"[" filter "]"` after the attribute `path` (written as `word`); the current token is
    /// the `[`.
    fn bracket(&mut self, path: &AttrPath, word: &str) -> Result<Filter> {
        let open = self.cur.start;
        if let Some(outer) = self.bracket {
            return Err(error(
                open,
                format!(
                    "value filters can't be nested: this '[' is inside the one at byte {outer}"
                ),
            ));
        }
        if let Some(sub) = &path.sub {
            return Err(error(
                open,
                format!(
                    "a value filter must follow the attribute name, not a sub-attribute: write \"{}[...].{sub}\" instead of {:?}",
                    path.parent(),
                    shorten(word)
                ),
            ));
        }
        self.enter(open)?;
        self.bracket = Some(open);
        self.bump()?;
        let inner = self.filter()?;
        match self.cur.tok {
            Tok::RBracket => {}
            Tok::Eof => {
                return Err(error(
                    self.cur.start,
                    format!("unbalanced bracket: the '[' at byte {open} is never closed"),
                ));
            }
            Tok::RParen => {
                return Err(error(
                    self.cur.start,
                    "unbalanced parenthesis: this ')' has no matching '(' inside the value filter",
                ));
            }
            _ => {
                return Err(error(
                    self.cur.start,
                    format!(
                        "expected 'and', 'or' or ']' to close the '[' at byte {open}, found {}",
                        describe(&self.cur.tok)
                    ),
                ));
            }
        }
        self.bump()?;
        self.bracket = None;
        self.depth -= 1;
        Ok(inner)
    }

    /// The sub-attribute name `sub` written after `].`, starting at byte `at`.
    fn sub_attr(&self, sub: &str, at: usize) -> Result<String> {
        if is_attr_name(sub) {
            Ok(sub.to_string())
        } else {
            Err(error(
                at,
                format!(
                    "{:?} after ']' is not a sub-attribute name; names start with a letter and contain letters, digits, '-' or '_'",
                    shorten(sub)
                ),
            ))
        }
    }

    /// Checks and splits the attribute path `word` that starts at byte `start`. Inside a value
    /// filter only bare sub-attribute names are allowed.
    fn attr_path(&self, word: &str, start: usize) -> Result<AttrPath> {
        let (urn, rest) = split_urn(word);
        let rest_at = start + (word.len() - rest.len());
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(name) {
            return Err(error(
                rest_at,
                format!(
                    "{:?} is not an attribute name; names start with a letter and contain letters, digits, '-' or '_'",
                    shorten(name)
                ),
            ));
        }
        if let Some(outer) = self.bracket
            && (urn.is_some() || sub.is_some())
        {
            return Err(error(
                start,
                format!(
                    "inside the value filter at byte {outer}, name a sub-attribute directly (like \"type\" or \"value\"), not {:?}",
                    shorten(word)
                ),
            ));
        }
        if let Some(sub) = sub
            && !is_attr_name(sub)
        {
            return Err(error(
                rest_at + name.len() + 1,
                format!(
                    "{:?} is not a sub-attribute name; write attribute.subAttribute with one dot",
                    shorten(sub)
                ),
            ));
        }
        Ok(AttrPath {
            urn: urn.map(str::to_string),
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_char_boundaries() {
        let long = "é".repeat(100);
        assert_eq!(shorten(&long).chars().count(), 40);
        assert_eq!(shorten("abc"), "abc");
    }
}
