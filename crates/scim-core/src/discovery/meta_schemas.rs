//! The schemas that describe the discovery resources themselves (RFC 7643 §8.7.2): the
//! ServiceProviderConfig, ResourceType and Schema schemas.
//!
//! They are transcribed from the RFC with its known gaps closed, because clients that read
//! `/Schemas` to learn the discovery documents should find every attribute those documents
//! really carry: the ServiceProviderConfig schema lists `etag` and the `type` and `primary`
//! sub-attributes of `authenticationSchemes`; `schemaExtensions` and `referenceTypes` are
//! multi-valued; the attribute `type` canonical values include `binary` (RFC 7643 §2.3.6).

use crate::schema::{AttrType, AttributeDef, Mutability, Schema, urn};

/// A readOnly attribute: everything in a discovery document is set by the service provider.
fn ro(name: &str, ty: AttrType, desc: &str) -> AttributeDef {
    AttributeDef::new(name, ty)
        .desc(desc)
        .mutability(Mutability::ReadOnly)
}

/// `{ "supported": bool, …extra }`: the shape of every ServiceProviderConfig feature.
fn feature(name: &str, desc: &str, extra: Vec<AttributeDef>) -> AttributeDef {
    let mut subs = vec![
        ro(
            "supported",
            AttrType::Boolean,
            "A Boolean value specifying whether or not the operation is supported.",
        )
        .required(),
    ];
    subs.extend(extra);
    ro(name, AttrType::Complex, desc).required().subs(subs)
}

/// The ServiceProviderConfig schema (`urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig`).
pub fn service_provider_config_schema() -> Schema {
    let limit = |name: &str, desc: &str| ro(name, AttrType::Integer, desc).required();
    let auth_schemes = ro(
        "authenticationSchemes",
        AttrType::Complex,
        "A complex type that specifies supported authentication scheme properties.",
    )
    .multi()
    .required()
    .subs(vec![
        ro(
            "type",
            AttrType::String,
            "The authentication scheme, e.g., 'oauthbearertoken' or 'httpbasic'.",
        )
        .required()
        .canonical(&[
            "oauth",
            "oauth2",
            "oauthbearertoken",
            "httpbasic",
            "httpdigest",
        ]),
        ro(
            "name",
            AttrType::String,
            "The common authentication scheme name, e.g., HTTP Basic.",
        )
        .required(),
        ro(
            "description",
            AttrType::String,
            "A description of the authentication scheme.",
        )
        .required(),
        ro(
            "specUri",
            AttrType::Reference,
            "An HTTP-addressable URL pointing to the authentication scheme's specification.",
        )
        .refs(&["external"]),
        ro(
            "documentationUri",
            AttrType::Reference,
            "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.",
        )
        .refs(&["external"]),
        ro(
            "primary",
            AttrType::Boolean,
            "Whether this is the preferred authentication scheme.",
        ),
    ]);
    Schema {
        id: urn::SERVICE_PROVIDER_CONFIG.to_string(),
        name: "Service Provider Configuration".to_string(),
        description: "Schema for representing the service provider's configuration".to_string(),
        attributes: vec![
            ro(
                "documentationUri",
                AttrType::Reference,
                "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.",
            )
            .refs(&["external"]),
            feature(
                "patch",
                "A complex type that specifies PATCH configuration options.",
                vec![],
            ),
            feature(
                "bulk",
                "A complex type that specifies bulk configuration options.",
                vec![
                    limit(
                        "maxOperations",
                        "An integer value specifying the maximum number of operations.",
                    ),
                    limit(
                        "maxPayloadSize",
                        "An integer value specifying the maximum payload size in bytes.",
                    ),
                ],
            ),
            feature(
                "filter",
                "A complex type that specifies FILTER options.",
                vec![limit(
                    "maxResults",
                    "An integer value specifying the maximum number of resources returned in a response.",
                )],
            ),
            feature(
                "changePassword",
                "A complex type that specifies configuration options related to changing a password.",
                vec![],
            ),
            feature(
                "sort",
                "A complex type that specifies sort result options.",
                vec![],
            ),
            feature(
                "etag",
                "A complex type that specifies ETag configuration options.",
                vec![],
            ),
            auth_schemes,
        ],
    }
}

