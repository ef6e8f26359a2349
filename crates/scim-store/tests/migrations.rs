//! Migrations go up, down and up again on both backends, and the store answers after each.

use scim_store::testing::TestDb;

#[test]
fn migrations_up_down_up() {
    for db in TestDb::all() {
        db.store.ping().unwrap();
        db.store.migrate_down_all().unwrap();
        db.store.migrate().unwrap();
        // Idempotent: nothing pending.
        db.store.migrate().unwrap();
        db.store.ping().unwrap();
        eprintln!("migrations up/down/up ok on {:?}", db.kind());
    }
}

#[test]
fn database_url_forms() {
    use scim_store::DatabaseUrl;
    assert_eq!(
        DatabaseUrl::parse("sqlite://scim.db").unwrap(),
        DatabaseUrl::Sqlite("scim.db".into())
    );
    assert_eq!(
        DatabaseUrl::parse("sqlite:/tmp/x.db").unwrap(),
        DatabaseUrl::Sqlite("/tmp/x.db".into())
    );
    assert_eq!(
        DatabaseUrl::parse("./scim.db").unwrap(),
        DatabaseUrl::Sqlite("./scim.db".into())
    );
    assert!(matches!(
        DatabaseUrl::parse("postgres://u@h/db").unwrap(),
        DatabaseUrl::Postgres(_)
    ));
    assert!(matches!(
        DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
        DatabaseUrl::Postgres(_)
    ));
    assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
    assert!(DatabaseUrl::parse("").is_err());
}
