//! The `scim-server` binary: a thin command line around the library.

fn main() {}
