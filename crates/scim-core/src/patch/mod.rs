//! PATCH (RFC 7644 §3.5.2): operations, client dialects, atomic application and change sets.
