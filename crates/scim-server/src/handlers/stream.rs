//! Streamed Group responses: a Group, or a ListResponse of resources, whose `members` are read
//! from the store in keyset pages and written out while the response is being sent.
//!
//! A group of a million members is some 146 MB of JSON. Building it as one `serde_json::Value`
//! cost several GB of memory and delayed the first byte until the last member was read;
//! streaming keeps memory to a page or two per response whatever the group's size, and the
//! client starts reading at once.
//!
//! How a body is made: everything but the members (the ListResponse envelope, Users, each
//! Group's own attributes) is rendered and projected before the response starts, exactly as a
//! whole document would be (`handlers::groups::group_item`). Each Group then gets its `members`
//! appended as its last key, element by element in the shape of [`member_value`], so the bytes
//! parse to the document a whole-`Value` rendering gives.
//!
//! Members are read `MEMBER_PAGE` rows at a time in member-id order (keyset: after the last id
//! written), each page on a pooled read connection taken for that query only, and each page is
//! written whole into one chunk. A chunk is made when the connection asks for the next one, on
//! a blocking thread, in one of a few process-wide slots (one per core): making chunks is CPU
//! work, so more at once would finish no sooner and only hold more memory, threads and pooled
//! connections. When another slot is free, the next page is read ahead on a second blocking
//! thread while the current one is written, so a lone stream uses both cores. A slow client
//! holds no slot, no database connection and no transaction, only the chunk being sent and at
//! most one page read ahead (under 1 MB).
//!
//! A Group write's response reads its first page before the response begins: as soon as the
//! write has committed, while it is made durable (`Store::write_overlapped`), outside the
//! slots. That page (at most `MEMBER_PAGE` rows, ~300 KB) lives until the first chunk is made
//! from it, which happens before anything is sent, so it is held for the server's own work
//! (the fsync, a slot, the rendering), never for a slow client.
//!
//! Consistency: a member present for the whole response appears exactly once, in order; one
//! added or removed while the response is being sent may or may not appear. One snapshot for
//! the whole response would need a connection and a read transaction held for as long as the
//! client takes to read — minutes for a slow client on a large group — starving the pool and,
//! on SQLite, keeping the WAL from being checkpointed.
//!
//! Errors: the first chunk is made before the status line is sent, so a store error there is
//! an ordinary SCIM Error response, and a response that fits in one chunk (256 KiB: a group of
//! up to about 1 700 members, or a page of small groups) is sent whole, with a
//! `Content-Length`. An error after the first byte can only abort the connection: it is logged,
//! and the client sees a truncated body.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock, mpsc};

use actix_web::HttpResponse;
use actix_web::HttpResponseBuilder;
use actix_web::web::Bytes;
use scim_core::patch::Member;
use scim_core::projection::Projection;
use scim_core::query::ListResponse;
use scim_store::TenantId;
use scim_store::members::{MemberKind, MemberRow};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::http::blocking;
use crate::state::AppState;

/// Members read per store query while streaming: about 300 KB of rows, written whole into
/// one chunk of about 290 KB, so a page is never kept from one chunk to the next.
pub const MEMBER_PAGE: i64 = 2_000;

/// Bytes gathered before a chunk is handed to the connection. The next chunk is made when
/// the connection asks for it, so a stream holds at most the chunk being sent and one page
/// read ahead, however slow its client: under 1 MB.
const CHUNK: usize = 256 * 1024;

/// Room reserved for a chunk, so the buffer is allocated once (a page overshoots `CHUNK`).
const CHUNK_ROOM: usize = 320 * 1024;

/// How many chunks (and pages read ahead) the whole process makes at once: one per core.
/// Making them is CPU work, so more at once would not finish sooner; it would only hold more
/// pages in memory, more blocking threads and more pooled connections. A stream waits for a
/// slot without a thread, and holds none while its client reads.
fn slots() -> &'static Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(Semaphore::new(cores.max(2)))
    })
}

/// Waits for a production slot.
async fn slot() -> Result<OwnedSemaphorePermit, ApiError> {
    slots()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Internal("the stream slots are closed".into()))
}

/// One resource of a response.
#[derive(Debug, Clone)]
pub enum Item {
    /// A finished, projected document (a User, or a Group whose members are not shown).
    Doc(Value),
    /// The same, already serialised (copied from stored text, `handlers::raw`).
    Raw(Vec<u8>),
    /// A Group whose members the response shows: its projected document without `members`,
    /// and its id, to read the members by while the response is sent.
    Group {
        /// The projected Group without `members`.
        doc: Value,
        /// The Group's id.
        id: String,
        /// Its first page of members ([`first_page`]) when the caller has read it already
        /// (a Group PATCH reads it while its change is made durable).
        first: Option<Vec<MemberRow>>,
    },
}

