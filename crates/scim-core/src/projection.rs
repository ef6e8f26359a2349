//! Attribute projection (`attributes`, `excludedAttributes`) honouring `returned`.
