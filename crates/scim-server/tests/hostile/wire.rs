//! Requests on a raw socket, for what an HTTP client library would refuse to send or would choke
//! on: bodies of any bytes (invalid UTF-8), chunked bodies without a length, and 10 MB bodies the
//! server refuses before reading them to the end.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::Resp;

/// How the body goes on the wire.
pub enum Framing {
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`, 64 KiB chunks.
    Chunked,
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
/// `headers` are sent as given (name, value); a write the server cuts short is not an error:
/// the server may answer (413) before the body is in.
pub fn send(
    origin: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
    framing: Framing,
) -> Resp {
    let addr = origin.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(120)))
        .expect("write timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match framing {
        Framing::Length => head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len())),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    // Read while writing: the server may answer 413 and close before the body is in, and a
    // reset that arrives before the answer was read would discard it.
    let mut reader = s.try_clone().expect("clone the socket");
    let answer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A reset after the answer arrived still leaves what was read in `buf`.
        let _ = reader.read_to_end(&mut buf);
        buf
    });
    let _ = s.write_all(head.as_bytes());
    for chunk in body.chunks(64 * 1024) {
        let sent = match framing {
            Framing::Length => s.write_all(chunk),
            Framing::Chunked => s
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|()| s.write_all(chunk))
                .and_then(|()| s.write_all(b"\r\n")),
        };
        if sent.is_err() {
            break;
        }
    }
    if matches!(framing, Framing::Chunked) {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    let buf = answer.join().expect("the reading thread");
    parse(&buf).unwrap_or_else(|| {
        panic!(
            "{method} {}: no HTTP answer ({} bytes: {:?})",
            short(target),
            buf.len(),
            String::from_utf8_lossy(&buf[..buf.len().min(300)])
        )
    })
}

/// A target shortened for messages.
pub fn short(s: &str) -> String {
    if s.len() <= 120 {
        return s.to_string();
    }
    let cut: String = s.chars().take(100).collect();
    format!("{cut}… ({} bytes)", s.len())
}

fn parse(buf: &[u8]) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let body = &buf[end + 4..];
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Some(Resp {
        status,
        headers,
        text: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..eol]);
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let rest = &s[eol + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        s = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}
