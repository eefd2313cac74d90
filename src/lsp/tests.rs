//! The server in memory: bad frames, bad JSON and odd requests are answered, never fatal.

use super::{serve, Ending};
use serde_json::{json, Value};

fn frame(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

fn msg(v: Value) -> String {
    frame(&v.to_string())
}

/// Run the server over `input`; the JSON bodies it wrote.
fn run(input: &[u8]) -> (Ending, Vec<Value>) {
    let mut out = Vec::new();
    let ending = serve(input, &mut out).expect("in-memory streams do not fail");
    let text = String::from_utf8(out).expect("UTF-8 output");
    let bodies = text
        .split("Content-Length: ")
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .map(|(_, body)| serde_json::from_str(body).expect("JSON body"))
        .collect();
    (ending, bodies)
}

fn init() -> String {
    msg(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}}))
}

fn open(uri: &str, text: &str) -> String {
    msg(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
        {"uri": uri, "languageId": "uq", "version": 1, "text": text}}}),
    )
}

fn req(id: i64, method: &str, params: Value) -> String {
    msg(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

fn answer(out: &[Value], id: i64) -> &Value {
    out.iter().find(|m| m["id"] == json!(id)).expect("an answer")
}

#[test]
fn malformed_frames_are_answered_and_the_server_reads_on() {
    let mut input = String::new();
    input.push_str(&init());
    input.push_str(&frame("{not json"));
    input.push_str(&frame("[1, 2, 3]"));
    input.push_str("Content-Length: abc\r\n\r\n");
    input.push_str("no header colon\r\n\r\n");
    input.push_str(&frame(
        "{\"jsonrpc\": \"2.0\", \"id\": 99999999999, \"method\": \"x\"}",
    ));
    input.push_str(&req(1, "shutdown", Value::Null));
    input.push_str(&msg(json!({"jsonrpc": "2.0", "method": "exit"})));
    let (ending, out) = run(input.as_bytes());
    assert_eq!(ending, Ending::Clean);
    let parse_errors = out.iter().filter(|m| m["error"]["code"] == json!(-32700)).count();
    assert_eq!(parse_errors, 4, "{out:?}");
    let invalid = answer(&out, 99999999999);
    assert_eq!(invalid["error"]["code"], json!(-32600), "{invalid}");
    assert_eq!(answer(&out, 1)["result"], Value::Null);
}

#[test]
fn a_huge_length_is_skipped_not_allocated() {
    let mut input = init().into_bytes();
    input.extend_from_slice(b"Content-Length: 18446744073709551615\r\n\r\n{}");
    let (ending, out) = run(&input);
    assert_eq!(ending, Ending::Abrupt);
    assert!(out.iter().any(|m| m["error"]["code"] == json!(-32700)), "{out:?}");
}

#[test]
fn odd_positions_and_texts_do_not_panic() {
    let uri = "file:///tmp/odd.uq";
    let texts = [
        "",
        "prior x ~ Normal(0, 1)\n# 𝔼[x] ünïcode\nlet y = x",
        "((((((((",
        "\"unterminated",
        "let 𝔼 = 1",
        "import nosuchmodule\nimport mri\nfn f(x) = mri(x, 1)\n",
        "prior x : real[999999999999999999999] ~ Normal(0, 1)",
    ];
    for text in texts {
        let mut input = init();
        input.push_str(&open(uri, text));
        let positions = [(0, 0), (0, 3), (1, 2), (1, 3), (2, 100), (u32::MAX, u32::MAX)];
        let mut id = 1;
        for (line, character) in positions {
            let at =
                json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
            for method in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
            ] {
                input.push_str(&req(id, method, at.clone()));
                id += 1;
            }
        }
        let change = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 1}, "end": {"line": 99, "character": 0}}, "text": "ü"},
            {"range": {"start": {"line": 5, "character": 9}, "end": {"line": 0, "character": 0}}, "text": "x"}]});
        input.push_str(&msg(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": change}),
        ));
        input.push_str(&req(
            id,
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
        ));
        let (_, out) = run(input.as_bytes());
        for i in 1..=id {
            let a = answer(&out, i);
            assert!(
                a.get("result").is_some() || a.get("error").is_some(),
                "{text:?}: {a}"
            );
        }
    }
}

#[test]
fn module_files_have_no_missing_prior_error() {
    let uri = "file:///tmp/ops.uq";
    let mut input = init();
    input.push_str(&open(uri, "import mri\nfn g(x, m) = mri(x, m) * 2\n"));
    let (_, out) = run(input.as_bytes());
    let diags = out
        .iter()
        .find(|m| m["method"] == "textDocument/publishDiagnostics")
        .map(|m| m["params"]["diagnostics"].clone());
    assert_eq!(diags, Some(json!([])));
}
