//! The check through the SCIM API after each restart, as the identity provider sees it: the
//! lists hold exactly the users and groups acknowledged (and resolved in-flight creates), each
//! with its acknowledged attributes, `meta.version` and memberships (the group's `members`
//! and the user's `groups`), and users deleted in the last cycle answer 404.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::client::{self, body_version};
use crate::common::SCIM;
use crate::model::{GroupDoc, UserDoc, World};

/// Every resource of a list endpoint (pages of 200).
fn list_all(
    agent: &ureq::Agent,
    origin: &str,
    token: &str,
    path: &str,
) -> Result<Vec<Value>, String> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let url = format!(
            "{origin}{SCIM}{path}?count=200&startIndex={}",
            out.len() + 1
        );
        let r = client::send(agent, "GET", &url, token, None, None)?;
        if r.status != 200 {
            return Err(format!("GET {path}: {r:?}"));
        }
        let body = r.json();
        let page = body["Resources"].as_array().cloned().unwrap_or_default();
        let total = body["totalResults"].as_u64().unwrap_or(0);
        let done = page.is_empty() || out.len() + page.len() >= usize::try_from(total).unwrap_or(0);
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Checks the API against the worlds; `gone` are users whose deletion the last cycle
/// acknowledged or resolved (each must answer 404). Returns the problems found.
pub fn check_api(
    origin: &str,
    token: &str,
    worlds: &[World],
    gone: &[String],
) -> Result<Vec<String>, String> {
    let agent = client::agent();
    let mut problems = Vec::new();
    let users = list_all(&agent, origin, token, "/Users")?;
    let groups = list_all(&agent, origin, token, "/Groups")?;

    let mut want_users: HashMap<&str, (&World, &crate::model::User)> = HashMap::new();
    let mut want_groups: HashMap<&str, &crate::model::Group> = HashMap::new();
    for w in worlds {
        for u in w.users.values().filter(|u| !u.deleted) {
            want_users.insert(u.id.as_str(), (w, u));
        }
        for g in w.groups.values().filter(|g| !g.deleted) {
            want_groups.insert(g.id.as_str(), g);
        }
    }
    for doc in &users {
        let id = doc["id"].as_str().unwrap_or_default();
        let Some((w, u)) = want_users.remove(id) else {
            problems.push(format!(
                "GET /Users lists {id}, which no acknowledged write leaves: {doc}"
            ));
            continue;
        };
        let found = UserDoc::read(doc);
        let groups: BTreeSet<String> = doc["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let version = body_version(doc);
        if found != u.doc || version != Some(u.version) || groups != w.groups_of(id) {
            problems.push(format!(
                "GET /Users shows {id} as {found:?} v{version:?} in groups {groups:?}; acknowledged {:?} v{} in {:?}",
                u.doc,
                u.version,
                w.groups_of(id)
            ));
        }
    }
    for id in want_users.keys() {
        problems.push(format!("GET /Users misses acknowledged user {id}"));
    }
    for doc in &groups {
        let id = doc["id"].as_str().unwrap_or_default();
        let Some(g) = want_groups.remove(id) else {
            problems.push(format!(
                "GET /Groups lists {id}, which no acknowledged write leaves: {doc}"
            ));
            continue;
        };
        let found = GroupDoc::read(doc);
        let version = body_version(doc);
        if found != g.doc || version != Some(g.version) {
            problems.push(format!(
                "GET /Groups shows {id} as {found:?} v{version:?}; acknowledged {:?} v{}",
                g.doc, g.version
            ));
        }
    }
    for id in want_groups.keys() {
        problems.push(format!("GET /Groups misses acknowledged group {id}"));
    }
    for id in gone {
        let r = client::send(
            &agent,
            "GET",
            &format!("{origin}{SCIM}/Users/{id}"),
            token,
            None,
            None,
        )?;
        if r.status != 404 {
            problems.push(format!("deleted user {id}: GET answers {r:?}"));
        }
    }
    Ok(problems)
}
