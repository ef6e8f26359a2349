//! A create looks up the organization it gives the user only until a committed create has
//! shown it exists (`known_orgs`), on both backends: the statements each create runs are
//! counted through diesel's instrumentation, and what the users were given is read back.
//!
//! This file sets diesel's process-wide default instrumentation, so it is a test binary of its
//! own.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::{Mutex, OnceLock};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use scim_server::service::users;
use scim_server::state::{AppState, ServerConfig};
use scim_store::settings::OrgMapping;
use scim_store::testing::TestDb;
use scim_store::{TenantId, entitlements, tenants};
use serde_json::json;

/// Every statement started by connections of this process, with its binds.
fn started() -> &'static Mutex<Vec<String>> {
    static STARTED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    STARTED.get_or_init(Default::default)
}

struct Recorder;

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            started().lock().unwrap().push(query.to_string());
        }
    }
}

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        diesel::connection::set_default_instrumentation(|| Some(Box::new(Recorder))).unwrap();
    });
}

/// How many lookups of the tenant's organizations `f` ran.
fn org_lookups(tenant: &TenantId, f: impl FnOnce()) -> usize {
    started().lock().unwrap().clear();
    f();
    started()
        .lock()
        .unwrap()
        .iter()
        .filter(|q| q.starts_with("SELECT") && q.contains("organizations"))
        .filter(|q| q.contains(tenant.as_str()))
        .count()
}

fn tenant(st: &AppState, name: &'static str) -> TenantId {
    let now = chrono::Utc::now().naive_utc();
    st.store
        .write(move |c| tenants::create(c, name, now))
        .unwrap()
        .id
}

fn create(st: &AppState, tenant: &TenantId, name: &str, org: Option<&str>) -> String {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
    });
    if let Some(org) = org {
        body["schemas"].as_array_mut().unwrap().push(json!(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ));
        body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json!({ "organization": org });
    }
    users::create(st, tenant, body).unwrap().id
}

fn organization_of(st: &AppState, tenant: &TenantId, user: &str) -> String {
    st.store
        .read(|c| entitlements::get(c, tenant, user))
        .unwrap()
        .unwrap()
        .organization
}

#[test]
fn a_create_stops_looking_up_an_organization_a_committed_create_showed() {
    install();
    for db in TestDb::all() {
        let kind = db.kind();
        let st = AppState::new(db.store.clone(), ServerConfig::default()).unwrap();
        let t = tenant(&st, "acme");

        // The default organization: looked up (and created) by the first create only.
        let first = org_lookups(&t, || {
            create(&st, &t, "a@example.com", None);
        });
        assert!(first >= 1, "{kind:?}: the first create looks it up");
        let mut second = String::new();
        let later = org_lookups(&t, || second = create(&st, &t, "b@example.com", None));
        assert_eq!(later, 0, "{kind:?}: known from the first create");
        assert_eq!(organization_of(&st, &t, &second), "Default");

        // Organizations named by an attribute: each looked up until one create has it.
        let (t2, mut settings) = (
            t.clone(),
            st.store.read(|c| tenants::settings(c, &t)).unwrap(),
        );
        settings.org_mapping = OrgMapping::Attribute {
            path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization".into(),
            create_missing: true,
        };
        st.store
            .write(move |c| tenants::update_settings(c, &t2, &settings))
            .unwrap();
        st.settings.forget(&t);
        let mut sales = String::new();
        let first = org_lookups(&t, || {
            sales = create(&st, &t, "c@example.com", Some("Sales"))
        });
        assert!(first >= 1, "{kind:?}: Sales is looked up");
        assert_eq!(organization_of(&st, &t, &sales), "Sales");
        let mut again = String::new();
        let later = org_lookups(&t, || {
            again = create(&st, &t, "d@example.com", Some("Sales"))
        });
        assert_eq!(later, 0, "{kind:?}: Sales is known now");
        assert_eq!(organization_of(&st, &t, &again), "Sales");
        let created = st
            .store
            .read(|c| entitlements::organizations(c, &t))
            .unwrap();
        assert_eq!(
            created.into_iter().collect::<Vec<_>>(),
            vec!["Default".to_string(), "Sales".to_string()]
        );

        // Another tenant knows nothing of the first one's organizations.
        let other = tenant(&st, "other");
        let first = org_lookups(&other, || {
            create(&st, &other, "a@example.com", None);
        });
        assert!(first >= 1, "{kind:?}: another tenant looks its own up");
    }
}
