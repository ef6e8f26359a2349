// SCIMMY peer server for the SCIM benchmark.
//
// An express app serving SCIM 2.0 at http://127.0.0.1:$PORT/scim/v2 with the
// `scimmy-routers` express router, and the SCIMMY User and Group resource
// types backed by in-memory Maps through SCIMMY's ingress/egress/degress
// handlers. SCIMMY itself does the schema validation/coercion, the attribute
// projection, the PatchOp application, the filter matching (except for the
// indexed `userName eq "..."` case below), the sorting and the ListResponse.
//
// Start: `node server.js` (env PORT, default 18102; HOST, default 127.0.0.1).
// Auth:  none by default (every request is accepted). If SCIM_TOKEN is set,
//        requests must carry `Authorization: Bearer $SCIM_TOKEN`.
import {randomUUID} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const PORT = Number(process.env.PORT ?? 18102);
const HOST = process.env.HOST ?? "127.0.0.1";
const TOKEN = process.env.SCIM_TOKEN;
const BASE_PATH = "/scim/v2";
const {Error: SCIMError} = SCIMMY.Types;

// ---------------------------------------------------------------------------
// In-memory storage
// ---------------------------------------------------------------------------

/** A resource store: records by id, in insertion order, plus a version counter. */
class Store {
    constructor(resourceType) {
        this.resourceType = resourceType;
        this.records = new Map();
        this.version = 0;
    }

    get(id) {
        const record = this.records.get(id);
        if (record === undefined) throw new SCIMError(404, null, `Resource ${id} not found`);
        return record;
    }

    /** Build the stored record for a (validated, coerced) SCIMMY schema instance. */
    record(instance, id, created) {
        const now = new Date().toISOString();
        // The instance's toJSON() only yields the attributes of its schema.
        const data = JSON.parse(JSON.stringify(instance));
        delete data.schemas;
        return {
            ...data,
            id,
            meta: {
                resourceType: this.resourceType,
                created: created ?? now,
                lastModified: now,
                version: `W/"${++this.version}"`,
            },
        };
    }
}

const users = new Store("User");
const groups = new Store("Group");
/** Lowercased userName -> user id (userName is unique and case-insensitive, RFC 7643 §4.1.1). */
const userNames = new Map();

// ---------------------------------------------------------------------------
// Listing helpers
// ---------------------------------------------------------------------------

/**
 * If the filter is exactly `userName eq "<string>"`, return the string.
 * SCIMMY parses that filter to `[{userName: ["eq", "<string>"]}]`.
 */
function plainUserNameEq(filter) {
    if (!filter || filter.length !== 1) return undefined;
    const entries = Object.entries(filter[0]);
    if (entries.length !== 1) return undefined;
    const [attr, expression] = entries[0];
    if (attr.toLowerCase() !== "username" || !Array.isArray(expression) || expression.length !== 2) return undefined;
    const [op, value] = expression;
    return typeof op === "string" && op.toLowerCase() === "eq" && typeof value === "string" ? value : undefined;
}

/**
 * Return the egress result for a list request, with only the requested page
 * materialised.
 *
 * SCIMMY's ListResponse takes totalResults from the length of the array the
 * egress handler returns, drops its holes, then slices the rest at
 * startIndex - 1 unless `totalResults === remaining + startIndex - 1`, and
 * finally truncates it to `count`. So the handler returns a sparse array of
 * length `total` whose filled range is chosen so that those steps yield
 * exactly the requested page; only the filled entries are turned into SCIMMY
 * schema instances. With sortBy, SCIMMY sorts what it is given, so every match
 * is returned and SCIMMY sorts and pages them itself.
 *
 * @param {Object} resource - the SCIMMY resource instance (filter, constraints)
 * @param {Iterable<Object>|Object[]} matches - the matching records, in order
 * @param {Number} total - the number of matching records
 */
