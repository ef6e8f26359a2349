//! The filter parser: text to [`Filter`](super::Filter) and PATCH paths, with byte-offset errors and hard limits.
