//! A thin layer over SQLite's unix VFS for the writer's connection that hands each commit's
//! WAL frames to the kernel in one `pwrite` instead of two per frame.
//!
//! SQLite writes every WAL frame as two calls, the 24-byte frame header and then the page.
//! On the 2-core benchmark machine that was a quarter of the writer thread's time per user
//! create (`perf`: `walWriteOneFrame` 26% of the writer's samples, nearly all of it in
//! `pwrite`), and the writer thread bounds write throughput. A C loop writing 60 frames into a
//! cached file took 1.33 µs per frame as header-then-page pairs and 0.25 µs as one write.
//!
//! The layer keeps the frames SQLite appends to the WAL in memory and writes them out:
//! - as soon as the frame that commits a transaction is complete (a frame header whose
//!   "database size" field is non-zero; its format is part of SQLite's documented file
//!   format). That happens inside the COMMIT, before SQLite publishes the new frames in the
//!   shared WAL index, so no reader, in this process or another, can look for a frame that
//!   is not in the file yet;
//! - before anything else touches the file: a read, a sync, a truncate, asking its size,
//!   closing it, or any write that is not an append (SQLite rewrites frames in place when a
//!   transaction that spilled pages to the WAL changes them again, and then rewrites the
//!   checksums of the frames after them, the commit frame's included). Those writes go
//!   straight to the file, so nothing is ever left in memory when a COMMIT returns: another
//!   file handle's fsync (the WAL syncer's) covers every byte of the transactions it
//!   acknowledges;
//! - when 4 MiB have gathered (one huge transaction).
//!
//! Nothing changes on disk: the same bytes reach the same offsets in the same order relative
//! to every sync, so SQLite's crash recovery sees what it would have seen. A process that dies
//! with frames still buffered dies before its transaction committed.
//!
//! If writing the buffer out ever fails, the file refuses every later write and sync, so no
//! transaction can commit over frames that never reached the file.
//!
//! Only the main database and WAL of the writer's connection go through this VFS (it is named,
//! never the process default), and only WAL files are wrapped; every other file is the unix
//! VFS's own. Where the unix VFS is missing (not a unix build) the writer opens the database as
//! before.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// The name the writer's connection asks for in its URI (`?vfs=`).
pub(crate) const NAME: &CStr = c"scim-wal";

/// WAL file header and frame header sizes (SQLite file format, section 4.1).
const WAL_HEADER: i64 = 32;
const FRAME_HEADER: i64 = 24;
/// Buffered bytes that are written out even without a commit frame.
const FLUSH_AT: usize = 4 << 20;
/// Buffer capacity kept between transactions: a commit of 16 creates is about 90 frames
/// (370 KB).
const KEEP: usize = 1 << 20;
/// Most bytes handed to the unix VFS in one write: it masks a write's length to 17 bits
/// (`seekAndWriteFd`: `nBuf &= 0x1ffff`), so a longer one fails with SQLITE_FULL.
const MAX_WRITE: usize = 124 << 10;
/// Where, in the memory SQLite gives a WAL file, the unix VFS's own file structure starts: after
/// ours, aligned as SQLite aligns the memory itself (8 bytes).
const REAL_OFFSET: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

/// The registered VFS and the unix VFS it delegates to.
struct Registered {
    unix: *mut ffi::sqlite3_vfs,
}

// SAFETY: both pointers are to VFS objects that live for the whole process (SQLite's static
// unix VFS, and ours leaked on registration); SQLite's VFS methods are thread-safe.
unsafe impl Send for Registered {}
unsafe impl Sync for Registered {}

static REGISTERED: OnceLock<Option<Registered>> = OnceLock::new();

/// Registers the VFS once per process. `false` when it can't be (no unix VFS): the caller then
/// opens the database without it.
pub(crate) fn register() -> bool {
    REGISTERED.get_or_init(register_once).is_some()
}

