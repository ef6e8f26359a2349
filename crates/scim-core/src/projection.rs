//! Attribute projection (`attributes`, `excludedAttributes`) honouring `returned`
//! (RFC 7643 §7, RFC 7644 §3.4.2.5 and §3.9).
//!
//! Projection runs on every response, so names are resolved once, in [`Projection::new`], into
//! a small tree of keep/drop decisions keyed by canonical attribute names; [`Projection::apply`]
//! then only walks the document and copies what the tree keeps.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::path::{AttrPath, split_urn};
use crate::schema::{AttrType, AttributeDef, ResolvedKey, ResourceType, Returned, SchemaRegistry};

/// Which attributes of a resource a response carries, decided once per request.
///
/// Rules: `always` attributes (`id`, and `schemas`) are returned even when excluded; `never`
/// attributes (`password`) are never returned, not even when named; `default` attributes are
/// returned unless excluded, or unless `attributes` is given and does not name them (or one of
/// their sub-attributes); `request` attributes only when named themselves (naming their parent
/// or their extension URN returns the parent's default view, without them). Naming a sub-attribute
/// (`name.givenName`, `emails.value`, `meta.lastModified`) keeps only that part of the parent
/// (in every element, for multi-valued parents); naming an extension URN keeps or drops the
/// whole extension object. Extension objects left empty are removed, and their URNs are pruned
/// from `schemas`. Complex values or elements left empty are removed too.
#[derive(Debug, Clone)]
pub struct Projection {
    root: Plan,
    /// Extension URNs of the resource type, to prune from `schemas` when their object is gone.
    extensions: Vec<String>,
}

/// What a [`Projection`] does with one top-level key of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlan {
    /// The value is returned exactly as it is.
    Keep,
    /// The key is left out.
    Drop,
    /// Only parts of the value are returned; [`Projection::apply`] must walk it.
    Partial,
}

/// What to do with one value.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    /// Copy it whole.
    Keep,
    /// Leave it out.
    Drop,
    /// Keep only some keys of the object (of each element, for arrays).
    Fields {
        /// Decisions per canonical key.
        fields: Vec<(String, Plan)>,
        /// Whether keys the schema doesn't declare are copied.
        keep_unknown: bool,
    },
}

/// Whether the request named attributes to return or attributes to leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Include,
    Exclude,
}

/// The names a request listed, as a tree of canonical names.
#[derive(Debug, Default)]
struct Named {
    whole: bool,
    children: Vec<(String, Named)>,
}

impl Named {
    /// Marks `path` (canonical names from the root) as named whole.
    fn mark(&mut self, path: &[&str]) {
        let Some((first, rest)) = path.split_first() else {
            self.whole = true;
            return;
        };
        if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == first) {
            child.mark(rest);
            return;
        }
        let mut child = Named::default();
        child.mark(rest);
        self.children.push((first.to_string(), child));
    }
}

/// How much of a node the request named.
#[derive(Debug, Clone, Copy)]
enum State<'a> {
    /// Neither it nor an ancestor was named.
    Unnamed,
    /// Named itself, as a whole.
    Whole,
    /// An ancestor was named as a whole. Differs from `Whole` for `request` attributes, which
    /// must be named themselves.
    Inherited,
    /// Some of its descendants were named.
    Partly(&'a Named),
}

impl<'a> State<'a> {
    fn child(self, name: &str) -> State<'a> {
        match self {
            State::Unnamed => State::Unnamed,
            State::Whole | State::Inherited => State::Inherited,
            State::Partly(n) => match n.children.iter().find(|(c, _)| c == name) {
                None => State::Unnamed,
                Some((_, c)) if c.whole => State::Whole,
                Some((_, c)) => State::Partly(c),
            },
        }
    }
}

impl Projection {
    /// Builds the projection for a resource type from the `attributes` and
    /// `excludedAttributes` parameters. Each list entry may itself be comma-separated.
    ///
    /// RFC 7644 says the two parameters are alternatives; when both arrive, `attributes` takes
    /// precedence and `excludedAttributes` is ignored. Well-formed names the resource type
    /// doesn't know are ignored (RFC 7644 §3.9 leaves this to the provider, and failing a read
    /// over a name we'd never return helps nobody). Malformed names (`"name..x"`, `"1abc"`)
    /// are an `invalidValue` error, since the client has a typo to fix.
    pub fn new(
        registry: &SchemaRegistry,
        rt: &ResourceType,
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Self> {
        let (mode, list) = if has_names(attributes) {
            (Mode::Include, attributes)
        } else {
            (Mode::Exclude, excluded)
        };
        let mut named = Named::default();
        for entry in list.iter().flat_map(|e| e.split(',')) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            mark_entry(registry, rt, entry, &mut named)?;
        }
        let root_state = State::Partly(&named);
        let mut fields = vec![("schemas".to_string(), Plan::Keep)];
        let mut extensions = Vec::new();
        for attr in registry.common_attributes() {
            fields.push((
                attr.name.clone(),
                attr_plan(attr, root_state.child(&attr.name), mode),
            ));
        }
        for schema in registry.schemas_of(rt) {
            let is_core = schema.id.eq_ignore_ascii_case(&rt.schema);
            if is_core {
                for attr in &schema.attributes {
                    let state = root_state.child(&attr.name);
                    fields.push((attr.name.clone(), attr_plan(attr, state, mode)));
                }
            } else {
                let state = root_state.child(&schema.id);
                let plan = node_plan(&schema.attributes, state, mode);
                fields.push((schema.id.clone(), plan));
                extensions.push(schema.id.clone());
            }
        }
        Ok(Projection {
            root: Plan::Fields {
                fields,
                keep_unknown: mode == Mode::Exclude,
            },
            extensions,
        })
    }

