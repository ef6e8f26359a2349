//! The RFC 7643 §8.7.1 definitions of User, Group and the Enterprise User extension, plus the
//! common attributes (§3.1) that every resource carries but no schema lists.

use super::{AttrType::*, AttributeDef as A, Mutability::*, Returned, Schema, Uniqueness, urn};

/// `value`/`display`/`type`/`primary`/`$ref` sub-attributes shared by the plural attributes.
fn plural(value_ty: super::AttrType, types: &[&str], value_desc: &str) -> Vec<A> {
    vec![
        A::new("value", value_ty).desc(value_desc),
        A::new("display", String)
            .desc("A human-readable name, primarily used for display purposes."),
        A::new("type", String)
            .desc("A label indicating the attribute's function.")
            .canonical(types),
        A::new("primary", Boolean)
            .desc("Indicates the 'primary' or preferred attribute value for this attribute."),
    ]
}

fn member_ref(kinds: &[&str], mutability: super::Mutability) -> Vec<A> {
    vec![
        A::new("value", String)
            .desc("The identifier of the referenced resource.")
            // caseExact, unlike RFC 7643 §8.7.1: the value is a server `id`, and ids are
            // caseExact (§3.1); folding them would let `E1` reach member `e1`.
            .case_exact()
            .mutability(mutability),
        A::new("$ref", Reference)
            .desc("The URI of the referenced resource.")
            .mutability(mutability)
            .refs(kinds),
        A::new("display", String)
            .desc("A human-readable name, primarily used for display purposes.")
            .mutability(mutability),
        A::new("type", String)
            .desc("The type of the referenced resource.")
            .mutability(mutability)
            .canonical(kinds),
    ]
}

