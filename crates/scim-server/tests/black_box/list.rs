//! Lists and searches: `GET /Users` and `/Groups` with filter, sortBy, sortOrder, startIndex,
//! count, attributes and excludedAttributes; `POST /Users/.search`, `/Groups/.search`,
//! `/.search`.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::{Server, assert_scim_json, each_backend, id_of, resources, urn, user_body};

/// Ids of a list page, in order.
fn ids(list: &Value) -> Vec<String> {
    resources(list).iter().map(id_of).collect()
}

/// GET a list and check its envelope.
#[track_caller]
fn list(srv: &Server, path: &str) -> Value {
    let r = srv.get(path);
    assert_eq!(r.status, 200, "GET {path}: {r:?}");
    assert_scim_json(&r);
    let l = r.json();
    assert_eq!(l["schemas"], json!([urn::LIST]), "{l}");
    assert!(l["Resources"].is_array(), "Resources missing: {l}");
    assert_eq!(
        l["itemsPerPage"],
        json!(resources(&l).len()),
        "itemsPerPage disagrees with Resources: {path}"
    );
    l
}

#[test]
fn okta_import_pages_through_250_users_in_stable_order() {
    each_backend(|srv: &Server| {
        // Created from four threads at once, as a busy provider would.
        let created: HashSet<String> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|w| {
                    s.spawn(move || {
                        (0..250)
                            .filter(|i| i % 4 == w)
                            .map(|i| id_of(&srv.create_user(&format!("user{i:03}@example.com"))))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|h| h.join().expect("creator thread"))
                .collect()
        });
        assert_eq!(created.len(), 250);

        // Okta's test connection, then its import loop.
        let probe = list(srv, "/Users?startIndex=1&count=2");
        assert_eq!(probe["totalResults"], json!(250), "{probe}");
        assert_eq!(probe["itemsPerPage"], json!(2));
        let mut seen: Vec<String> = Vec::new();
        let mut start = 1;
        let mut pages = 0;
        loop {
            let page = list(srv, &format!("/Users?startIndex={start}&count=100"));
            assert_eq!(page["totalResults"], json!(250), "page at {start}");
            assert_eq!(page["startIndex"], json!(start), "page at {start}");
            let want = (250 - (start - 1)).min(100);
            assert_eq!(page["itemsPerPage"], json!(want), "page at {start}");
            // Each user comes with what Okta imports.
            for u in resources(&page) {
                assert!(
                    u["userName"].is_string() && u["meta"]["location"].is_string(),
                    "{u}"
                );
                assert!(u.get("password").is_none(), "{u}");
            }
            seen.extend(ids(&page));
            pages += 1;
            start += 100;
            if start > 250 {
                break;
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 250);
        let unique: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique, created, "paging lost or repeated users");

        // The same pages again, in the same order; and a window across a page boundary.
        let again: Vec<String> = [1, 101, 201]
            .iter()
            .flat_map(|s| ids(&list(srv, &format!("/Users?startIndex={s}&count=100"))))
            .collect();
        assert_eq!(again, seen, "order is not stable between reads");
        let window = ids(&list(srv, "/Users?startIndex=95&count=10"));
        assert_eq!(window, seen[94..104].to_vec());

        // Without count, the default page is 100.
        let default = list(srv, "/Users");
        assert_eq!(default["itemsPerPage"], json!(100));
        assert_eq!(default["startIndex"], json!(1));

        // count=0: only the total. Past the end: empty. startIndex below 1 means 1.
        let zero = list(srv, "/Users?count=0");
        assert_eq!(zero["totalResults"], json!(250));
        assert_eq!(zero["itemsPerPage"], json!(0));
        let past = list(srv, "/Users?startIndex=251&count=100");
        assert_eq!(past["totalResults"], json!(250));
        assert!(resources(&past).is_empty());
        let low = list(srv, "/Users?startIndex=0&count=3");
        assert_eq!(low["startIndex"], json!(1), "{low}");
        assert_eq!(ids(&low), seen[..3].to_vec());
        // More than the maximum is clamped, not refused.
        let big = list(srv, "/Users?count=5000");
        assert_eq!(big["itemsPerPage"], json!(250));
    });
}

