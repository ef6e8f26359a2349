//! Reading a tenant's directory: one complete snapshot of the mapped groups and their members,
//! or an error. Nothing here writes; the reconciliation only ever sees a whole answer.
//!
//! A snapshot is all or nothing on purpose: a directory that cannot be reached, a refused
//! bind, a mapped group that does not exist, and any search that ends with a result code other
//! than success (size or time limit exceeded, busy, unwilling, …) fail the whole read, so a
//! partial answer can never look like "these users left" and deactivate them. What is skipped
//! instead, with a warning, is an individual member reference the directory itself says
//! nothing about: a member DN that no longer exists (no referential integrity), an entry that
//! is not a user (a nested group), a `memberUid` no user has, a user without the attribute
//! that names it.
//!
//! Members are read from `member` (groupOfNames), `uniqueMember` (groupOfUniqueNames), the
//! source's configured member attribute (all DNs) and `memberUid` (posixGroup, uids), whatever
//! the group's class, so mixed schemas such as rfc2307bis work too. Each member DN is read
//! with a base search, each `memberUid` with an equality search under the base DN: no
//! subtree search of all users, so no server size limit can truncate the answer silently.
//! Referral continuations are ignored (Active Directory returns them for its DNS zones).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry, ldap_escape};
use scim_store::settings::LdapSource;

use crate::secrets::Secret;

/// How long to wait for the TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for any one operation (bind, search).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// What the users' `externalId` starts with: it marks the users this sync owns.
pub const EXTERNAL_ID_PREFIX: &str = "ldap:";

/// LDAP result code: the base object of a search does not exist.
const NO_SUCH_OBJECT: u32 = 32;

/// One user as the directory has it, with the SCIM values already picked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirUser {
    /// The entry's DN (for messages).
    pub dn: String,
    /// `ldap:` + the external-id attribute (entryUUID by default; the DN when absent).
    pub external_id: String,
    /// Becomes `userName` (the user-name attribute; uid by default).
    pub user_name: String,
    /// Becomes the primary work email.
    pub email: Option<String>,
    /// Becomes `name.givenName`.
    pub given_name: Option<String>,
    /// Becomes `name.familyName`.
    pub family_name: Option<String>,
    /// Becomes `displayName` (the display-name attribute, else `cn`).
    pub display_name: Option<String>,
}

/// One mapped group and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGroup {
    /// The group's DN.
    pub dn: String,
    /// Its name (the group-name attribute, `cn` by default): the SCIM group's displayName.
    pub name: String,
    /// Its members' external ids.
    pub members: BTreeSet<String>,
}

/// Everything one run reconciles against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The mapped groups, in configuration order.
    pub groups: Vec<DirGroup>,
    /// Every member of a mapped group, by external id.
    pub users: BTreeMap<String, DirUser>,
    /// External ids of member entries that were read but skipped (no userName, ambiguous
    /// memberUid): still in a mapped group, so a user synced from them earlier stays.
    pub unusable: BTreeSet<String>,
    /// Member references skipped, one sentence each.
    pub warnings: Vec<String>,
}

/// Why the directory could not be read (the run changes nothing).
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The source can't be used as configured (missing password variable, plaintext refused).
    #[error("LDAP source misconfigured: {0}")]
    Config(String),
    /// No connection (refused, timed out, TLS failed).
    #[error("cannot reach the directory at {url}: {detail}")]
    Unreachable {
        /// The source URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The bind was refused (wrong DN or password, account locked).
    #[error("the directory refused the bind as {bind_dn:?}: {detail}")]
    Bind {
        /// The bind DN.
        bind_dn: String,
        /// The server's answer.
        detail: String,
    },
    /// A search failed or answered only in part.
    #[error("incomplete answer from the directory while {what}: {detail}")]
    Partial {
        /// What was being read.
        what: String,
        /// The server's answer or the transport error.
        detail: String,
    },
}

