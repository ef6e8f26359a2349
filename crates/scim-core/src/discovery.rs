//! Discovery documents: ServiceProviderConfig, ResourceTypes and Schemas.
