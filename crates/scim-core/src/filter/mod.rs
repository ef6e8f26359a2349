//! SCIM filters (RFC 7644 §3.4.2.2): the AST, the parser, canonical printing and the in-memory
//! evaluator.
//!
//! The AST has two interpreters: [`eval`] here, and the SQL translator in `scim-store`. Both are
//! one exhaustive `match`, so a new node fails to compile in both until it is handled.

mod ast;
pub mod eval;
mod parser;

pub use ast::{CompareOp, Filter, Literal};
#[allow(unused_imports)]
pub use parser::*;