fn register_once() -> Option<Registered> {
    // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe and initialise SQLite
    // themselves. Our VFS is a copy of the unix one (same pAppData and methods, which never
    // read szOsFile, zName or xOpen from the pointer they are given) with a larger file size
    // and our xOpen; it is leaked, so it outlives every connection that uses it.
    unsafe {
        let unix = ffi::sqlite3_vfs_find(c"unix".as_ptr());
        if unix.is_null() {
            return None;
        }
        let mut ours: ffi::sqlite3_vfs = *unix;
        ours.szOsFile = c_int::try_from(REAL_OFFSET)
            .ok()?
            .checked_add((*unix).szOsFile)?;
        ours.zName = NAME.as_ptr();
        ours.pNext = ptr::null_mut();
        ours.xOpen = Some(open);
        let ours = Box::into_raw(Box::new(ours));
        if ffi::sqlite3_vfs_register(ours, 0) != ffi::SQLITE_OK {
            drop(Box::from_raw(ours));
            return None;
        }
        Some(Registered { unix })
    }
}

/// The writer's database as a URI that selects this VFS, or `None` for a name that is already
/// a URI or an in-memory database, or a path beginning with `//`, which a URI would read as a
/// host name (all left as they are).
pub(crate) fn uri(path: &str) -> Option<String> {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") || path.starts_with("//")
    {
        return None;
    }
    let mut uri = String::from("file:");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?vfs=");
    uri.push_str(&NAME.to_string_lossy());
    Some(uri)
}

/// What SQLite sees as the WAL's `sqlite3_file`, with the unix file behind it.
#[repr(C)]
struct WalFile {
    /// Must come first: SQLite reads `pMethods` through the pointer it holds.
    base: ffi::sqlite3_file,
    /// The unix VFS's file, in the same allocation at `REAL_OFFSET`.
    real: *mut ffi::sqlite3_file,
    /// Bytes appended but not yet written, starting at file offset `start`.
    buf: Vec<u8>,
    start: i64,
    /// Where the next appended frame goes: the end of what SQLite has written since it last
    /// wrote a WAL header (a new log starts with one). `None` until the first write, which
    /// is always an append (a rewrite needs frames written earlier by the same connection).
    log_end: Option<i64>,
    /// The database page size, read from the WAL header; frames are `FRAME_HEADER + page`.
    page_size: Option<i64>,
    /// A buffered write was lost: every later write and sync fails.
    poisoned: bool,
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// Calls a method of the unix file, or answers `default` (`SQLITE_IOERR` unless given) if it
/// has none.
macro_rules! real {
    ($file:expr, $method:ident $(, $arg:expr)*) => {
        real!(ffi::SQLITE_IOERR; $file, $method $(, $arg)*)
    };
    ($default:expr; $file:expr, $method:ident $(, $arg:expr)*) => {{
        let real = $file;
        match (*(*real).pMethods).$method {
            Some(m) => m(real $(, $arg)*),
            None => $default,
        }
    }};
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(Some(reg)) = REGISTERED.get() else {
        return ffi::SQLITE_ERROR;
    };
    // SAFETY: `file` points to `szOsFile` bytes (ours: REAL_OFFSET + the unix VFS's size),
    // 8-byte aligned, which SQLite owns until it calls xClose. The unix VFS is handed either
    // all of it (files we don't wrap) or the part from REAL_OFFSET on.
    unsafe {
        let Some(unix_open) = (*reg.unix).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return unix_open(reg.unix, name, file, flags, out_flags);
        }
        (*file).pMethods = ptr::null();
        let real = file
            .cast::<u8>()
            .add(REAL_OFFSET)
            .cast::<ffi::sqlite3_file>();
        (*real).pMethods = ptr::null();
        let rc = unix_open(reg.unix, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            if !(*real).pMethods.is_null() {
                real!(real, xClose);
            }
            return rc;
        }
        ptr::write(
            file.cast::<WalFile>(),
            WalFile {
                base: ffi::sqlite3_file {
                    pMethods: &WAL_METHODS,
                },
                real,
                buf: Vec::new(),
                start: 0,
                log_end: None,
                page_size: None,
                poisoned: false,
            },
        );
        ffi::SQLITE_OK
    }
}