/// The ResourceType schema (`urn:ietf:params:scim:schemas:core:2.0:ResourceType`).
pub fn resource_type_schema() -> Schema {
    Schema {
        id: urn::RESOURCE_TYPE.to_string(),
        name: "ResourceType".to_string(),
        description: "Specifies the schema that describes a SCIM resource type".to_string(),
        attributes: vec![
            ro(
                "id",
                AttrType::String,
                "The resource type's server unique id. May be the same as the 'name' attribute.",
            ),
            ro(
                "name",
                AttrType::String,
                "The resource type name. When applicable, service providers MUST specify the name, e.g., 'User'.",
            )
            .required(),
            ro(
                "description",
                AttrType::String,
                "The resource type's human-readable description.",
            ),
            ro(
                "endpoint",
                AttrType::Reference,
                "The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.",
            )
            .required()
            .refs(&["uri"]),
            ro(
                "schema",
                AttrType::Reference,
                "The resource type's primary/base schema URI.",
            )
            .required()
            .case_exact()
            .refs(&["uri"]),
            ro(
                "schemaExtensions",
                AttrType::Complex,
                "A list of URIs of the resource type's schema extensions.",
            )
            .multi()
            .subs(vec![
                ro(
                    "schema",
                    AttrType::Reference,
                    "The URI of a schema extension.",
                )
                .required()
                .case_exact()
                .refs(&["uri"]),
                ro(
                    "required",
                    AttrType::Boolean,
                    "Whether a resource of this type must include this schema extension.",
                )
                .required(),
            ]),
        ],
    }
}

/// The characteristics of one attribute definition (RFC 7643 §7); `nested` adds the
/// `subAttributes` level, which the RFC describes two levels deep.
fn characteristics(nested: bool) -> Vec<AttributeDef> {
    let keyword = |name: &str, desc: &str, values: &[&str]| {
        ro(name, AttrType::String, desc)
            .case_exact()
            .canonical(values)
    };
    let mut attrs = vec![
        ro("name", AttrType::String, "The attribute's name.")
            .required()
            .case_exact(),
        ro(
            "type",
            AttrType::String,
            "The attribute's data type.",
        )
        .required()
        .canonical(&[
            "string",
            "complex",
            "boolean",
            "decimal",
            "integer",
            "dateTime",
            "reference",
            "binary",
        ]),
        ro(
            "multiValued",
            AttrType::Boolean,
            "A Boolean value indicating an attribute's plurality.",
        )
        .required(),
        ro(
            "description",
            AttrType::String,
            "A human-readable description of the attribute.",
        )
        .case_exact(),
        ro(
            "required",
            AttrType::Boolean,
            "A Boolean value indicating whether or not the attribute is required.",
        ),
        ro(
            "canonicalValues",
            AttrType::String,
            "A collection of suggested canonical values, e.g., 'work', 'home'.",
        )
        .multi()
        .case_exact(),
        ro(
            "caseExact",
            AttrType::Boolean,
            "A Boolean value indicating whether or not a string attribute is case sensitive.",
        ),
        keyword(
            "mutability",
            "Indicates whether or not an attribute is modifiable.",
            &["readOnly", "readWrite", "immutable", "writeOnly"],
        ),
        keyword(
            "returned",
            "Indicates when an attribute is returned in a response (e.g., to a query).",
            &["always", "never", "default", "request"],
        ),
        keyword(
            "uniqueness",
            "Indicates how unique a value must be.",
            &["none", "server", "global"],
        ),
        ro(
            "referenceTypes",
            AttrType::String,
            "Used only with an attribute of type 'reference'. Specifies a SCIM resourceType that a reference attribute MAY refer to, e.g., 'User'.",
        )
        .multi()
        .case_exact(),
    ];
    if nested {
        attrs.push(
            ro(
                "subAttributes",
                AttrType::Complex,
                "Used to define the sub-attributes of a complex attribute.",
            )
            .multi()
            .subs(characteristics(false)),
        );
    }
    attrs
}

/// The Schema schema (`urn:ietf:params:scim:schemas:core:2.0:Schema`).
pub fn schema_schema() -> Schema {
    Schema {
        id: urn::SCHEMA.to_string(),
        name: "Schema".to_string(),
        description: "Specifies the schema that describes a SCIM schema".to_string(),
        attributes: vec![
            ro(
                "id",
                AttrType::String,
                "The unique URI of the schema. When applicable, service providers MUST specify the URI.",
            )
            .required(),
            ro(
                "name",
                AttrType::String,
                "The schema's human-readable name, e.g., 'User'.",
            )
            .required(),
            ro(
                "description",
                AttrType::String,
                "The schema's human-readable description.",
            ),
            ro(
                "attributes",
                AttrType::Complex,
                "A complex attribute that includes the attributes of a schema.",
            )
            .multi()
            .required()
            .subs(characteristics(true)),
        ],
    }
}

/// The three discovery schemas, in the order `/Schemas` lists them after the resource schemas.
pub fn meta_schemas() -> Vec<Schema> {
    vec![
        service_provider_config_schema(),
        resource_type_schema(),
        schema_schema(),
    ]
}