/// A member element as every Group response shows it: `value`, `$ref`, `type` and, when the
/// client sent one, `display`. The one definition of that shape; the streamed writer's fast
/// path produces the same bytes.
pub fn member_value(m: &Member, base: &str) -> Value {
    let kind = m.kind.as_deref().unwrap_or("User");
    let endpoint = if kind == "Group" { "Groups" } else { "Users" };
    let mut v = json!({"value": m.value,
        "$ref": format!("{base}/{endpoint}/{}", m.value), "type": kind});
    if let Some(d) = &m.display {
        v["display"] = Value::String(d.clone());
    }
    v
}

/// How members are written: straight to bytes when the projection keeps them whole (the
/// default, and `attributes=members`), else through the projection page by page.
enum Shape {
    /// Member elements unchanged by the projection.
    Whole {
        /// `<base>/Users/`, JSON-escaped.
        users: Vec<u8>,
        /// `<base>/Groups/`, JSON-escaped.
        groups: Vec<u8>,
    },
    /// A projection naming member sub-attributes (`attributes=members.value`).
    Projected {
        projection: Projection,
        base: String,
    },
}

impl Shape {
    fn new(projection: &Projection, base: &str) -> Shape {
        // A projection decides per key, so one element carrying every key the server writes
        // tells whether any element would change.
        let sample =
            json!({"members": [{"value": "v", "$ref": "r", "type": "User", "display": "d"}]});
        if projection.apply(&sample) == sample {
            let mut users = Vec::new();
            push_escaped(&mut users, &format!("{base}/Users/"));
            let mut groups = Vec::new();
            push_escaped(&mut groups, &format!("{base}/Groups/"));
            Shape::Whole { users, groups }
        } else {
            Shape::Projected {
                projection: projection.clone(),
                base: base.to_string(),
            }
        }
    }

