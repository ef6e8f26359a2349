//! What every handler shares: the store, the schema registry, settings, the token verifier and
//! the clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::bulk::BulkLimits;
use scim_core::projection::{Projection, has_names};
use scim_core::query::QueryLimits;
use scim_core::schema::{ResourceType, SchemaRegistry};
use scim_store::Store;

use crate::auth::TokenVerifier;
use crate::error::ApiError;
use crate::observe::Metrics;
use crate::ratelimit::TenantLimits;

/// Time, injected so tests and workers can control it. Only this crate reads a clock.
pub trait Clock: Send + Sync + 'static {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How Group PATCH answers: RFC 7644 §3.5.2 allows 200 with the resource or 204.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupPatchResponse {
    /// 200 with the group (members included unless excluded by `excludedAttributes`), except
    /// that a group with more than [`ServerConfig::group_patch_member_limit`] members answers
    /// 204 unless the request's `attributes` names `members` (see `handlers::groups::patch`).
    #[default]
    Resource,
    /// 204 No Content, Entra's preference: no member dump for large groups.
    NoContent,
}

/// Server settings that shape responses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Public origin used in `meta.location` and discovery (`https://scim.example.com`); when
    /// unset, derived from each request's scheme and Host.
    pub public_url: Option<String>,
    /// Path the SCIM API is mounted at (`/scim/v2`), appended to the origin.
    pub mount_path: String,
    /// `count` default and clamp.
    pub query_limits: QueryLimits,
    /// Bulk limits (advertised in ServiceProviderConfig).
    pub bulk_limits: BulkLimits,
    /// Largest accepted request body outside Bulk, in bytes.
    pub max_body_bytes: usize,
    /// Group PATCH response form.
    pub group_patch_response: GroupPatchResponse,
    /// Largest group (in members) whose PATCH answers 200 with its members under
    /// [`GroupPatchResponse::Resource`]; larger groups answer 204, so a one-member change to a
    /// huge group doesn't send the whole group back. `u64::MAX` always answers with the body.
    pub group_patch_member_limit: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            mount_path: "/scim/v2".to_string(),
            query_limits: QueryLimits::default(),
            bulk_limits: BulkLimits::default(),
            max_body_bytes: 1024 * 1024,
            group_patch_response: GroupPatchResponse::default(),
            group_patch_member_limit: 10_000,
        }
    }
}

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Store,
    /// Schemas and resource types (standard plus configured extensions).
    pub registry: Arc<SchemaRegistry>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Token verification with its cache.
    pub verifier: TokenVerifier,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Prometheus collectors.
    pub metrics: Metrics,
    /// Per-tenant request rate limits.
    pub limits: TenantLimits,
    /// Per-tenant policy settings, read at most once a second.
    pub settings: crate::settings_cache::SettingsCache,
    /// Where recent pages of unfiltered lists ended (sequential imports read on from there).
    pub cursors: crate::cursors::PageCursors,
    /// Turns for read-modify-writes of one user in this instance (`write_locks`).
    pub write_locks: Arc<crate::write_locks::WriteLocks>,
    /// Organizations known to exist, which a create need not look up (`known_orgs`).
    pub known_orgs: Arc<crate::known_orgs::KnownOrganizations>,
    /// Each resource type's projection when a request names no attributes (most requests):
    /// built once, where building it per request was 4% of a GET's CPU.
    default_projections: Arc<Vec<(String, Arc<Projection>)>>,
}

impl AppState {
    /// State with the real clock and the standard schemas.
    pub fn new(store: Store, config: ServerConfig) -> Result<AppState, ApiError> {
        Self::with_parts(
            store,
            SchemaRegistry::standard(),
            config,
            Arc::new(SystemClock),
        )
    }

    /// State with a given registry (custom extensions) and clock.
    pub fn with_parts(
        store: Store,
        registry: SchemaRegistry,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, ApiError> {
        let mut default_projections = Vec::new();
        for rt in registry.resource_types() {
            let p = Projection::new(&registry, rt, &[], &[])?;
            default_projections.push((rt.name.clone(), Arc::new(p)));
        }
        let metrics = Metrics::new()
            .and_then(|m| m.watch_store(&store).map(|()| m))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(AppState {
            default_projections: Arc::new(default_projections),
            verifier: TokenVerifier::new(store.clone())?,
            limits: TenantLimits::new(store.clone()),
            settings: Default::default(),
            cursors: Default::default(),
            write_locks: Default::default(),
            known_orgs: Default::default(),
            store,
            registry: Arc::new(registry),
            config: Arc::new(config),
            clock,
            metrics,
        })
    }

    /// The projection of `attributes` / `excludedAttributes` for resource type `rt`.
    pub fn projection(
        &self,
        rt: &ResourceType,
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Arc<Projection>, ApiError> {
        if !has_names(attributes) && !has_names(excluded) {
            let found = self.default_projections.iter().find(|(n, _)| *n == rt.name);
            if let Some((_, p)) = found {
                return Ok(p.clone());
            }
        }
        Ok(Arc::new(Projection::new(
            &self.registry,
            rt,
            attributes,
            excluded,
        )?))
    }
}
