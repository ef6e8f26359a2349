//! Bulk requests (RFC 7644 §3.7): models, bulkId resolution, ordering and limits.
