//! The model the crash test checks the database against: per client thread, the resources it
//! owns as the server last acknowledged them (document, version, membership, deletion), the
//! history of provider operations applied to each (which decides the sync-log entries and
//! outbox events the database must hold), and the one operation whose outcome the kill left
//! unknown.
//!
//! Each client thread owns its users and groups, and a group only ever holds its own thread's
//! users, so every resource is written by one thread at a time and its last acknowledged state
//! is well defined; the threads still write concurrently, so the server batches and commits
//! their writes together.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::urn;

/// The attributes of a user the load writes and the checks compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDoc {
    /// `userName` (never changed after the create).
    pub user_name: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `nickName`: every write sets a fresh value, so it tells which write a document shows.
    pub nick_name: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// The enterprise extension's `department`.
    pub department: Option<String>,
    /// `active`.
    pub active: bool,
}

impl UserDoc {
    /// The tracked attributes of a User document (a response body or a stored resource).
    pub fn read(doc: &Value) -> UserDoc {
        let s = |v: &Value| v.as_str().map(str::to_string);
        UserDoc {
            user_name: s(&doc["userName"]).unwrap_or_default(),
            display_name: s(&doc["displayName"]),
            nick_name: s(&doc["nickName"]),
            title: s(&doc["title"]),
            department: s(&doc[urn::ENTERPRISE]["department"]),
            active: doc["active"].as_bool().unwrap_or(true),
        }
    }

    /// A complete User body with these attributes (POST, PUT).
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [urn::USER],
            "userName": self.user_name,
            "name": {"givenName": "Crash", "familyName": "Test"},
            "emails": [{"value": self.user_name, "type": "work", "primary": true}],
            "active": self.active,
        });
        for (key, value) in [
            ("displayName", &self.display_name),
            ("nickName", &self.nick_name),
            ("title", &self.title),
        ] {
            if let Some(v) = value {
                body[key] = json!(v);
            }
        }
        if let Some(d) = &self.department {
            body["schemas"] = json!([urn::USER, urn::ENTERPRISE]);
            body[urn::ENTERPRISE] = json!({"department": d});
        }
        body
    }
}

/// The attributes of a group the load writes and the checks compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDoc {
    /// `displayName` (never changed after the create).
    pub display_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// Member ids.
    pub members: BTreeSet<String>,
}

impl GroupDoc {
    /// The tracked attributes of a Group response body (members included).
    pub fn read(doc: &Value) -> GroupDoc {
        let members = doc["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        GroupDoc {
            display_name: doc["displayName"].as_str().unwrap_or_default().to_string(),
            external_id: doc["externalId"].as_str().map(str::to_string),
            members,
        }
    }
}

/// A provider operation applied to a user, as its sync-log entries and events reflect it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStep {
    /// Created (always active).
    Create,
    /// PUT or PATCH, with `active` before and after.
    Update {
        /// `active` before.
        from: bool,
        /// `active` after.
        to: bool,
    },
    /// DELETE.
    Delete,
}

/// A user as acknowledged.
#[derive(Clone, Debug)]
pub struct User {
    /// Server id.
    pub id: String,
    /// `meta.version` as a number.
    pub version: i64,
    /// Its attributes.
    pub doc: UserDoc,
    /// Deleted by the provider (gone from SCIM; the row waits for the deactivation delay).
    pub deleted: bool,
    /// Every operation applied, oldest first.
    pub history: Vec<UserStep>,
}

/// A provider operation applied to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupStep {
    /// POST.
    Create,
    /// PATCH (logged as `update`).
    Patch,
    /// PUT (logged as `replace`).
    Put,
    /// DELETE.
    Delete,
    /// A member user was deleted (logged as the group's `update`, with `group.updated`).
    MemberDeleted,
}

/// A group as acknowledged.
#[derive(Clone, Debug)]
pub struct Group {
    /// Server id.
    pub id: String,
    /// `meta.version` as a number.
    pub version: i64,
    /// Its attributes and members.
    pub doc: GroupDoc,
    /// Deleted.
    pub deleted: bool,
    /// Every operation applied, oldest first.
    pub history: Vec<GroupStep>,
}

/// A member named in a group create: an existing user, or one created earlier in the same
/// Bulk request (by userName; its id is known only from the response or the database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberRef {
    /// An existing user's id.
    Id(String),
    /// The userName of a user the same Bulk request creates.
    New(String),
}

/// One write the load sends, with what it must do.
#[derive(Clone, Debug)]
pub enum Op {
    /// POST /Users.
    CreateUser {
        /// The new user.
        doc: UserDoc,
    },
    /// PATCH or PUT /Users/{id}.
    UpdateUser {
        /// The user.
        id: String,
        /// `PATCH` or `PUT`.
        method: &'static str,
        /// The request body.
        body: Value,
        /// The user's attributes after it.
        after: UserDoc,
    },
    /// DELETE /Users/{id}.
    DeleteUser {
        /// The user.
        id: String,
    },
    /// POST /Groups.
    CreateGroup {
        /// `displayName`.
        name: String,
        /// `externalId`.
        external_id: Option<String>,
        /// Members.
        members: Vec<MemberRef>,
    },
    /// PATCH or PUT /Groups/{id}.
    UpdateGroup {
        /// The group.
        id: String,
        /// `PATCH` or `PUT`.
        method: &'static str,
        /// The request body.
        body: Value,
        /// The group after it.
        after: GroupDoc,
        /// How the sync log names it.
        step: GroupStep,
    },
    /// DELETE /Groups/{id}.
    DeleteGroup {
        /// The group.
        id: String,
    },
    /// POST /Bulk with these operations, in request order (never nested).
    Bulk(Vec<Op>),
}

