//! The runnable examples of this workspace live beside this file; run one with
//! `cargo run -p scim-examples --example NAME`.