    /// The default projection when no registry is at hand: the document as stored, minus
    /// `password` (the standard schemas' only `never` attribute; the server never stores it
    /// anyway). Prefer `new` with empty lists, which also honours `never` and `request`
    /// attributes of custom extensions.
    pub fn all() -> Self {
        Projection {
            root: Plan::Fields {
                fields: vec![("password".to_string(), Plan::Drop)],
                keep_unknown: true,
            },
            extensions: Vec::new(),
        }
    }

    /// Whether a top-level attribute (canonical name, e.g. `members`, `groups`) can appear in
    /// projected output at all, so the server can skip loading what the response would drop
    /// (a large group's members under `excludedAttributes=members`).
    pub fn returns(&self, name: &str) -> bool {
        match &self.root {
            Plan::Keep => true,
            Plan::Drop => false,
            Plan::Fields {
                fields,
                keep_unknown,
            } => match fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                Some((_, plan)) => *plan != Plan::Drop,
                None => *keep_unknown,
            },
        }
    }

    /// What this projection does with the top-level key `key` (any case), so a response can
    /// copy a stored document's text key by key instead of parsing it into a `Value`, copying
    /// and re-serialising it (that was most of the time of a page of 100 users).
    pub fn key_plan(&self, key: &str) -> KeyPlan {
        match &self.root {
            Plan::Keep => KeyPlan::Keep,
            Plan::Drop => KeyPlan::Drop,
            Plan::Fields {
                fields,
                keep_unknown,
            } => match fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                Some((_, Plan::Keep)) => KeyPlan::Keep,
                Some((_, Plan::Drop)) => KeyPlan::Drop,
                Some((_, Plan::Fields { .. })) => KeyPlan::Partial,
                None if *keep_unknown => KeyPlan::Keep,
                None => KeyPlan::Drop,
            },
        }
    }

    /// Whether `urn` names one of the resource type's extensions, which [`Projection::apply`]
    /// prunes from `schemas` when their object is not in the output.
    pub fn is_extension(&self, urn: &str) -> bool {
        self.extensions.iter().any(|e| e.eq_ignore_ascii_case(urn))
    }

    /// The projected document, projected where it is: what is kept is neither copied nor
    /// re-inserted (a response built from a document rendered for it, or a create's stored
    /// document). Non-object input is returned unchanged.
    pub fn apply_owned(&self, doc: Value) -> Value {
        let Value::Object(mut map) = doc else {
            return doc;
        };
        let Plan::Fields {
            fields,
            keep_unknown,
        } = &self.root
        else {
            return Value::Object(map);
        };
        project_object_in_place(&mut map, fields, *keep_unknown);
        self.prune_schemas(&mut map);
        Value::Object(map)
    }

    /// Drops from `schemas` the extensions whose object is not in the projected output.
    fn prune_schemas(&self, out: &mut Map<String, Value>) {
        if !self.extensions.is_empty()
            && let Some(Value::Array(schemas)) = out.get("schemas")
        {
            let pruned: Vec<Value> = schemas
                .iter()
                .filter(|s| {
                    let s = s.as_str().unwrap_or_default();
                    !self.extensions.iter().any(|e| e.eq_ignore_ascii_case(s))
                        || out.keys().any(|k| k.eq_ignore_ascii_case(s))
                })
                .cloned()
                .collect();
            out.insert("schemas".to_string(), Value::Array(pruned));
        }
    }

    /// The projected copy of a resource document. Non-object input is returned unchanged.
    /// A caller with a document it no longer needs calls [`apply_owned`](Self::apply_owned).
    pub fn apply(&self, doc: &Value) -> Value {
        self.apply_owned(doc.clone())
    }
}

/// Whether a parameter list names anything at all (`attributes=` counts as absent). A request
/// whose lists name nothing gets the resource type's default projection, which a server may
/// build once and share.
pub fn has_names(list: &[String]) -> bool {
    list.iter()
        .flat_map(|e| e.split(','))
        .any(|e| !e.trim().is_empty())
}

