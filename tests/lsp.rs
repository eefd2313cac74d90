//! `uq lsp` driven over stdio with framed JSON-RPC messages, as an editor drives it.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// A safety net against a hung server, not a measurement.
const PATIENCE: Duration = Duration::from_secs(120);

struct Client {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: i64,
}

fn read_frames(out: impl Read, tx: std::sync::mpsc::Sender<Value>) {
    let mut r = BufReader::new(out);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.expect("a Content-Length header")];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let msg: Value = serde_json::from_slice(&body).expect("the server writes JSON");
        if tx.send(msg).is_err() {
            return;
        }
    }
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_uq"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("uq lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, inbox) = channel();
        std::thread::spawn(move || read_frames(stdout, tx));
        Client {
            child,
            stdin,
            inbox,
            next_id: 1,
        }
    }

    fn raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.raw(&msg.to_string());
    }

    /// Send a request and wait for its response (notifications on the way are dropped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.raw(&msg.to_string());
        self.wait(|m| m["id"] == json!(id))
    }

    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.inbox.recv_timeout(PATIENCE).expect("the server answers");
            if pred(&m) {
                return m;
            }
        }
    }

    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let m = self.wait(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri);
        m["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
    }
}

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": pos(line, character)})
}

const TWO_ERRORS: &str = "import mri\n\
let mask = 1\n\
prior x : real[8, 8] ~ Normal(0, sigma)\n\
let k = mri(x, mask) * tau\n\
output k\n";

#[test]
fn an_editor_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("model.uq");
    let uri = format!("file://{}", file.display());
    let mut c = Client::start();

    let init = c.request("initialize", json!({"capabilities": {}, "processId": null}));
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], json!(true), "{init}");
    assert_eq!(caps["definitionProvider"], json!(true));
    assert_eq!(caps["documentFormattingProvider"], json!(true));
    c.notify("initialized", json!({}));

    // Two errors, each at its name.
    let doc = json!({"uri": uri, "languageId": "uq", "version": 1, "text": TWO_ERRORS});
    c.notify("textDocument/didOpen", json!({"textDocument": doc}));
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 2, "{diags:?}");
    let ranges: Vec<&Value> = diags.iter().map(|d| &d["range"]).collect();
    assert_eq!(
        ranges[0],
        &json!({"start": pos(2, 33), "end": pos(2, 38)}),
        "{diags:?}"
    );
    assert_eq!(
        ranges[1],
        &json!({"start": pos(3, 23), "end": pos(3, 26)}),
        "{diags:?}"
    );
    assert!(diags[0]["message"].as_str().is_some_and(|m| m.contains("sigma")));

    // Fix one: one is left.
    let one_fixed = TWO_ERRORS.replace("Normal(0, sigma)", "Normal(0, 1)");
    let change = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": one_fixed}]});
    c.notify("textDocument/didChange", change);
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["range"], json!({"start": pos(3, 23), "end": pos(3, 26)}));

    // Fix the other (a ranged change): none, and the names have types.
    let change = json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [
        {"range": {"start": pos(3, 23), "end": pos(3, 26)}, "text": "2"}]});
    c.notify("textDocument/didChange", change);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());

    let hover = c.request("textDocument/hover", at(&uri, 2, 6));
    let text = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(text.contains("prior x : real[8, 8]"), "{hover}");
    let hover = c.request("textDocument/hover", at(&uri, 3, 5));
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|t| t.contains("let k : complex[8, 8]")),
        "{hover}"
    );
    let hover = c.request("textDocument/hover", at(&uri, 2, 25));
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|t| t.contains("Normal(mu")),
        "{hover}"
    );

    // Completion after `Nor`.
    let typing = "prior x : real[8, 8] ~ Nor";
    let change = json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": typing}]});
    c.notify("textDocument/didChange", change);
    let done = c.request("textDocument/completion", at(&uri, 0, 26));
    let labels: Vec<&str> = done["result"].as_array().map_or(Vec::new(), |a| {
        a.iter().filter_map(|i| i["label"].as_str()).collect()
    });
    assert!(labels.contains(&"Normal"), "{done}");
    assert!(!labels.contains(&"Poisson"), "{labels:?}");

    // Definition of an imported function: its line in stdlib/mri.uq.
    let change = json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": one_fixed}]});
    c.notify("textDocument/didChange", change);
    let def = c.request("textDocument/definition", at(&uri, 3, 9));
    let target = def["result"]["uri"].as_str().unwrap_or("");
    assert!(
        target.ends_with("/mri.uq") && target.starts_with("file:///"),
        "{def}"
    );
    let stdlib = uq::check::STDLIB
        .iter()
        .find(|(n, _)| *n == "mri")
        .map(|(_, t)| *t)
        .unwrap_or("");
    let line = stdlib
        .lines()
        .position(|l| l.starts_with("fn mri("))
        .expect("fn mri in stdlib");
    assert_eq!(def["result"]["range"]["start"], pos(line as u32, 3), "{def}");
    // Local definition.
    let def = c.request("textDocument/definition", at(&uri, 3, 16));
    assert_eq!(def["result"]["range"]["start"], pos(1, 4), "{def}");

    // Formatting via `uq fmt`.
    let change = json!({"textDocument": {"uri": uri, "version": 6}, "contentChanges": [{"text": "let a=1 # one\nprior x:real~Normal(0,1)\n"}]});
    c.notify("textDocument/didChange", change);
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(
        edits["result"][0]["newText"], "let a = 1  # one\nprior x : real ~ Normal(0, 1)\n",
        "{edits}"
    );

    // Bad input: the server answers and carries on.
    c.raw("{not json");
    let err = c.wait(|m| m["error"]["code"] == json!(-32700));
    assert_eq!(err["id"], Value::Null);
    let unknown = c.request("textDocument/unknownThing", json!({}));
    assert_eq!(unknown["error"]["code"], json!(-32601));
    let bad_params = c.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(bad_params["error"]["code"], json!(-32602));
    let past_end = c.request("textDocument/hover", at(&uri, 999, 999));
    assert_eq!(past_end["result"], Value::Null, "{past_end}");
    let unopened = c.request("textDocument/completion", at("file:///nowhere.uq", 0, 0));
    assert_eq!(unopened["result"], Value::Null, "{unopened}");

    let shutdown = c.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    assert!(shutdown.get("error").is_none());
    c.notify("exit", Value::Null);
    let status = c.child.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn exit_without_shutdown_is_an_error_and_requests_need_initialize() {
    let mut c = Client::start();
    let early = c.request("textDocument/hover", at("file:///a.uq", 0, 0));
    assert_eq!(early["error"]["code"], json!(-32002));
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().expect("exits").code(), Some(1));
}