/// The bind password, from the environment variable the source names. The password itself is
/// never stored, logged or put in an error message.
pub fn bind_password(source: &LdapSource) -> Result<Secret, DirectoryError> {
    if source.bind_password_enc.is_some() {
        return Err(DirectoryError::Config(
            "bind_password_enc is not supported by this server; name an environment variable \
             with bind_password_env (`scim-server ldap configure --bind-password-env VAR`)"
                .into(),
        ));
    }
    let var = source
        .bind_password_env
        .as_deref()
        .ok_or_else(|| DirectoryError::Config("no bind_password_env is set".into()))?;
    match std::env::var(var) {
        // An empty password makes a simple bind anonymous (RFC 4513 §5.1.2): refuse it.
        Ok(p) if !p.is_empty() => Ok(Secret::new(p)),
        Ok(_) => Err(DirectoryError::Config(format!(
            "the environment variable {var} holding the bind password is empty"
        ))),
        Err(_) => Err(DirectoryError::Config(format!(
            "the environment variable {var} holding the bind password is not set in this \
             process"
        ))),
    }
}

/// Connects, binds and reads the snapshot.
pub fn read(source: &LdapSource, password: &Secret) -> Result<Snapshot, DirectoryError> {
    let mut conn = connect(source)?;
    conn.with_timeout(OPERATION_TIMEOUT);
    let bind = conn
        .simple_bind(&source.bind_dn, password.expose())
        .map_err(|e| unreachable(source, &e))?;
    if bind.rc != 0 {
        return Err(DirectoryError::Bind {
            bind_dn: source.bind_dn.clone(),
            detail: bind.to_string(),
        });
    }
    let snapshot = Reader {
        conn: &mut conn,
        source,
        by_dn: HashMap::new(),
        by_uid: HashMap::new(),
        snapshot: Snapshot::default(),
    }
    .run();
    let _ = conn.unbind();
    snapshot
}

fn unreachable(source: &LdapSource, e: &LdapError) -> DirectoryError {
    DirectoryError::Unreachable {
        url: source.url.clone(),
        detail: e.to_string(),
    }
}

/// Opens the connection the source asks for: LDAPS, or LDAP upgraded with StartTLS, or plain
/// LDAP only when the source explicitly allows it.
fn connect(source: &LdapSource) -> Result<LdapConn, DirectoryError> {
    let url = source.url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("ldap://") && !source.starttls && !source.allow_plaintext {
        return Err(DirectoryError::Config(
            "ldap:// without StartTLS sends the bind password in clear; use ldaps://, \
             --starttls, or --allow-plaintext for a test directory"
                .into(),
        ));
    }
    if !lower.starts_with("ldap://") && !lower.starts_with("ldaps://") {
        return Err(DirectoryError::Config(format!(
            "{url:?} is not an ldap:// or ldaps:// URL"
        )));
    }
    let settings = LdapConnSettings::new()
        .set_conn_timeout(CONNECT_TIMEOUT)
        .set_starttls(source.starttls && lower.starts_with("ldap://"));
    LdapConn::with_settings(settings, url).map_err(|e| unreachable(source, &e))
}

/// The values of `name` (any case), text or binary (binary as lowercase hex).
fn values(entry: &SearchEntry, name: &str) -> Vec<String> {
    let text = entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().cloned());
    let binary = entry
        .bin_attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(|b| hex(b)));
    text.chain(binary).collect()
}

fn first(entry: &SearchEntry, name: &str) -> Option<String> {
    values(entry, name)
        .into_iter()
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `uniqueMember` value is a DN optionally followed by `#'0101'B` (RFC 4517 NameAndOptionalUID).
fn strip_uid_suffix(value: &str) -> &str {
    match value.rfind("#'") {
        Some(i) if value.ends_with("'B") => &value[..i],
        _ => value,
    }
}

/// Where a member is resolved from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MemberRef {
    Dn(String),
    Uid(String),
}

struct Reader<'a> {
    conn: &'a mut LdapConn,
    source: &'a LdapSource,
    by_dn: HashMap<String, Option<String>>,
    by_uid: HashMap<String, Option<String>>,
    snapshot: Snapshot,
}