impl Op {
    /// A short name for statistics and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::CreateUser { .. } => "user create",
            Op::UpdateUser { method: "PUT", .. } => "user PUT",
            Op::UpdateUser { .. } => "user PATCH",
            Op::DeleteUser { .. } => "user DELETE",
            Op::CreateGroup { .. } => "group create",
            Op::UpdateGroup { method: "PUT", .. } => "group PUT",
            Op::UpdateGroup { .. } => "group PATCH",
            Op::DeleteGroup { .. } => "group DELETE",
            Op::Bulk(_) => "Bulk",
        }
    }
}

/// What one client thread owns and knows.
#[derive(Clone, Debug, Default)]
pub struct World {
    /// The thread's number (part of every name it makes).
    pub thread: usize,
    /// The next number for a fresh name.
    pub next: u64,
    /// Its users by id, deleted ones included.
    pub users: BTreeMap<String, User>,
    /// Its groups by id, deleted ones included.
    pub groups: BTreeMap<String, Group>,
    /// The write in flight when the server was killed: it may or may not have been applied,
    /// but either all of it or none of it (per operation of a Bulk request).
    pub in_flight: Option<Op>,
    /// Acknowledged operations by kind.
    pub acked: BTreeMap<&'static str, u64>,
    /// Writes refused with 503 (the database was busy, e.g. PostgreSQL broke a deadlock):
    /// nothing of them may have landed, and the checks hold that true since the world never
    /// records them.
    pub refused: u64,
}

impl World {
    /// An empty world for client thread `thread`.
    pub fn new(thread: usize) -> World {
        World {
            thread,
            ..World::default()
        }
    }

    /// A fresh token for names and nickNames, unique across the run.
    pub fn fresh(&mut self) -> String {
        self.next += 1;
        format!("{}-{}", self.thread, self.next)
    }

    /// Ids of the users not deleted.
    pub fn live_users(&self) -> Vec<String> {
        self.users
            .values()
            .filter(|u| !u.deleted)
            .map(|u| u.id.clone())
            .collect()
    }

    /// Ids of the groups not deleted.
    pub fn live_groups(&self) -> Vec<String> {
        self.groups
            .values()
            .filter(|g| !g.deleted)
            .map(|g| g.id.clone())
            .collect()
    }

    /// The id of the user with this userName, if the world has it.
    pub fn user_named(&self, user_name: &str) -> Option<String> {
        self.users
            .values()
            .find(|u| u.doc.user_name == user_name)
            .map(|u| u.id.clone())
    }

    /// A user the server created.
    pub fn user_created(&mut self, id: String, version: i64, doc: UserDoc) {
        let user = User {
            id: id.clone(),
            version,
            doc,
            deleted: false,
            history: vec![UserStep::Create],
        };
        self.users.insert(id, user);
    }

    /// A user the server updated to `after` at `version`.
    pub fn user_updated(&mut self, id: &str, version: i64, after: UserDoc) {
        if let Some(u) = self.users.get_mut(id) {
            u.history.push(UserStep::Update {
                from: u.doc.active,
                to: after.active,
            });
            u.version = version;
            u.doc = after;
        }
    }

    /// A user the server deleted: it leaves every group, and each of those groups' versions
    /// goes up by one and its log gets an `update` (their membership changed).
    pub fn user_deleted(&mut self, id: &str) {
        if let Some(u) = self.users.get_mut(id) {
            u.deleted = true;
            u.history.push(UserStep::Delete);
        }
        for g in self.groups.values_mut().filter(|g| !g.deleted) {
            if g.doc.members.remove(id) {
                g.version += 1;
                g.history.push(GroupStep::MemberDeleted);
            }
        }
    }

    /// A group the server created.
    pub fn group_created(&mut self, id: String, version: i64, doc: GroupDoc) {
        let group = Group {
            id: id.clone(),
            version,
            doc,
            deleted: false,
            history: vec![GroupStep::Create],
        };
        self.groups.insert(id, group);
    }

    /// A group the server updated to `after` at `version`.
    pub fn group_updated(&mut self, id: &str, version: i64, after: GroupDoc, step: GroupStep) {
        if let Some(g) = self.groups.get_mut(id) {
            g.history.push(step);
            g.version = version;
            g.doc = after;
        }
    }

    /// A group the server deleted.
    pub fn group_deleted(&mut self, id: &str) {
        if let Some(g) = self.groups.get_mut(id) {
            g.deleted = true;
            g.history.push(GroupStep::Delete);
        }
    }

    /// The live groups `user` is a member of.
    pub fn groups_of(&self, user: &str) -> BTreeSet<String> {
        self.groups
            .values()
            .filter(|g| !g.deleted && g.doc.members.contains(user))
            .map(|g| g.id.clone())
            .collect()
    }
}
