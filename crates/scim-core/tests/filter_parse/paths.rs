//! PATCH paths through `parse_path`, valid and invalid.

use super::*;

#[test]
fn patch_paths() {
    check_path("members", "members");
    check_path("Members", "Members");
    check_path("name.familyName", "name.familyName");
    check_path("displayName", "displayName");
    check_path("active", "active");
    check_path("nickName", "nickName");
    check_path("  externalId  ", "externalId");
    check_path(
        r#"members[value eq "2819c223"]"#,
        r#"members[value eq "2819c223"]"#,
    );
    check_path(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
    );
    check_path(
        r#"roles[primary eq "True"].display"#,
        r#"roles[primary eq "True"].display"#,
    );
    check_path(
        r#"roles[primary eq "True"].value"#,
        r#"roles[primary eq "True"].value"#,
    );
    check_path(
        r#"addresses[type eq "work"].locality"#,
        r#"addresses[type eq "work"].locality"#,
    );
    check_path(
        r#"addresses[type eq "work"]"#,
        r#"addresses[type eq "work"]"#,
    );
    check_path(
        r#"addresses[primary eq true].country"#,
        "addresses[primary eq true].country",
    );
    check_path(
        r#"emails[type eq "work"].value"#,
        r#"emails[type eq "work"].value"#,
    );
    check_path(
        r#"emails[type eq "work" and value ew "example.com"]"#,
        r#"emails[(type eq "work" and value ew "example.com")]"#,
    );
    check_path(
        r#"phoneNumbers[type eq "mobile"].value"#,
        r#"phoneNumbers[type eq "mobile"].value"#,
    );
    check_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        &format!("<{ENT}>manager"),
    );
    check_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        &format!("<{ENT}>employeeNumber"),
    );
    check_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        &format!("<{ENT}>manager.value"),
    );
    check_path(
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
        &format!("<{CORE}>name.givenName"),
    );
    check_path(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#,
        &format!(r#"<{CORE}>emails[type eq "work"].value"#),
    );
    check_path(
        r#"emails[not (type eq "home")]"#,
        r#"emails[not(type eq "home")]"#,
    );
    check_path(r#"members[value eq x]"#, r#"members[value eq "x"]"#);
    check_path("$ref", "$ref");

    check_path_err("", "expected an attribute path");
    check_path_err("   ", "expected an attribute path");
    check_path_err(
        r#"name.givenName[value eq "x"]"#,
        "write \"name[...].givenName\"",
    );
    check_path_err(r#"emails[type eq "work""#, "never closed");
    check_path_err(
        r#"emails[type eq "work"]value"#,
        "unexpected trailing input",
    );
    check_path_err(
        r#"emails[type eq "work"].1value"#,
        "is not a sub-attribute name",
    );
    check_path_err(
        r#"emails[type eq "work"].value.x"#,
        "is not a sub-attribute name",
    );
    check_path_err(
        r#"emails[type eq "work"].value eq "x""#,
        "unexpected trailing input",
    );
    check_path_err(r#"emails[]"#, "expected an attribute expression");
    check_path_err(
        r#"emails[type eq "work"][x pr]"#,
        "unexpected trailing input",
    );
    check_path_err(r#"emails[type[x pr]]"#, "can't be nested");
    check_path_err(r#"userName eq "x""#, "unexpected trailing input");
    check_path_err("a.b.c", "is not a sub-attribute name");
    check_path_err("1abc", "is not an attribute name");
    check_path_err("name.", "is not a sub-attribute name");
    check_path_err("(members)", "expected an attribute path");
    check_path_err(r#""members""#, "expected an attribute path");
    check_path_err("members extra", "unexpected trailing input");
    check_path_err(r#"emails[type eq "work"]]"#, "unbalanced bracket");
    check_path_err(
        r#"emails[name.givenName pr]"#,
        "name a sub-attribute directly",
    );
    // The detail names the byte offset.
    check_path_err(r#"members[value eq "x"#, "at byte 17");
}
