//! A webhook receiver for the tests: a plain `std::net` HTTP/1.1 server on a loopback port that
//! records every request (time, method, path, headers, raw body) and answers each with the
//! status a test's script picks, `Connection: close`. One request at a time, as the dispatcher
//! sends them.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as received, with the status it was answered.
#[derive(Clone)]
pub struct Recorded {
    /// When its head arrived.
    pub at: Instant,
    /// HTTP method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Recorded {
    /// First value of a header (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {} {:?} {}",
            self.method,
            self.path,
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

type Script = dyn Fn(&Recorded, &[Recorded]) -> u16 + Send + Sync;

/// The running receiver; stops on drop.
pub struct Receiver {
    addr: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts listening on a fresh loopback port. `script(request, earlier_requests)` picks
    /// each answer's status.
    pub fn start(script: impl Fn(&Recorded, &[Recorded]) -> u16 + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let addr = listener.local_addr().expect("addr").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (reqs, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn
                    && let Err(e) = serve_one(conn, &reqs, &*script)
                {
                    eprintln!("receiver: {e}");
                }
            }
        });
        Receiver {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    /// Waits until `done(requests)` holds; panics with what arrived after `timeout`.
    #[track_caller]
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Recorded]) -> bool) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let reqs = self.requests();
            if done(&reqs) {
                return reqs;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: not there after {timeout:?}: {reqs:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(
    conn: TcpStream,
    requests: &Mutex<Vec<Recorded>>,
    script: &Script,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // the wake-up connection, or a probe
    }
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let mut rec = Recorded {
        at,
        method,
        path,
        headers,
        body,
        status: 0,
    };
    let mut all = requests.lock().expect("lock");
    rec.status = script(&rec, &all);
    all.push(rec.clone());
    drop(all);
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        rec.status
    )?;
    out.flush()
}

/// A client whose statuses are data (for the SCIM calls of the end-to-end test).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}