/// `id`, `externalId` and `meta`: resolvable in filters, sorting and projection on every
/// resource type, never published inside a schema (RFC 7643 §3.1).
pub fn common_attributes() -> Vec<A> {
    vec![
        A::new("id", String)
            .desc("A unique identifier for a SCIM resource as defined by the service provider.")
            .case_exact()
            .mutability(ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        A::new("externalId", String)
            .desc("An identifier for the resource as defined by the provisioning client.")
            .case_exact(),
        A::new("meta", Complex)
            .desc("Resource metadata.")
            .mutability(ReadOnly)
            .subs(vec![
                A::new("resourceType", String)
                    .case_exact()
                    .mutability(ReadOnly),
                A::new("created", DateTime).mutability(ReadOnly),
                A::new("lastModified", DateTime).mutability(ReadOnly),
                A::new("location", Reference)
                    .case_exact()
                    .mutability(ReadOnly),
                A::new("version", String).case_exact().mutability(ReadOnly),
            ])
            .mutability(ReadOnly),
    ]
}

/// The core User schema.
pub fn user_schema() -> Schema {
    let name = A::new("name", Complex)
        .desc("The components of the user's real name.")
        .subs(vec![
            A::new("formatted", String).desc("The full name, formatted for display."),
            A::new("familyName", String).desc("The family name of the User."),
            A::new("givenName", String).desc("The given name of the User."),
            A::new("middleName", String).desc("The middle name(s) of the User."),
            A::new("honorificPrefix", String).desc("The honorific prefix(es) of the User."),
            A::new("honorificSuffix", String).desc("The honorific suffix(es) of the User."),
        ]);
    let address = A::new("addresses", Complex)
        .multi()
        .desc("A physical mailing address for this User.")
        .subs(vec![
            A::new("formatted", String).desc("The full mailing address, formatted for display."),
            A::new("streetAddress", String).desc("The full street address component."),
            A::new("locality", String).desc("The city or locality component."),
            A::new("region", String).desc("The state or region component."),
            A::new("postalCode", String).desc("The zip code or postal code component."),
            A::new("country", String).desc("The country name component."),
            A::new("type", String)
                .desc("A label indicating the attribute's function.")
                .canonical(&["work", "home", "other"]),
            A::new("primary", Boolean).desc("Indicates the primary mailing address."),
        ]);
    let groups = A::new("groups", Complex)
        .multi()
        .mutability(ReadOnly)
        .desc("A list of groups to which the user belongs, maintained by the service provider.")
        .subs(
            member_ref(&["User", "Group"], ReadOnly)
                .into_iter()
                .map(|a| {
                    if a.name == "type" {
                        a.canonical(&["direct", "indirect"])
                    } else {
                        a
                    }
                })
                .collect(),
        );
    let x509 = A::new("x509Certificates", Complex)
        .multi()
        .desc("A list of certificates issued to the User.")
        .subs(plural(Binary, &[], "The value of an X.509 certificate."));
    Schema {
        id: urn::USER.to_string(),
        name: "User".to_string(),
        description: "User Account".to_string(),
        attributes: vec![
            A::new("userName", String)
                .required()
                .uniqueness(Uniqueness::Server)
                .desc("Unique identifier for the User, typically used by the user to directly authenticate to the service provider."),
            name,
            A::new("displayName", String).desc("The name of the User, suitable for display to end-users."),
            A::new("nickName", String).desc("The casual way to address the user in real life."),
            A::new("profileUrl", Reference).refs(&["external"]).desc("A fully qualified URL pointing to a page representing the User's online profile."),
            A::new("title", String).desc("The user's title, such as \"Vice President\"."),
            A::new("userType", String).desc("Used to identify the relationship between the organization and the user."),
            A::new("preferredLanguage", String).desc("Indicates the User's preferred written or spoken language."),
            A::new("locale", String).desc("Used to indicate the User's default location for purposes of localizing items."),
            A::new("timezone", String).desc("The User's time zone in the 'Olson' time zone database format."),
            A::new("active", Boolean).desc("A Boolean value indicating the User's administrative status."),
            A::new("password", String)
                .mutability(WriteOnly)
                .returned(Returned::Never)
                .desc("The User's cleartext password, used to set or replace it; never returned."),
            A::new("emails", Complex).multi().desc("Email addresses for the user.").subs(plural(String, &["work", "home", "other"], "Email addresses for the user.")),
            A::new("phoneNumbers", Complex).multi().desc("Phone numbers for the User.").subs(plural(String, &["work", "home", "mobile", "fax", "pager", "other"], "Phone number of the User.")),
            A::new("ims", Complex).multi().desc("Instant messaging addresses for the User.").subs(plural(String, &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"], "Instant messaging address for the User.")),
            A::new("photos", Complex).multi().desc("URLs of photos of the User.").subs(
                plural(Reference, &["photo", "thumbnail"], "URL of a photo of the User.")
                    .into_iter()
                    .map(|a| if a.name == "value" { a.refs(&["external"]) } else { a })
                    .collect(),
            ),
            address,
            groups,
            A::new("entitlements", Complex).multi().desc("A list of entitlements for the User.").subs(plural(String, &[], "The value of an entitlement.")),
            A::new("roles", Complex).multi().desc("A list of roles for the User.").subs(plural(String, &[], "The value of a role.")),
            x509,
        ],
    }
}

/// The core Group schema.
pub fn group_schema() -> Schema {
    Schema {
        id: urn::GROUP.to_string(),
        name: "Group".to_string(),
        description: "Group".to_string(),
        attributes: vec![
            A::new("displayName", String)
                .required()
                .uniqueness(Uniqueness::Server)
                .desc("A human-readable name for the Group."),
            A::new("members", Complex)
                .multi()
                .desc("A list of members of the Group.")
                .subs(member_ref(&["User", "Group"], Immutable)),
        ],
    }
}

/// The Enterprise User extension (RFC 7643 §4.3).
pub fn enterprise_user_schema() -> Schema {
    Schema {
        id: urn::ENTERPRISE_USER.to_string(),
        name: "EnterpriseUser".to_string(),
        description: "Enterprise User".to_string(),
        attributes: vec![
            A::new("employeeNumber", String)
                .desc("Numeric or alphanumeric identifier assigned to a person."),
            A::new("costCenter", String).desc("Identifies the name of a cost center."),
            A::new("organization", String).desc("Identifies the name of an organization."),
            A::new("division", String).desc("Identifies the name of a division."),
            A::new("department", String).desc("Identifies the name of a department."),
            A::new("manager", Complex)
                .desc("The User's manager.")
                .subs(vec![
                    A::new("value", String)
                        .case_exact()
                        .desc("The id of the SCIM resource representing the User's manager."),
                    A::new("$ref", Reference)
                        .refs(&["User"])
                        .desc("The URI of the SCIM resource representing the User's manager."),
                    A::new("displayName", String)
                        .mutability(ReadOnly)
                        .desc("The displayName of the User's manager."),
                ]),
        ],
    }
}