/// The WAL file behind SQLite's pointer.
///
/// # Safety
/// `file` must be a WAL file opened by [`open`] and not yet closed, used by one thread at a time
/// (SQLite serialises the calls on a connection's files).
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    // SAFETY: see the function's contract.
    unsafe { &mut *file.cast::<WalFile>() }
}

/// The WAL file behind SQLite's pointer with its buffer written out, or the error that writing
/// it out gave: what every method that reads or changes the file needs first.
///
/// # Safety
/// As for [`wal`].
unsafe fn flushed<'a>(file: *mut ffi::sqlite3_file) -> std::result::Result<&'a mut WalFile, c_int> {
    // SAFETY: see the function's contract.
    let f = unsafe { wal(file) };
    match f.flush() {
        ffi::SQLITE_OK => Ok(f),
        rc => Err(rc),
    }
}

impl WalFile {
    /// Writes the buffered bytes out. After a failure the file stays poisoned.
    fn flush(&mut self) -> c_int {
        if self.poisoned {
            return ffi::SQLITE_IOERR_WRITE;
        }
        if self.buf.is_empty() {
            return ffi::SQLITE_OK;
        }
        let mut rc = ffi::SQLITE_OK;
        let mut at = self.start;
        for chunk in self.buf.chunks(MAX_WRITE) {
            let Ok(len) = c_int::try_from(chunk.len()) else {
                rc = ffi::SQLITE_IOERR_WRITE;
                break;
            };
            // SAFETY: `real` is the open unix file; the chunk outlives the call.
            rc = unsafe { real!(self.real, xWrite, chunk.as_ptr().cast::<c_void>(), len, at) };
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += chunk.len() as i64;
        }
        self.buf.clear();
        // A bulk transaction can leave megabytes of capacity behind; keep what an ordinary
        // batch needs (under the server's memory target, resident bytes count).
        self.buf.shrink_to(KEEP);
        if rc != ffi::SQLITE_OK {
            self.poisoned = true;
        }
        rc
    }

    /// The page size from the WAL header, read from the file when this connection did not
    /// write the header itself (a WAL left by an earlier process). `None` if it can't be read:
    /// the caller then writes through.
    fn page_size(&mut self) -> Option<i64> {
        if self.page_size.is_none() {
            let mut header = [0u8; WAL_HEADER as usize];
            // SAFETY: `real` is the open unix file; `header` is 32 writable bytes.
            let rc = unsafe {
                real!(
                    self.real,
                    xRead,
                    header.as_mut_ptr().cast::<c_void>(),
                    WAL_HEADER as c_int,
                    0
                )
            };
            if rc == ffi::SQLITE_OK {
                self.page_size = header_page_size(&header);
            }
        }
        self.page_size
    }

    /// Whether a frame that commits a transaction ends in `(from, to]` (file offsets of the
    /// buffered bytes). Also `true`, to be safe, when a frame ends there whose header isn't
    /// in the buffer, or when the frame size isn't known.
    fn commit_frame_ends(&mut self, from: i64, to: i64) -> bool {
        let Some(page) = self.page_size() else {
            return true;
        };
        let frame = FRAME_HEADER + page;
        if to < WAL_HEADER + frame {
            return false;
        }
        // Frame k (from 1) ends at WAL_HEADER + k * frame.
        let first = if from < WAL_HEADER {
            1
        } else {
            (from - WAL_HEADER) / frame + 1
        };
        let last = (to - WAL_HEADER) / frame;
        for k in first..=last {
            let header_at = WAL_HEADER + (k - 1) * frame;
            let Some(i) = header_at
                .checked_sub(self.start)
                .and_then(|i| usize::try_from(i).ok())
            else {
                return true;
            };
            match self.buf.get(i + 4..i + 8) {
                Some(size) if size.iter().all(|b| *b == 0) => {}
                _ => return true,
            }
        }
        false
    }
}

