//! The in-memory filter evaluator and the check of filters against the schema.