impl Reader<'_> {
    fn run(mut self) -> Result<Snapshot, DirectoryError> {
        for group in &self.source.groups {
            let (dn, name, refs) = self.group(group)?;
            let mut members = BTreeSet::new();
            for r in refs {
                if let Some(id) = self.member(&r, &dn)? {
                    members.insert(id);
                }
            }
            self.snapshot.groups.push(DirGroup { dn, name, members });
        }
        Ok(self.snapshot)
    }

    /// Runs one search; anything but success fails the run. `missing_ok`: a base object that
    /// does not exist answers no entries instead (a dangling member DN).
    fn search(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[String],
        missing_ok: bool,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let partial = |detail: String| DirectoryError::Partial {
            what: what.to_string(),
            detail,
        };
        self.conn.with_timeout(OPERATION_TIMEOUT);
        let result = self
            .conn
            .search(base, scope, filter, attrs)
            .map_err(|e| partial(e.to_string()))?;
        let (entries, status) = (result.0, result.1);
        if status.rc == NO_SUCH_OBJECT && missing_ok {
            return Ok(Vec::new());
        }
        if status.rc != 0 {
            return Err(partial(status.to_string()));
        }
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    /// The group's DN, name and member references. A configured value containing `=` is a
    /// DN; anything else is a name searched under the base DN. Either must find exactly one
    /// group: a mapped group that is missing fails the run rather than emptying it.
    fn group(
        &mut self,
        configured: &str,
    ) -> Result<(String, String, Vec<MemberRef>), DirectoryError> {
        let a = &self.source.attributes;
        let mut attrs: Vec<String> = vec![
            a.group_name.clone(),
            "objectClass".into(),
            "member".into(),
            "uniqueMember".into(),
            "memberUid".into(),
        ];
        if !attrs.iter().any(|x| x.eq_ignore_ascii_case(&a.member)) {
            attrs.push(a.member.clone());
        }
        let what = format!("reading mapped group {configured:?}");
        let found = if configured.contains('=') {
            self.search(
                &what,
                configured,
                Scope::Base,
                "(objectClass=*)",
                &attrs,
                true,
            )?
        } else {
            let classes: BTreeSet<&str> = [
                "groupOfNames",
                "groupOfUniqueNames",
                "posixGroup",
                self.source.group_object_class.as_str(),
            ]
            .into_iter()
            .collect();
            let any: String = classes
                .iter()
                .map(|c| format!("(objectClass={})", ldap_escape(*c)))
                .collect();
            let filter = format!("(&(|{any})({}={}))", a.group_name, ldap_escape(configured));
            let base = self.source.base_dn.clone();
            self.search(&what, &base, Scope::Subtree, &filter, &attrs, false)?
        };
        let entry = match found.len() {
            1 => found.into_iter().next(),
            _ => None,
        };
        let Some(entry) = entry else {
            return Err(DirectoryError::Partial {
                what,
                detail: if configured.contains('=') {
                    "no such entry; fix the mapping (a missing group is never read as empty)".into()
                } else {
                    "not exactly one group has this name under the base DN; map it by DN".into()
                },
            });
        };
        let name = first(&entry, &a.group_name).unwrap_or_else(|| entry.dn.clone());
        let mut refs = Vec::new();
        let mut seen = BTreeSet::new();
        for attr in ["member", "uniqueMember", a.member.as_str()] {
            if !seen.insert(attr.to_ascii_lowercase()) {
                continue;
            }
            for v in values(&entry, attr) {
                let dn = strip_uid_suffix(v.trim()).to_string();
                if !dn.is_empty() {
                    refs.push(MemberRef::Dn(dn));
                }
            }
        }
        for uid in values(&entry, "memberUid") {
            if !uid.trim().is_empty() {
                refs.push(MemberRef::Uid(uid.trim().to_string()));
            }
        }
        Ok((entry.dn, name, refs))
    }

    /// The attributes read of a user entry.
    fn user_attrs(&self) -> Vec<String> {
        let a = &self.source.attributes;
        let mut v: Vec<String> = vec![
            a.user_name.clone(),
            a.external_id.clone(),
            a.email.clone(),
            a.given_name.clone(),
            a.family_name.clone(),
            a.display_name.clone(),
            "cn".into(),
            "objectClass".into(),
        ];
        let mut seen = BTreeSet::new();
        v.retain(|x| seen.insert(x.to_ascii_lowercase()));
        v
    }

    /// Resolves one member reference to a user's external id (cached: a user in several
    /// groups is read once), or `None` with a warning when the directory has no such user.
    fn member(&mut self, r: &MemberRef, group_dn: &str) -> Result<Option<String>, DirectoryError> {
        let cached = match r {
            MemberRef::Dn(dn) => self.by_dn.get(&dn.to_ascii_lowercase()),
            MemberRef::Uid(uid) => self.by_uid.get(uid),
        };
        if let Some(id) = cached {
            return Ok(id.clone());
        }
        let attrs = self.user_attrs();
        let class = format!(
            "(objectClass={})",
            ldap_escape(&self.source.user_object_class)
        );
        let found = match r {
            MemberRef::Dn(dn) => {
                let what = format!("reading member {dn:?} of {group_dn:?}");
                self.search(&what, dn, Scope::Base, &class, &attrs, true)?
            }
            MemberRef::Uid(uid) => {
                let what = format!("looking up memberUid {uid:?} of {group_dn:?}");
                let filter = format!("(&{class}(uid={}))", ldap_escape(uid.as_str()));
                let base = self.source.base_dn.clone();
                self.search(&what, &base, Scope::Subtree, &filter, &attrs, false)?
            }
        };
        let id = match found.len() {
            0 => {
                self.warn(format!(
                    "{group_dn}: member {} is not a {} entry (missing, or a nested group); \
                     skipped",
                    describe(r),
                    self.source.user_object_class
                ));
                None
            }
            1 => found.into_iter().next().and_then(|e| self.user(e)),
            n => {
                self.warn(format!(
                    "{group_dn}: member {} matches {n} entries; skipped",
                    describe(r)
                ));
                for entry in &found {
                    let id = self.external_id(entry);
                    self.snapshot.unusable.insert(id);
                }
                None
            }
        };
        match r {
            MemberRef::Dn(dn) => self.by_dn.insert(dn.to_ascii_lowercase(), id.clone()),
            MemberRef::Uid(uid) => self.by_uid.insert(uid.clone(), id.clone()),
        };
        Ok(id)
    }

    /// Records a user entry; `None` (with a warning) when it has no user name.
    fn user(&mut self, entry: SearchEntry) -> Option<String> {
        let a = &self.source.attributes;
        let external_id = self.external_id(&entry);
        let Some(user_name) = first(&entry, &a.user_name) else {
            self.warn(format!(
                "{}: no {} attribute to use as userName; skipped",
                entry.dn, a.user_name
            ));
            self.snapshot.unusable.insert(external_id);
            return None;
        };
        let user = DirUser {
            user_name,
            external_id: external_id.clone(),
            email: first(&entry, &a.email),
            given_name: first(&entry, &a.given_name),
            family_name: first(&entry, &a.family_name),
            display_name: first(&entry, &a.display_name).or_else(|| first(&entry, "cn")),
            dn: entry.dn,
        };
        self.snapshot.users.insert(external_id.clone(), user);
        Some(external_id)
    }

    /// `ldap:` + the entry's external-id attribute, or its DN when it has none.
    fn external_id(&self, entry: &SearchEntry) -> String {
        let id =
            first(entry, &self.source.attributes.external_id).unwrap_or_else(|| entry.dn.clone());
        format!("{EXTERNAL_ID_PREFIX}{id}")
    }

    fn warn(&mut self, message: String) {
        tracing::warn!(%message, "LDAP member skipped");
        self.snapshot.warnings.push(message);
    }
}