/// The page size field of a WAL header (big-endian, bytes 8..12).
fn header_page_size(header: &[u8]) -> Option<i64> {
    let field: [u8; 4] = header.get(8..12)?.try_into().ok()?;
    let size = i64::from(u32::from_be_bytes(field));
    (512..=65536).contains(&size).then_some(size)
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes a file it opened through `open`, and `amount` readable bytes.
    let (f, bytes) = unsafe {
        let Ok(n) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        (wal(file), std::slice::from_raw_parts(data.cast::<u8>(), n))
    };
    if f.poisoned {
        return ffi::SQLITE_IOERR_WRITE;
    }
    let new_log = offset == 0 && bytes.len() >= WAL_HEADER as usize;
    let append = new_log || f.log_end.is_none_or(|end| offset == end);
    if !append {
        // A rewrite of frames already written: after what is buffered, straight to the file.
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: `real` is the open unix file; the arguments are SQLite's.
        return unsafe { real!(f.real, xWrite, data, amount, offset) };
    }
    if new_log {
        // The log restarts (after a checkpoint): its header's page size governs from here.
        f.page_size = header_page_size(bytes);
    }
    let contiguous = !f.buf.is_empty() && offset == f.start + f.buf.len() as i64;
    if !contiguous || f.buf.len() + bytes.len() > FLUSH_AT {
        let rc = f.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        f.start = offset;
    }
    let from = f.start + f.buf.len() as i64;
    f.buf.extend_from_slice(bytes);
    let to = from + bytes.len() as i64;
    f.log_end = Some(to);
    if f.buf.len() >= FLUSH_AT || f.commit_frame_ends(from, to) {
        return f.flush();
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    data: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: a file opened by `open`; the arguments are SQLite's, passed on unchanged.
    unsafe {
        match flushed(file) {
            Ok(f) => real!(f.real, xRead, data, amount, offset),
            Err(rc) => rc,
        }
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: as in `read`.
    unsafe {
        let f = match flushed(file) {
            Ok(f) => f,
            Err(rc) => return rc,
        };
        if f.log_end.is_some_and(|end| end > size) {
            // Whatever comes next starts from a shorter file; learn it from the next write.
            f.log_end = None;
        }
        real!(f.real, xTruncate, size)
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: as in `read`.
    unsafe {
        match flushed(file) {
            Ok(f) => real!(f.real, xSync, flags),
            Err(rc) => rc,
        }
    }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: as in `read`.
    unsafe {
        match flushed(file) {
            Ok(f) => real!(f.real, xFileSize, size),
            Err(rc) => rc,
        }
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: as in `read`; after the unix file is closed our part is dropped in place and
    // SQLite frees the memory.
    unsafe {
        let f = wal(file);
        let flushed = f.flush();
        let closed = real!(f.real, xClose);
        ptr::drop_in_place(file.cast::<WalFile>());
        (*file).pMethods = ptr::null();
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: as in `read`.
    unsafe { real!(wal(file).real, xLock, level) }
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: as in `read`.
    unsafe { real!(wal(file).real, xUnlock, level) }
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: as in `read`.
    unsafe { real!(wal(file).real, xCheckReservedLock, out) }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: as in `read`. File controls don't read or write the WAL's contents.
    unsafe { real!(wal(file).real, xFileControl, op, arg) }
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: as in `read`.
    unsafe { real!(4096; wal(file).real, xSectorSize) }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: as in `read`.
    unsafe { real!(0; wal(file).real, xDeviceCharacteristics) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    use std::path::Path;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        total: i64,
    }

    fn count(c: &mut SqliteConnection) -> Count {
        diesel::sql_query("SELECT count(*) AS n, coalesce(sum(v), 0) AS total FROM t")
            .get_result(c)
            .unwrap()
    }

    /// What a crash right now would leave: the database and its WAL as the kernel has them
    /// (copied through the file system, not through any SQLite handle), opened without this
    /// VFS. Opening runs SQLite's recovery, which keeps only frames whose checksums chain up
    /// to a commit frame.
    fn crash_image(db: &Path, into: &Path) -> SqliteConnection {
        let copy = into.join("copy.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
        }
        std::fs::copy(db, &copy).unwrap();
        std::fs::copy(
            format!("{}-wal", db.display()),
            format!("{}-wal", copy.display()),
        )
        .unwrap();
        let mut c = SqliteConnection::establish(copy.to_str().unwrap()).unwrap();
        let ok: Vec<String> = diesel::dsl::sql::<diesel::sql_types::Text>("PRAGMA integrity_check")
            .load(&mut c)
            .unwrap();
        assert_eq!(ok, vec!["ok".to_string()]);
        c
    }

    #[test]
    fn every_commit_is_in_the_file_when_it_returns_even_after_spills_and_rewrites() {
        assert!(register());
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let mut w = SqliteConnection::establish(&uri(db.to_str().unwrap()).unwrap()).unwrap();
        // A tiny cache makes big transactions spill pages into the WAL before their commit;
        // changing those pages again rewrites their frames in place and then every checksum
        // after them, the commit frame's included.
        w.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = 8;
             CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER NOT NULL, v INTEGER NOT NULL,
                            pad BLOB NOT NULL);",
        )
        .unwrap();
        // A reader through the unix VFS, as the store's readers are.
        let mut r = SqliteConnection::establish(db.to_str().unwrap()).unwrap();
        let mut expect = Count { n: 0, total: 0 };
        // Transactions of one row (one small commit), of a few hundred (several frames), of
        // thousands (well past the 4 MiB buffer and the unix VFS's 128 KiB write limit).
        for (round, rows) in [1_i64, 3, 300, 1, 6000, 2, 40].into_iter().enumerate() {
            let round = round as i64;
            w.batch_execute(&format!(
                "BEGIN IMMEDIATE;
                 INSERT INTO t (r, v, pad)
                   SELECT {round}, {round}, randomblob(700) FROM generate_series(1, {rows});
                 UPDATE t SET v = v + 1, pad = randomblob(700) WHERE r = {round};
                 COMMIT;"
            ))
            .or_else(|_| {
                // No generate_series in this build: a recursive CTE does the same.
                w.batch_execute(&format!(
                    "ROLLBACK; BEGIN IMMEDIATE;
                     WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                       WHERE i < {rows})
                     INSERT INTO t (r, v, pad) SELECT {round}, {round}, randomblob(700) FROM s;
                     UPDATE t SET v = v + 1, pad = randomblob(700) WHERE r = {round};
                     COMMIT;"
                ))
            })
            .unwrap();
            expect.n += rows;
            expect.total += rows * (round + 1);
            assert_eq!(count(&mut r), expect, "the live reader, round {round}");
            let mut image = crash_image(&db, dir.path());
            assert_eq!(count(&mut image), expect, "after a crash, round {round}");
        }
        // The log restarts after a checkpoint (a new WAL header at offset 0): still whole.
        w.batch_execute(
            "PRAGMA wal_checkpoint(RESTART); INSERT INTO t (r, v, pad) VALUES (100, 100, x'00');",
        )
        .unwrap();
        expect.n += 1;
        expect.total += 100;
        assert_eq!(count(&mut crash_image(&db, dir.path())), expect);
        assert_eq!(count(&mut r), expect);
    }

    #[test]
    fn the_uri_names_the_same_file_whatever_its_name_holds() {
        assert!(register());
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a b?c#d%e&f=g.db");
        let mut c = SqliteConnection::establish(&uri(odd.to_str().unwrap()).unwrap()).unwrap();
        c.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)")
            .unwrap();
        assert!(odd.exists(), "the database was created elsewhere");
        assert_eq!(uri(":memory:"), None);
        assert_eq!(uri("file:x.db?mode=ro"), None);
        assert_eq!(uri("//host/x.db"), None);
        assert_eq!(uri("rel/x.db").unwrap(), "file:rel/x.db?vfs=scim-wal");
    }

    #[test]
    fn the_page_size_comes_from_the_wal_header() {
        let mut header = [0u8; 32];
        header[8..12].copy_from_slice(&4096u32.to_be_bytes());
        assert_eq!(header_page_size(&header), Some(4096));
        header[8..12].copy_from_slice(&65536u32.to_be_bytes());
        assert_eq!(header_page_size(&header), Some(65536));
        header[8..12].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(header_page_size(&header), None);
        assert_eq!(header_page_size(&header[..10]), None);
    }
}