/// Resolves one requested name into the `Named` tree (canonical names).
fn mark_entry(
    registry: &SchemaRegistry,
    rt: &ResourceType,
    entry: &str,
    named: &mut Named,
) -> Result<()> {
    match registry.resolve_key(rt, entry) {
        Some(ResolvedKey::Schema(schema)) if schema.id.eq_ignore_ascii_case(&rt.schema) => {
            // The core schema URN alone: every core attribute.
            for attr in &schema.attributes {
                named.mark(&[&attr.name]);
            }
        }
        Some(ResolvedKey::Schema(schema)) => named.mark(&[&schema.id]),
        Some(ResolvedKey::Attr(r)) => {
            let mut path: Vec<&str> = Vec::with_capacity(3);
            if let Some(urn) = r.extension_urn() {
                path.push(urn);
            }
            path.push(&r.attr.name);
            if let Some(sub) = r.sub {
                path.push(&sub.name);
            }
            named.mark(&path);
        }
        None => {
            // Unknown names are ignored, but a name that isn't even a path is a client typo.
            // URN-prefixed names are let through: foreign schemas may spell names freely.
            if split_urn(entry).0.is_none()
                && let Err(e) = AttrPath::parse(entry)
            {
                return Err(Error::invalid_value(format!(
                    "attributes and excludedAttributes take comma-separated attribute paths: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// The plan for one attribute given how much of it the request named.
fn attr_plan(attr: &AttributeDef, state: State<'_>, mode: Mode) -> Plan {
    match (attr.returned, mode, state) {
        (Returned::Never, _, _) => Plan::Drop,
        (Returned::Always, _, _) => default_plan(attr),
        (_, Mode::Include, State::Unnamed) => Plan::Drop,
        (Returned::Request, Mode::Include, State::Inherited) => Plan::Drop,
        (_, Mode::Include, State::Whole | State::Inherited) => default_plan(attr),
        (Returned::Request, Mode::Exclude, _) => Plan::Drop,
        (_, Mode::Exclude, State::Whole | State::Inherited) => Plan::Drop,
        (_, Mode::Exclude, State::Unnamed) => default_plan(attr),
        (_, _, State::Partly(_)) if attr.ty != AttrType::Complex => match mode {
            // A simple attribute "partly" named (`title.x`): the name resolved to nothing.
            Mode::Include => Plan::Drop,
            Mode::Exclude => default_plan(attr),
        },
        (_, _, State::Partly(_)) => node_plan(&attr.sub_attributes, state, mode),
    }
}

/// The plan for a node with children (a complex attribute's sub-attributes, an extension
/// schema's attributes), simplified to `Keep`/`Drop` when every child agrees.
fn node_plan(children: &[AttributeDef], state: State<'_>, mode: Mode) -> Plan {
    let fields: Vec<(String, Plan)> = children
        .iter()
        .map(|c| (c.name.clone(), attr_plan(c, state.child(&c.name), mode)))
        .collect();
    let keep_unknown = match (mode, state) {
        (Mode::Include, State::Whole | State::Inherited) => true,
        (Mode::Include, _) => false,
        (Mode::Exclude, State::Whole | State::Inherited) => false,
        (Mode::Exclude, _) => true,
    };
    simplify(fields, keep_unknown)
}

/// What a complex attribute returns by default: everything but `never`/`request` children.
fn default_plan(attr: &AttributeDef) -> Plan {
    if attr
        .sub_attributes
        .iter()
        .all(|s| matches!(s.returned, Returned::Default | Returned::Always))
    {
        return Plan::Keep;
    }
    let fields = attr
        .sub_attributes
        .iter()
        .map(|s| {
            let plan = match s.returned {
                Returned::Never | Returned::Request => Plan::Drop,
                Returned::Default | Returned::Always => Plan::Keep,
            };
            (s.name.clone(), plan)
        })
        .collect();
    Plan::Fields {
        fields,
        keep_unknown: true,
    }
}

fn simplify(fields: Vec<(String, Plan)>, keep_unknown: bool) -> Plan {
    if keep_unknown && fields.iter().all(|(_, p)| *p == Plan::Keep) {
        Plan::Keep
    } else if !keep_unknown && fields.iter().all(|(_, p)| *p == Plan::Drop) {
        Plan::Drop
    } else {
        Plan::Fields {
            fields,
            keep_unknown,
        }
    }
}

/// Projects the object `map` where it is: the keys its plan drops (or, when no field names
/// them, unknown keys unless kept) are removed, the rest projected in turn.
fn project_object_in_place(
    map: &mut Map<String, Value>,
    fields: &[(String, Plan)],
    keep_unknown: bool,
) {
    map.retain(|key, value| {
        match fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
        {
            Some((_, plan)) => project_in_place(plan, value),
            None => keep_unknown,
        }
    });
}

/// Projects `value` where it is and says whether anything of it is left. In place, so a
/// response that keeps most of its document (the default projection drops only
/// `returned: never` and `request` attributes) rebuilds no object and hashes no key again.
fn project_in_place(plan: &Plan, value: &mut Value) -> bool {
    match plan {
        Plan::Keep => true,
        Plan::Drop => false,
        Plan::Fields {
            fields,
            keep_unknown,
        } => match value {
            Value::Object(m) => {
                project_object_in_place(m, fields, *keep_unknown);
                !m.is_empty()
            }
            Value::Array(items) => {
                items.retain_mut(|item| match item {
                    Value::Object(m) => {
                        project_object_in_place(m, fields, *keep_unknown);
                        !m.is_empty()
                    }
                    _ => true,
                });
                !items.is_empty()
            }
            _ => true,
        },
    }
}
