//! JSON-RPC framing over a byte stream (`Content-Length` headers), tolerant of bad input: a frame
//! that is not a message becomes [`Frame::Malformed`], never an error that ends the server.

use lsp_server::Message;
use std::io::{self, BufRead, Read, Write};

/// Largest message body read; a longer one is skipped (read and dropped) and answered as malformed.
pub const MAX_BODY: usize = 64 << 20;
/// Longest header line read.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// One frame read from the client.
pub enum Frame {
    Message(Message),
    /// Not a JSON-RPC message: why (answered with a parse error, then the server reads on).
    Malformed(String),
    /// A request (it has an `id` and a `method`) that is not a valid one, such as an id that is
    /// not a string or a 32-bit integer: answered with "invalid request" for that id.
    Invalid {
        id: serde_json::Value,
        why: String,
    },
    /// The input ended.
    Eof,
}

/// Read the next frame. Only an I/O error of the stream itself is an `Err`.
pub fn read_frame(r: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut bad_header: Option<String> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = r.by_ref().take(MAX_HEADER_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Frame::Eof);
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(len) => length = Some(len),
                    Err(_) => bad_header = Some(format!("bad Content-Length `{}`", value.trim())),
                }
            }
            Some(_) => {}
            None => bad_header = Some(format!("malformed header line `{line}`")),
        }
    }
    let Some(length) = length else {
        return Ok(Frame::Malformed(
            bad_header.unwrap_or_else(|| "no Content-Length header".into()),
        ));
    };
    if length > MAX_BODY {
        io::copy(&mut r.by_ref().take(length as u64), &mut io::sink())?;
        return Ok(Frame::Malformed(format!(
            "message of {length} bytes is larger than {MAX_BODY} bytes"
        )));
    }
    let mut body = Vec::new();
    r.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(Frame::Eof);
    }
    if let Some(why) = bad_header {
        return Ok(Frame::Malformed(why));
    }
    let Ok(text) = String::from_utf8(body) else {
        return Ok(Frame::Malformed("the message is not UTF-8".into()));
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Ok(Frame::Malformed(format!("not JSON: {e}"))),
    };
    let is_request = value.get("id").is_some() && value.get("method").is_some();
    if is_request {
        let id = value.get("id").cloned().unwrap_or_default();
        return Ok(match serde_json::from_value::<lsp_server::Request>(value) {
            Ok(req) => Frame::Message(Message::Request(req)),
            Err(e) => Frame::Invalid {
                id,
                why: format!("invalid request: {e}"),
            },
        });
    }
    Ok(match serde_json::from_value::<Message>(value) {
        Ok(msg) => Frame::Message(msg),
        Err(e) => Frame::Malformed(format!("not a JSON-RPC message: {e}")),
    })
}

/// Write one message with its header.
pub fn write_message(w: &mut impl Write, msg: Message) -> io::Result<()> {
    msg.write(w)
}

/// JSON-RPC's "parse error": the answer to a malformed frame.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's "invalid request".
pub const INVALID_REQUEST: i32 = -32600;

/// An error answer written directly, for frames that are no [`Message`] (`id` null when unknown).
pub fn write_error(w: &mut impl Write, id: serde_json::Value, code: i32, why: &str) -> io::Result<()> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": why },
    })
    .to_string();
    write!(w, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    w.flush()
}