#[test]
fn filters_as_okta_and_entra_send_them() {
    each_backend(|srv: &Server| {
        let mut jo = user_body("Jo.Young@Example.com");
        jo["externalId"] = json!("jyoung");
        jo[urn::ENTERPRISE] = json!({"employeeNumber": "42"});
        jo["schemas"] = json!([urn::USER, urn::ENTERPRISE]);
        let jo = srv.post("/Users", &jo).json();
        let jo_id = id_of(&jo);
        srv.create_user("someone@example.com");

        // Okta's existence check, URL-encoded with `+` for spaces, in another case.
        let l = list(
            srv,
            "/Users?filter=userName+eq+%22jo.young%40example.com%22&startIndex=1&count=100",
        );
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        let l = list(
            srv,
            "/Users?filter=userName%20eq%20%22JO.YOUNG%40EXAMPLE.COM%22",
        );
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        // Entra: externalId (case-exact), email valuePath, enterprise URN path.
        let l = list(srv, "/Users?filter=externalId%20eq%20%22jyoung%22");
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        let l = list(srv, "/Users?filter=externalId%20eq%20%22JYOUNG%22");
        assert!(ids(&l).is_empty(), "externalId is caseExact: {l}");
        let l = list(
            srv,
            "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22jo.young%40example.com%22",
        );
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        let l = list(
            srv,
            &format!(
                "/Users?filter={}:employeeNumber%20eq%20%2242%22",
                urn::ENTERPRISE
            ),
        );
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        // Entra's legacy reference check: `and`, with attributes=id.
        let l = list(
            srv,
            &format!(
                "/Users?filter=id%20eq%20%22{jo_id}%22%20and%20active%20eq%20true&attributes=id"
            ),
        );
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        let only = &resources(&l)[0];
        assert!(
            only.get("userName").is_none() && only.get("emails").is_none(),
            "{only}"
        );
        // Entra's Test Connection: a random GUID matches nothing, 200 with an empty list.
        let probe = format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            "3f0c4d2e-6a5b-4c8d-9e7f-0a1b2c3d4e5f"
        );
        let l = list(srv, &probe);
        assert_eq!(l["totalResults"], json!(0), "{l}");
        assert!(resources(&l).is_empty());
        let l = list(
            srv,
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22nobody%22",
        );
        assert_eq!(l["totalResults"], json!(0), "{l}");
        // Other operators, and a filter on a string boolean (clients.md E22).
        let l = list(srv, "/Users?filter=userName%20sw%20%22jo%22");
        assert_eq!(ids(&l), vec![jo_id.clone()], "{l}");
        let l = list(srv, "/Users?filter=active%20eq%20%22True%22");
        assert_eq!(l["totalResults"], json!(2), "{l}");
        let l = list(srv, "/Users?filter=not%20(userName%20co%20%22young%22)");
        assert_eq!(l["totalResults"], json!(1), "{l}");
    });
}

