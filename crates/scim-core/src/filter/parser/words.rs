//! Classifying words: operator keywords, logic keywords and JSON numbers.

use crate::filter::CompareOp;

/// An operator keyword: `pr` or a comparison.
pub(super) enum Op {
    /// `pr`
    Present,
    /// A binary comparison.
    Compare(CompareOp),
}

pub(super) fn operator(word: &str) -> Option<Op> {
    let [a, b] = word.as_bytes() else {
        return None;
    };
    let op = match [a.to_ascii_lowercase(), b.to_ascii_lowercase()] {
        [b'p', b'r'] => return Some(Op::Present),
        [b'e', b'q'] => CompareOp::Eq,
        [b'n', b'e'] => CompareOp::Ne,
        [b'c', b'o'] => CompareOp::Co,
        [b's', b'w'] => CompareOp::Sw,
        [b'e', b'w'] => CompareOp::Ew,
        [b'g', b't'] => CompareOp::Gt,
        [b'g', b'e'] => CompareOp::Ge,
        [b'l', b't'] => CompareOp::Lt,
        [b'l', b'e'] => CompareOp::Le,
        _ => return None,
    };
    Some(Op::Compare(op))
}

pub(super) fn is_logic_keyword(word: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

/// JSON number grammar: `-? (0 / [1-9] digits) [. digits] [(e/E) [+/-] digits]`.
pub(super) fn is_json_number(word: &str) -> bool {
    let b = word.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The exact value of a JSON number token. Integers stay integers; other numbers go through
/// the standard library's correctly rounded `f64` parser (serde_json's default float parser
/// may be one ulp off, which would break `parse(display(ast)) == ast`).
pub(super) fn number(word: &str) -> Option<serde_json::Number> {
    if !word.contains(['.', 'e', 'E']) {
        if let Ok(i) = word.parse::<i64>() {
            return Some(i.into());
        }
        if let Ok(u) = word.parse::<u64>() {
            return Some(u.into());
        }
    }
    word.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_number_grammar() {
        for ok in ["0", "-0", "12", "-3.25", "1e5", "1E+5", "2.5e-3"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.2.3", "12a",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(number("12"), Some(12.into()));
        assert_eq!(number("-12"), Some((-12).into()));
        assert_eq!(number("18446744073709551615"), Some(u64::MAX.into()));
        assert_eq!(number("1.5"), serde_json::Number::from_f64(1.5));
        assert_eq!(number("1e400"), None);
    }
}
