//! Workspace-level tests that use the crates together, as a user of the libraries would.
//! The tests themselves live in `tests/tests/`.