#[test]
fn sort_and_project() {
    each_backend(|srv: &Server| {
        for name in ["carol@x.example", "alice@x.example", "Bob@x.example"] {
            srv.create_user(name);
        }
        let names = |l: &Value| -> Vec<String> {
            resources(l)
                .iter()
                .map(|u| u["userName"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let asc = list(srv, "/Users?sortBy=userName");
        assert_eq!(
            names(&asc),
            ["alice@x.example", "Bob@x.example", "carol@x.example"]
        );
        let desc = list(srv, "/Users?sortBy=userName&sortOrder=descending");
        assert_eq!(
            names(&desc),
            ["carol@x.example", "Bob@x.example", "alice@x.example"]
        );
        let paged = list(
            srv,
            "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1",
        );
        assert_eq!(names(&paged), ["Bob@x.example"]);

        let l = list(srv, "/Users?attributes=userName,name.givenName&count=1");
        let u = &resources(&l)[0];
        assert!(u["id"].is_string() && u["userName"].is_string(), "{u}");
        assert!(u["name"]["givenName"].is_string(), "{u}");
        assert!(u["name"].get("familyName").is_none(), "{u}");
        assert!(
            u.get("emails").is_none() && u.get("active").is_none(),
            "{u}"
        );
        let l = list(srv, "/Users?excludedAttributes=emails,name&count=1");
        let u = &resources(&l)[0];
        assert!(u.get("emails").is_none() && u.get("name").is_none(), "{u}");
        assert!(u["userName"].is_string() && u["id"].is_string(), "{u}");
        // id can't be excluded (returned: always).
        let l = list(srv, "/Users?excludedAttributes=id&count=1");
        assert!(resources(&l)[0]["id"].is_string(), "{l}");
    });
}

#[test]
fn search_endpoints() {
    each_backend(|srv: &Server| {
        let a = id_of(&srv.create_user("s1@example.com"));
        let b = id_of(&srv.create_user("s2@example.com"));
        let g = id_of(&srv.create_group("Searchers", &[&a]));
        let search = |path: &str, body: Value| -> Value {
            let r = srv.post(path, &body);
            assert_eq!(r.status, 200, "POST {path}: {r:?}");
            assert_scim_json(&r);
            let l = r.json();
            assert_eq!(l["schemas"], json!([urn::LIST]), "{l}");
            l
        };
        let l = search(
            "/Users/.search",
            json!({"schemas": [urn::SEARCH], "filter": "userName eq \"S2@example.com\"",
                   "attributes": ["userName"], "startIndex": 1, "count": 10}),
        );
        assert_eq!(ids(&l), vec![b.clone()], "{l}");
        assert!(resources(&l)[0].get("emails").is_none(), "{l}");
        let l = search(
            "/Users/.search",
            json!({"schemas": [urn::SEARCH], "sortBy": "userName", "sortOrder": "descending"}),
        );
        assert_eq!(ids(&l), vec![b.clone(), a.clone()], "{l}");
        let l = search(
            "/Groups/.search",
            json!({"schemas": [urn::SEARCH], "filter": "displayName eq \"searchers\"",
                   "excludedAttributes": ["members"]}),
        );
        assert_eq!(ids(&l), vec![g.clone()], "{l}");
        assert!(resources(&l)[0].get("members").is_none(), "{l}");
        let l = search(
            "/Groups/.search",
            json!({"schemas": [urn::SEARCH], "filter": format!("members.value eq \"{a}\"")}),
        );
        assert_eq!(ids(&l), vec![g.clone()], "{l}");

        // Root search: users and groups in one list, paged over both.
        let l = search("/.search", json!({"schemas": [urn::SEARCH]}));
        assert_eq!(l["totalResults"], json!(3), "{l}");
        let mut all = ids(&l);
        all.sort();
        let mut want = vec![a.clone(), b.clone(), g.clone()];
        want.sort();
        assert_eq!(all, want);
        let l = search(
            "/.search",
            json!({"schemas": [urn::SEARCH], "startIndex": 2, "count": 2}),
        );
        assert_eq!(l["totalResults"], json!(3), "{l}");
        assert_eq!(l["itemsPerPage"], json!(2), "{l}");
        let l = search(
            "/.search",
            json!({"schemas": [urn::SEARCH], "filter": "displayName eq \"Searchers\""}),
        );
        assert_eq!(ids(&l), vec![g.clone()], "{l}");
        let l = search(
            "/.search/",
            json!({"schemas": [urn::SEARCH], "filter": "userName eq \"s1@example.com\""}),
        );
        assert_eq!(ids(&l), vec![a.clone()], "{l}");
        // GET on a search path is not a thing.
        crate::common::assert_scim_error(&srv.get("/Users/.search"), 405, None);
    });
}

#[test]
fn pages_far_into_a_list_agree_with_the_filtered_path() {
    // Past 1 000 entries an unfiltered page starts from a page mark (the key at every 100th
    // position); a filter that matches everyone still pages with OFFSET, in the same order.
    each_backend(|srv: &Server| {
        for batch in 0..2 {
            let ops: Vec<Value> = (0..650)
                .map(|i| {
                    json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                           "data": user_body(&format!("far{batch}-{i:04}@example.com"))})
                })
                .collect();
            let r = srv.post(
                "/Bulk",
                &json!({"schemas": [urn::BULK_REQUEST], "Operations": ops}),
            );
            assert_eq!(r.status, 200, "{r:?}");
        }
        for start in [1001, 1050, 1101, 1250, 1299, 1301] {
            let plain = list(srv, &format!("/Users?startIndex={start}&count=100"));
            let filtered = list(
                srv,
                &format!("/Users?startIndex={start}&count=100&filter=userName%20pr"),
            );
            assert_eq!(plain["totalResults"], json!(1300), "{}", srv.backend);
            assert_eq!(
                ids(&plain),
                ids(&filtered),
                "startIndex={start} on {}",
                srv.backend
            );
            assert_eq!(plain["startIndex"], json!(start));
        }
        // Twice: the second read uses the marks the first one read.
        let a = list(srv, "/Users?startIndex=1201&count=50");
        let b = list(srv, "/Users?startIndex=1201&count=50");
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(resources(&a).len(), 50);
    });
}
