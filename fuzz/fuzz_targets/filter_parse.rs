//! Fuzzes the filter and PATCH path parsers (`?filter=`, `/.search`, PATCH `path`): no input
//! may panic, overflow or hang them; whatever parses must come back unchanged from its
//! canonical printing; and validating and evaluating a parsed filter against stored Users and
//! Groups (what list requests and PATCH value paths do in core) must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::filter::parse_path;
use scim_fuzz::{check_filter, registry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let registry = registry();
    check_filter(&registry, text);
    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        assert_eq!(parse_path(&printed), Ok(path), "printed: {printed}");
    }
});
