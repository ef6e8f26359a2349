//! Resource documents: validation and normalization against the schema, and `meta`.
