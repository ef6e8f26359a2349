//! Every URL of the SCIM API, registered in one place.
//!
//! [`configure`] registers paths relative to wherever the host mounts it, so an embedding app
//! chooses the prefix: `App::new().service(web::scope("/scim/v2").configure(|c|
//! scim_server::configure(c, state)))`. Unknown paths and wrong methods answer with SCIM Error
//! bodies (404, 405), like everything else.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::handlers::{bulk, discovery, groups, list, users};
use crate::state::AppState;

/// The SCIM API as one service mounted at `path` (e.g. `/scim/v2`), with request ids, access
/// logs, metrics and SCIM bodies for framework errors. What the binary uses, and the easiest
/// way for a host app: `App::new().service(scim_server::scope("/scim/v2", state))`.
pub fn scope(
    path: &str,
    state: AppState,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<
            actix_web::body::EitherBody<actix_web::body::BoxBody>,
        >,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let metrics = state.metrics.clone();
    web::scope(path)
        .wrap(actix_web::middleware::from_fn(move |req, next| {
            crate::observe::middleware(metrics.clone(), req, next)
        }))
        .configure(move |c| configure(c, state))
}

/// Mounts the SCIM API and its state into a scope or app (without the observing middleware;
/// see [`scope`]).
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    let body_limit = state
        .config
        .max_body_bytes
        .max(state.config.bulk_limits.max_payload_size);
    cfg.app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(body_limit))
        .service(read_only(
            "/ServiceProviderConfig",
            discovery::service_provider_config,
        ))
        .service(read_only("/ResourceTypes", discovery::resource_types))
        .service(
            web::resource("/ResourceTypes/{name}")
                .route(web::get().to(discovery::resource_type))
                .default_service(web::to(method_not_allowed)),
        )
        .service(read_only("/Schemas", discovery::schemas))
        .service(read_only("/openapi.json", crate::openapi::serve))
        .service(
            web::resource("/Schemas/{urn}")
                .route(web::get().to(discovery::schema))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Users/.search", "/Users/.search/"])
                .route(web::post().to(list::search_users))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Users", "/Users/"])
                .route(web::get().to(list::list_users))
                .route(web::post().to(users::create))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Users/{id}", "/Users/{id}/"])
                .route(web::get().to(users::get))
                .route(web::put().to(users::replace))
                .route(web::patch().to(users::patch))
                .route(web::delete().to(users::delete))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Groups/.search", "/Groups/.search/"])
                .route(web::post().to(list::search_groups))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Groups", "/Groups/"])
                .route(web::get().to(list::list_groups))
                .route(web::post().to(groups::create))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Groups/{id}", "/Groups/{id}/"])
                .route(web::get().to(groups::get))
                .route(web::put().to(groups::replace))
                .route(web::patch().to(groups::patch))
                .route(web::delete().to(groups::delete))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/.search", "/.search/"])
                .route(web::post().to(list::search_all))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(["/Bulk", "/Bulk/"])
                .route(web::post().to(bulk::bulk))
                .default_service(web::to(method_not_allowed)),
        )
        .default_service(web::to(not_found));
}

/// Mounts the admin API (tenants, tokens, users' lifecycle, jobs, sync log) and its state into
/// a scope or app. The binary mounts it at `/admin/v1`, beside the SCIM API:
/// `App::new().service(web::scope("/admin/v1").configure(|c| scim_server::configure_admin(c,
/// state)))`. Every operation requires an administrator token (`crate::admin_auth`).
pub fn configure_admin(cfg: &mut web::ServiceConfig, state: AppState) {
    use crate::handlers::admin::{self, activity, jit, ldap, mappings, tenants, tokens, users};
    let body_limit = state.config.max_body_bytes;
    cfg.app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(body_limit))
        .service(
            admin_resource("/tenants")
                .route(web::get().to(tenants::list))
                .route(web::post().to(tenants::create)),
        )
        .service(
            admin_resource("/tenants/{name}")
                .route(web::get().to(tenants::get))
                .route(web::delete().to(tenants::delete)),
        )
        .service(
            admin_resource("/tenants/{name}/settings")
                .route(web::get().to(tenants::get_settings))
                .route(web::put().to(tenants::put_settings)),
        )
        .service(
            admin_resource("/tenants/{name}/tokens")
                .route(web::get().to(tokens::list))
                .route(web::post().to(tokens::issue)),
        )
        .service(
            admin_resource("/tenants/{name}/tokens/{id}").route(web::delete().to(tokens::revoke)),
        )
        .service(
            admin_resource("/tenants/{name}/users/{id}/state").route(web::get().to(users::state)),
        )
        .service(
            admin_resource("/tenants/{name}/users/{id}/legal-hold")
                .route(web::post().to(users::set_legal_hold))
                .route(web::delete().to(users::release_legal_hold)),
        )
        .service(
            admin_resource("/tenants/{name}/users/{id}/deactivate")
                .route(web::post().to(users::deactivate)),
        )
        .service(
            admin_resource("/tenants/{name}/users/{id}/reactivate")
                .route(web::post().to(users::reactivate)),
        )
        .service(
            admin_resource("/tenants/{name}/users/{id}/entitlements")
                .route(web::get().to(users::entitlements)),
        )
        .service(
            admin_resource("/tenants/{name}/verify-password")
                .route(web::post().to(users::verify_password)),
        )
        .service(
            admin_resource("/tenants/{name}/apply-mappings")
                .route(web::post().to(mappings::apply_mappings)),
        )
        .service(admin_resource("/tenants/{name}/jit-login").route(web::post().to(jit::login)))
        .service(
            admin_resource("/tenants/{name}/jobs").route(web::get().to(activity::pending_jobs)),
        )
        .service(
            admin_resource("/tenants/{name}/sync-log").route(web::get().to(activity::sync_log)),
        )
        .service(admin_resource("/tenants/{name}/ldap/sync").route(web::post().to(ldap::sync_now)))
        .service(admin_resource("/tenants/{name}/ldap/runs").route(web::get().to(ldap::runs)))
        .default_service(web::to(admin::not_found));
}

/// An admin path, with and without a trailing slash; other methods answer 405.
fn admin_resource(path: &str) -> actix_web::Resource {
    web::resource([path.to_string(), format!("{path}/")])
        .default_service(web::to(method_not_allowed))
}

fn read_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource([path.to_string(), format!("{path}/")])
        .route(web::get().to(handler))
        .default_service(web::to(method_not_allowed))
}

/// 405 for a known path with a method it doesn't take.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let method: &Method = req.method();
    Err(ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}",
        req.path()
    )))
}

/// 404 for paths the API doesn't have.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no SCIM endpoint at {}; see /ServiceProviderConfig and /ResourceTypes",
        req.path()
    )))
}
