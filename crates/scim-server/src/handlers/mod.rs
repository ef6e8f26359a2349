//! Request handlers, one module per endpoint family. Each reads top to bottom:
//! extract → core → store → respond.

pub mod admin;
pub mod bulk;
pub mod common;
pub mod discovery;
pub mod groups;
pub mod list;
pub mod raw;
pub mod stream;
pub mod users;