function page(resource, matches, total) {
    const {sortBy, startIndex: rawStart, count: rawCount} = resource.constraints ?? {};
    if (sortBy !== undefined) return Array.from(matches);

    // The defaults of SCIMMY's ListResponse
    const startIndex = Math.max(rawStart ?? 1, 1);
    const count = Math.max(rawCount ?? 20, 0);
    const first = startIndex - 1;
    const pageLen = Math.max(0, Math.min(count, total - first));

    let lo, hi;
    if (pageLen < startIndex || first + pageLen === total) {
        // Not sliced by ListResponse: the page alone
        [lo, hi] = [first, first + pageLen];
    } else if (total !== pageLen + 2 * first) {
        // Sliced by ListResponse: the page, preceded by the `first` records it cuts off
        [lo, hi] = [0, first + pageLen];
    } else {
        // Neither applies: from startIndex up to the end (total < 2 * count + startIndex here)
        [lo, hi] = [first, total];
    }

    const result = new Array(total);
    let i = 0;
    for (const record of matches) {
        if (i >= hi) break;
        if (i >= lo) result[i] = record;
        i++;
    }
    return result;
}

/** Egress for a list request on a store, using SCIMMY's filter matching. */
function listEgress(resource, store) {
    if (!resource.filter) return page(resource, store.records.values(), store.records.size);
    const matches = resource.filter.match(Array.from(store.records.values()));
    return page(resource, matches, matches.length);
}

// ---------------------------------------------------------------------------
// SCIMMY resource handlers
// ---------------------------------------------------------------------------

SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .ingress((resource, instance) => {
        const key = instance.userName.toLowerCase();
        const owner = userNames.get(key);
        if (resource.id) {
            const previous = users.get(resource.id);
            if (owner !== undefined && owner !== resource.id)
                throw new SCIMError(409, "uniqueness", `userName ${instance.userName} is already in use`);
            const record = users.record(instance, resource.id, previous.meta.created);
            userNames.delete(previous.userName.toLowerCase());
            userNames.set(key, resource.id);
            users.records.set(resource.id, record);
            return record;
        }
        if (owner !== undefined)
            throw new SCIMError(409, "uniqueness", `userName ${instance.userName} is already in use`);
        const record = users.record(instance, randomUUID());
        users.records.set(record.id, record);
        userNames.set(key, record.id);
        return record;
    })
    .egress((resource) => {
        if (resource.id) return users.get(resource.id);
        const userName = plainUserNameEq(resource.filter);
        if (userName !== undefined) {
            const id = userNames.get(userName.toLowerCase());
            return page(resource, id === undefined ? [] : [users.records.get(id)], id === undefined ? 0 : 1);
        }
        return listEgress(resource, users);
    })
    .degress((resource) => {
        const record = users.get(resource.id);
        users.records.delete(resource.id);
        userNames.delete(record.userName.toLowerCase());
    });

/**
 * Drop repeated members (same value), keeping the first: SCIMMY's PatchOp
 * appends an `add` of an existing member, where RFC 7644 §3.5.2.1 says no
 * change should be made.
 */
function uniqueMembers(record) {
    if (!Array.isArray(record.members)) return record;
    const seen = new Set();
    record.members = record.members.filter((m) => (seen.has(m.value) ? false : (seen.add(m.value), true)));
    return record;
}

SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((resource, instance) => {
        if (resource.id) {
            const previous = groups.get(resource.id);
            const record = uniqueMembers(groups.record(instance, resource.id, previous.meta.created));
            groups.records.set(resource.id, record);
            return record;
        }
        const record = uniqueMembers(groups.record(instance, randomUUID()));
        groups.records.set(record.id, record);
        return record;
    })
    .egress((resource) => (resource.id ? groups.get(resource.id) : listEgress(resource, groups)))
    .degress((resource) => {
        groups.get(resource.id);
        groups.records.delete(resource.id);
    });

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

const app = express();
app.disable("x-powered-by");
// Parse JSON bodies up to 50 MB before the router's own parser (which is
// limited to bulk.maxPayloadSize, 1 MB), so that large group bodies fit.
app.use(BASE_PATH, express.json({type: ["application/scim+json", "application/json"], limit: "50mb"}));
app.use(BASE_PATH, new SCIMMYRouters({
    type: "bearer",
    docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
    handler: (req) => {
        if (TOKEN !== undefined && req.get("authorization") !== `Bearer ${TOKEN}`)
            throw new Error("Authorization failure");
        // No /Me support: no authenticated user id is returned
        return undefined;
    },
    baseUri: (req) => `${req.protocol}://${req.get("host")}`,
}));

app.listen(PORT, HOST, () => {
    console.log(`SCIMMY peer serving SCIM on http://${HOST}:${PORT}${BASE_PATH}`);
});