fn describe(r: &MemberRef) -> String {
    match r {
        MemberRef::Dn(dn) => format!("{dn:?}"),
        MemberRef::Uid(uid) => format!("memberUid {uid:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_member_uid_suffix_is_dropped() {
        assert_eq!(
            strip_uid_suffix("uid=a,ou=people,dc=x#'0101'B"),
            "uid=a,ou=people,dc=x"
        );
        assert_eq!(strip_uid_suffix("uid=a,dc=x"), "uid=a,dc=x");
        assert_eq!(strip_uid_suffix("cn=#'odd',dc=x"), "cn=#'odd',dc=x");
    }

    #[test]
    fn plaintext_needs_explicit_permission() {
        let source = LdapSource {
            url: "ldap://127.0.0.1:1".into(),
            ..LdapSource::default()
        };
        assert!(matches!(connect(&source), Err(DirectoryError::Config(_))));
    }

    #[test]
    fn an_empty_password_is_refused() {
        let source = LdapSource {
            bind_password_env: Some("SCIM_LDAP_TEST_UNSET_VARIABLE_FOR_UNIT_TEST".into()),
            ..LdapSource::default()
        };
        assert!(matches!(
            bind_password(&source),
            Err(DirectoryError::Config(m)) if m.contains("not set")
        ));
    }
}
