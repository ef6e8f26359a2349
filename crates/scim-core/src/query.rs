//! List and search parameters and the ListResponse shape.