    /// Appends members; `opened` says whether `"members":[` was written already
    /// (it is written before the first element left by the projection, never for none), and
    /// `bare` that the group's own document was empty, so no comma goes before it.
    fn write_page(
        &self,
        buf: &mut Vec<u8>,
        page: &[MemberRow],
        opened: &mut bool,
        bare: bool,
    ) -> Result<(), ApiError> {
        let mut open = |buf: &mut Vec<u8>| {
            if *opened {
                buf.push(b',');
            } else {
                if !bare {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"\"members\":[");
                *opened = true;
            }
        };
        match self {
            Shape::Whole { users, groups } => {
                for m in page {
                    open(buf);
                    let kind = m.kind;
                    buf.extend_from_slice(b"{\"value\":\"");
                    let value = buf.len();
                    push_escaped(buf, &m.value);
                    let value = value..buf.len();
                    buf.extend_from_slice(b"\",\"$ref\":\"");
                    buf.extend_from_slice(match kind {
                        MemberKind::Group => groups,
                        MemberKind::User => users,
                    });
                    buf.extend_from_within(value);
                    buf.extend_from_slice(b"\",\"type\":\"");
                    buf.extend_from_slice(kind.as_str().as_bytes());
                    buf.push(b'"');
                    if let Some(d) = &m.display {
                        buf.extend_from_slice(b",\"display\":\"");
                        push_escaped(buf, d);
                        buf.push(b'"');
                    }
                    buf.push(b'}');
                }
            }
            Shape::Projected { projection, base } => {
                let list: Vec<Value> = page
                    .iter()
                    .map(|m| member_value(&Member::from(m.clone()), base))
                    .collect();
                let projected = projection.apply_owned(json!({ "members": list }));
                if let Some(Value::Array(items)) = projected.get("members") {
                    for v in items {
                        open(buf);
                        serde_json::to_writer(&mut *buf, v).map_err(internal)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The group whose members are being written.
struct Cursor {
    id: String,
    /// Where the next page starts: `None` before the first page, `Some(None)` after the last.
    after: Option<Option<String>>,
    /// The first page, read before the response began ([`Item::Group`]'s `first`).
    ready: Option<Vec<MemberRow>>,
    /// The next page, being read on another blocking thread (when a slot was free) while the
    /// current one is written.
    ahead: Option<mpsc::Receiver<scim_store::Result<Vec<MemberRow>>>>,
    opened: bool,
    bare: bool,
}

/// A group's first page of members as a streamed response writes it, on `conn`: read ahead
/// by a caller that has a connection at hand, and handed over in [`Item::Group`].
pub fn first_page(
    conn: &mut scim_store::Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> scim_store::Result<Vec<MemberRow>> {
    scim_store::members::member_rows(conn, tenant, id, None, MEMBER_PAGE)
}

/// Reads one page of a group's members on a pooled read connection (held for this query only).
fn read_page(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    after: Option<&str>,
) -> scim_store::Result<Vec<MemberRow>> {
    st.store
        .read(|c| scim_store::members::member_rows(c, tenant, id, after, MEMBER_PAGE))
}

/// A response body made chunk by chunk on blocking threads; a chunk holds whole pages of
/// members (usually one).
pub struct Body {
    st: AppState,
    tenant: TenantId,
    shape: Option<Shape>,
    pending: Vec<u8>,
    items: VecDeque<Item>,
    wrote_item: bool,
    cursor: Option<Cursor>,
    suffix: &'static [u8],
    done: bool,
    /// Where member pages are read ahead (the server's runtime).
    runtime: Option<tokio::runtime::Handle>,
}

impl Body {
    /// A single resource (`GET /Groups/{id}`, a Group write's 200/201).
    pub fn single(
        st: &AppState,
        tenant: &TenantId,
        projection: &Projection,
        base: &str,
        item: Item,
    ) -> Body {
        Body::new(st, tenant, projection, base, Vec::new(), vec![item], b"")
    }

    /// A ListResponse of `items` (already paged), out of `total`, starting at `start`.
    /// `projection` is the Group projection (Users in `items` are finished documents).
    pub fn list(
        st: &AppState,
        tenant: &TenantId,
        projection: &Projection,
        base: &str,
        items: Vec<Item>,
        total: u64,
        start: u64,
    ) -> Result<Body, ApiError> {
        let mut envelope = ListResponse::new(Vec::new(), total, start);
        envelope.items_per_page = u64::try_from(items.len()).unwrap_or(u64::MAX);
        let mut prefix = serde_json::to_vec(&envelope).map_err(internal)?;
        // `Resources` is the envelope's last key: cut its closing `]}` and write the items.
        if !prefix.ends_with(b"[]}") {
            return Err(ApiError::Internal(
                "the ListResponse does not end with Resources".into(),
            ));
        }
        prefix.truncate(prefix.len() - 2);
        Ok(Body::new(
            st, tenant, projection, base, prefix, items, b"]}",
        ))
    }

    fn new(
        st: &AppState,
        tenant: &TenantId,
        projection: &Projection,
        base: &str,
        prefix: Vec<u8>,
        items: Vec<Item>,
        suffix: &'static [u8],
    ) -> Body {
        let streams = items.iter().any(|i| matches!(i, Item::Group { .. }));
        Body {
            st: st.clone(),
            tenant: tenant.clone(),
            shape: streams.then(|| Shape::new(projection, base)),
            pending: prefix,
            items: items.into(),
            wrote_item: false,
            cursor: None,
            suffix,
            done: false,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// The next chunk of the body (at least `CHUNK` bytes unless it is the last), `None` once
    /// everything was produced. Blocking: reads the store.
    fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.reserve(CHUNK_ROOM.saturating_sub(buf.len()));
        while buf.len() < CHUNK {
            if let Some(cur) = &mut self.cursor {
                let page = match (cur.ready.take(), cur.ahead.take(), &cur.after) {
                    (Some(page), _, _) => page,
                    (None, Some(rx), _) => rx.recv().map_err(|_| {
                        ApiError::Internal("the member page reader stopped".into())
                    })??,
                    (None, None, Some(None)) => {
                        buf.extend_from_slice(if cur.opened { b"]}" } else { b"}" });
                        self.cursor = None;
                        continue;
                    }
                    (None, None, after) => {
                        let after = after.clone().flatten();
                        read_page(&self.st, &self.tenant, &cur.id, after.as_deref())?
                    }
                };
                let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= MEMBER_PAGE;
                cur.after = Some(page.last().filter(|_| full).map(|m| m.value.clone()));
                if let (Some(Some(after)), Some(rt)) = (&cur.after, &self.runtime)
                    && let Ok(permit) = slots().clone().try_acquire_owned()
                {
                    // A free slot: read the next page while this one is written.
                    let (tx, rx) = mpsc::sync_channel(1);
                    let (st, tenant, id) = (self.st.clone(), self.tenant.clone(), cur.id.clone());
                    let after = after.clone();
                    drop(rt.spawn_blocking(move || {
                        let _ = tx.send(read_page(&st, &tenant, &id, Some(&after)));
                        drop(permit);
                    }));
                    cur.ahead = Some(rx);
                }
                let shape = self
                    .shape
                    .as_ref()
                    .ok_or_else(|| ApiError::Internal("no member shape for a Group".into()))?;
                shape.write_page(&mut buf, &page, &mut cur.opened, cur.bare)?;
                continue;
            }
            let Some(item) = self.items.pop_front() else {
                buf.extend_from_slice(self.suffix);
                self.done = true;
                break;
            };
            if self.wrote_item {
                buf.push(b',');
            }
            self.wrote_item = true;
            match item {
                Item::Doc(doc) => serde_json::to_writer(&mut buf, &doc).map_err(internal)?,
                Item::Raw(bytes) => buf.extend_from_slice(&bytes),
                Item::Group { doc, id, first } => {
                    let head = serde_json::to_vec(&doc).map_err(internal)?;
                    // `{…}` without its closing brace; the members and the brace follow.
                    let Some((b'}', open)) = head.split_last() else {
                        return Err(ApiError::Internal("a Group is not a JSON object".into()));
                    };
                    buf.extend_from_slice(open);
                    self.cursor = Some(Cursor {
                        id,
                        after: None,
                        ready: first,
                        ahead: None,
                        opened: false,
                        bare: open == b"{",
                    });
                }
            }
        }
        buf.shrink_to_fit();
        Ok((!buf.is_empty()).then(|| Bytes::from(buf)))
    }
}

/// Finished documents a body may hold and still be rendered on the async worker.
const INLINE_ITEMS: usize = 4;

/// Sends `body` with the status and headers of `builder` (Content-Type is set here). The first
/// chunk is made before anything is sent; a body that ends with it goes out whole.
pub async fn respond(
    mut builder: HttpResponseBuilder,
    mut body: Body,
) -> Result<HttpResponse, ApiError> {
    builder.insert_header((
        actix_web::http::header::CONTENT_TYPE,
        actix_web::http::header::HeaderValue::from_static(crate::error::SCIM_JSON),
    ));
    // Only bodies that read members take a slot; the rest are finished documents.
    let permit = match body.shape {
        Some(_) => Some(slot().await?),
        None => None,
    };
    // A few finished documents (a lookup's answer, a user) render in microseconds: less than
    // handing them to a blocking thread and back, which cost a lookup a fifth of its CPU.
    let (body, first) = if permit.is_none() && body.items.len() <= INLINE_ITEMS {
        let first = body.next_chunk()?;
        (body, first)
    } else {
        blocking(move || {
            let first = body.next_chunk();
            drop(permit);
            Ok((body, first?))
        })
        .await?
    };
    let first = first.unwrap_or_default();
    if body.done {
        return Ok(builder.body(first));
    }
    let stream = futures_util::stream::unfold(Next::First(first, Box::new(body)), step);
    Ok(builder.streaming(stream))
}

/// Where a streamed body stands between chunks.
enum Next {
    /// The chunk made before the response started, and the rest of the body.
    First(Bytes, Box<Body>),
    /// The rest of the body, made when the connection asks for more.
    Rest(Box<Body>),
    /// Nothing more.
    End,
}

/// Makes the next chunk on a blocking thread once a slot is free.
async fn make(mut body: Box<Body>) -> Result<(Box<Body>, Option<Bytes>), ApiError> {
    let permit = slot().await?;
    let (body, chunk) = tokio::task::spawn_blocking(move || {
        let chunk = body.next_chunk();
        drop(permit);
        (body, chunk)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("making a chunk failed: {e}")))?;
    Ok((body, chunk?))
}

async fn step(state: Next) -> Option<(Result<Bytes, std::io::Error>, Next)> {
    let body = match state {
        Next::First(chunk, body) => return Some((Ok(chunk), Next::Rest(body))),
        Next::Rest(body) => body,
        Next::End => return None,
    };
    match make(body).await {
        Ok((body, Some(chunk))) => {
            let next = if body.done {
                Next::End
            } else {
                Next::Rest(body)
            };
            Some((Ok(chunk), next))
        }
        Ok((_, None)) => None,
        Err(e) => Some((Err(abort(&e.to_string())), Next::End)),
    }
}

/// Logs an error met after the response started; the connection is then closed mid-body.
fn abort(reason: &str) -> std::io::Error {
    tracing::error!(%reason, "streamed response aborted");
    std::io::Error::other(format!("streamed response aborted: {reason}"))
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Appends `s` JSON-escaped (without quotes), as serde_json escapes strings.
fn push_escaped(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Ids and most names need no escape: one branch-free pass (vectorised) decides.
    let plain = bytes
        .iter()
        .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[usize::from(b >> 4)]);
            buf.push(HEX[usize::from(b & 0xf)]);
        } else {
            buf.extend_from_slice(short);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::push_escaped;

    #[test]
    fn escaping_matches_serde_json() {
        for s in [
            "plain",
            "",
            "quote \" and backslash \\",
            "controls \u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}",
            "unicode é ✓ 𝄞",
        ] {
            let mut mine = vec![b'"'];
            push_escaped(&mut mine, s);
            mine.push(b'"');
            let theirs = serde_json::to_vec(s).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&theirs)
            );
        }
    }
}
