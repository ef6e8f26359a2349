//! Fuzzes the filter and PATCH path parsers: no input may panic, overflow or hang them, and
//! whatever parses must come back unchanged from its canonical printing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::filter::{parse_filter, parse_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ast) = parse_filter(text) {
        let printed = ast.to_string();
        assert_eq!(parse_filter(&printed), Ok(ast), "printed: {printed}");
    }
    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        assert_eq!(parse_path(&printed), Ok(path), "printed: {printed}");
    }
});
