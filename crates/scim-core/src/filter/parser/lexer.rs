//! The filter lexer: splits filter text into tokens byte by byte and decodes JSON strings.
//!
//! Why hand-written: filters are parsed on every Okta assignment and Entra sync, so the lexer
//! works on bytes, borrows words from the input and allocates only for string literals.
//! Every delimiter it looks for is ASCII, so every position it slices at is a char boundary.

use crate::error::{Error, Result};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// A run of bytes up to whitespace, a parenthesis, a bracket or a quote: a keyword, an
    /// attribute path, a number or a bare value. The parser decides which from the position.
    Word(&'a str),
    /// A JSON string literal, already decoded.
    Str(String),
    /// The end of the text.
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    /// The token.
    pub(super) tok: Tok<'a>,
    /// Byte offset of its first byte.
    pub(super) start: usize,
}

/// A cursor over the filter text.
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

/// The error every lexing failure becomes.
pub(super) fn error(offset: usize, detail: impl Into<String>) -> Error {
    Error::InvalidFilter {
        detail: detail.into(),
        offset,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn ends_word(b: u8) -> bool {
    is_space(b) || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

impl<'a> Lexer<'a> {
    /// A lexer positioned at the start of `src`.
    pub(super) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or_default()
    }

    fn skip_space(&mut self) {
        while self.byte(self.pos).is_some_and(is_space) {
            self.pos += 1;
        }
    }

    /// The next non-space byte, without consuming anything (used to tell `not (` from an
    /// attribute that happens to be called `not`).
    pub(super) fn peek_byte(&self) -> Option<u8> {
        let mut at = self.pos;
        while self.byte(at).is_some_and(is_space) {
            at += 1;
        }
        self.byte(at)
    }

    /// Reads the next token.
    pub(super) fn next_token(&mut self) -> Result<Token<'a>> {
        self.skip_space();
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
            });
        };
        let tok = match b {
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'"' => return self.string(start),
            _ => {
                let mut end = start + 1;
                while self.byte(end).is_some_and(|b| !ends_word(b)) {
                    end += 1;
                }
                self.pos = end;
                return Ok(Token {
                    tok: Tok::Word(self.slice(start, end)),
                    start,
                });
            }
        };
        self.pos = start + 1;
        Ok(Token { tok, start })
    }

    /// Reads a JSON string whose opening quote is at `start`.
    fn string(&mut self, start: usize) -> Result<Token<'a>> {
        let mut at = start + 1;
        // Fast path: no escapes, one allocation.
        loop {
            match self.byte(at) {
                None => return Err(unterminated(start)),
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(Token {
                        tok: Tok::Str(self.slice(start + 1, at).to_string()),
                        start,
                    });
                }
                Some(b'\\') => break,
                Some(_) => at += 1,
            }
        }
        let mut out = String::with_capacity(at - start + 16);
        let mut run = start + 1;
        loop {
            match self.byte(at) {
                None => return Err(unterminated(start)),
                Some(b'"') => {
                    out.push_str(self.slice(run, at));
                    self.pos = at + 1;
                    return Ok(Token {
                        tok: Tok::Str(out),
                        start,
                    });
                }
                Some(b'\\') => {
                    out.push_str(self.slice(run, at));
                    at = self.escape(at, &mut out)?;
                    run = at;
                }
                Some(_) => at += 1,
            }
        }
    }

    /// Decodes the escape whose backslash is at `at`; returns the offset after it.
    fn escape(&self, at: usize, out: &mut String) -> Result<usize> {
        let c = match self.byte(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(at, out),
            None => {
                return Err(error(
                    at,
                    "unterminated escape sequence at the end of the text",
                ));
            }
            Some(_) => {
                return Err(error(
                    at,
                    "invalid escape in string: JSON allows only \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                ));
            }
        };
        out.push(c);
        Ok(at + 2)
    }

    /// Decodes `\uXXXX` (and a following low surrogate) at `at`.
    fn unicode_escape(&self, at: usize, out: &mut String) -> Result<usize> {
        let high = self.hex4(at)?;
        let (code, next) = if (0xD800..0xDC00).contains(&high) {
            let low = if self.byte(at + 6) == Some(b'\\') && self.byte(at + 7) == Some(b'u') {
                self.hex4(at + 6)?
            } else {
                0
            };
            if !(0xDC00..0xE000).contains(&low) {
                return Err(error(
                    at,
                    "invalid \\u escape: a high surrogate must be followed by a \\uDC00-\\uDFFF low surrogate",
                ));
            }
            (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), at + 12)
        } else {
            (high, at + 6)
        };
        match char::from_u32(code) {
            Some(c) => {
                out.push(c);
                Ok(next)
            }
            None => Err(error(
                at,
                "invalid \\u escape: a low surrogate without a high surrogate before it",
            )),
        }
    }

    /// The four hex digits after the `\u` at `at`.
    fn hex4(&self, at: usize) -> Result<u32> {
        let mut value = 0u32;
        for i in 0..4 {
            let digit = self
                .byte(at + 2 + i)
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| error(at, "invalid \\u escape: expected four hex digits"))?;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

fn unterminated(start: usize) -> Error {
    error(
        start,
        format!("unterminated string starting at byte {start}: add the closing '\"'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Tok<'_>> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token().unwrap();
            if token.tok == Tok::Eof {
                return out;
            }
            out.push(token.tok);
        }
    }

    #[test]
    fn splits_words_and_delimiters() {
        assert_eq!(
            tokens("emails[type eq\t\"w\"].value pr"),
            vec![
                Tok::Word("emails"),
                Tok::LBracket,
                Tok::Word("type"),
                Tok::Word("eq"),
                Tok::Str("w".into()),
                Tok::RBracket,
                Tok::Word(".value"),
                Tok::Word("pr"),
            ]
        );
        assert_eq!(
            tokens("not(a)"),
            vec![Tok::Word("not"), Tok::LParen, Tok::Word("a"), Tok::RParen]
        );
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            tokens(r#""a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00é""#),
            vec![Tok::Str("a\"b\\c/\u{8}\u{c}\n\r\té😀é".into())]
        );
    }

    #[test]
    fn reports_bad_strings_at_their_offset() {
        for (text, offset) in [
            ("x \"abc", 2),
            ("\"a\\x\"", 2),
            ("\"\\u12\"", 1),
            ("\"\\ud800\"", 1),
            ("\"\\udc00\"", 1),
            ("\"\\", 1),
        ] {
            let mut lexer = Lexer::new(text);
            let mut result = lexer.next_token();
            if text.starts_with('x') {
                result = lexer.next_token();
            }
            match result {
                Err(Error::InvalidFilter { offset: got, .. }) => assert_eq!(got, offset, "{text}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
