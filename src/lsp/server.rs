//! The server loop: lifecycle (initialize, shutdown, exit), open documents, request dispatch.

use super::transport::{read_frame, write_error, write_message, Frame, INVALID_REQUEST, PARSE_ERROR};
use super::{analysis, complete, navigate, position};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response, ResponseError};
use lsp_types::{
    CompletionOptions, DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    HoverProviderCapability, OneOf, PublishDiagnosticsParams, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};

/// How the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit` after `shutdown` (exit code 0).
    Clean,
    /// `exit` without `shutdown`, or the input ended (exit code 1, as the protocol asks).
    Abrupt,
}

struct Doc {
    text: String,
    version: i32,
}

struct Server<W: Write> {
    out: W,
    docs: HashMap<Uri, Doc>,
    initialized: bool,
    shut_down: bool,
}

/// Serve one client on `input`/`output` until `exit` or the end of the input.
pub fn serve(input: impl BufRead, output: impl Write) -> io::Result<Ending> {
    let mut input = input;
    let mut s = Server {
        out: output,
        docs: HashMap::new(),
        initialized: false,
        shut_down: false,
    };
    loop {
        match read_frame(&mut input)? {
            Frame::Eof => return Ok(Ending::Abrupt),
            Frame::Malformed(why) => write_error(&mut s.out, Value::Null, PARSE_ERROR, &why)?,
            Frame::Invalid { id, why } => write_error(&mut s.out, id, INVALID_REQUEST, &why)?,
            Frame::Message(Message::Request(req)) => s.request(req)?,
            Frame::Message(Message::Notification(n)) if n.method == "exit" => {
                return Ok(if s.shut_down {
                    Ending::Clean
                } else {
                    Ending::Abrupt
                });
            }
            Frame::Message(Message::Notification(n)) => s.notification(n)?,
            // We send no requests, so answers are unexpected: ignored.
            Frame::Message(Message::Response(_)) => {}
        }
    }
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions::default()),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

fn params<P: DeserializeOwned>(v: Value) -> Result<P, ResponseError> {
    serde_json::from_value(v).map_err(|e| error(ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

fn error(code: ErrorCode, message: String) -> ResponseError {
    ResponseError {
        code: code as i32,
        message,
        data: None,
    }
}

impl<W: Write> Server<W> {
    fn send(&mut self, msg: impl Into<Message>) -> io::Result<()> {
        write_message(&mut self.out, msg.into())
    }

    fn request(&mut self, req: Request) -> io::Result<()> {
        let id: RequestId = req.id.clone();
        let result = self.answer(req);
        let response_result = result.and_then(|v| {
            serde_json::to_value(v).map_err(|e| error(ErrorCode::InternalError, e.to_string()))
        });
        self.send(Response { id, response_result })
    }

    fn answer(&mut self, req: Request) -> Result<Value, ResponseError> {
        let method = req.method.as_str();
        if method == "initialize" {
            if self.initialized {
                return Err(error(ErrorCode::InvalidRequest, "already initialized".into()));
            }
            self.initialized = true;
            let result = lsp_types::InitializeResult {
                capabilities: capabilities(),
                server_info: Some(ServerInfo {
                    name: "uq".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                }),
            };
            return json(result);
        }
        if !self.initialized {
            return Err(error(ErrorCode::ServerNotInitialized, "initialize first".into()));
        }
        if self.shut_down {
            return Err(error(
                ErrorCode::InvalidRequest,
                "the server is shutting down".into(),
            ));
        }
        match method {
            "shutdown" => {
                self.shut_down = true;
                Ok(Value::Null)
            }
            "textDocument/hover" => {
                let p: lsp_types::HoverParams = params(req.params)?;
                let at = &p.text_document_position_params;
                json(
                    self.doc(&at.text_document.uri).and_then(|(uri, text)| {
                        navigate::hover(uri, text, position::offset(text, at.position))
                    }),
                )
            }
            "textDocument/definition" => {
                let p: lsp_types::GotoDefinitionParams = params(req.params)?;
                let at = &p.text_document_position_params;
                json(self.doc(&at.text_document.uri).and_then(|(uri, text)| {
                    navigate::definition(uri, text, position::offset(text, at.position))
                }))
            }
            "textDocument/completion" => {
                let p: lsp_types::CompletionParams = params(req.params)?;
                let at = &p.text_document_position;
                json(
                    self.doc(&at.text_document.uri).map(|(uri, text)| {
                        complete::completion(uri, text, position::offset(text, at.position))
                    }),
                )
            }
            "textDocument/formatting" => {
                let p: lsp_types::DocumentFormattingParams = params(req.params)?;
                let Some((_, text)) = self.doc(&p.text_document.uri) else {
                    return Ok(Value::Null);
                };
                let edits = analysis::format_edits(text).map_err(|m| error(ErrorCode::RequestFailed, m))?;
                json(edits)
            }
            other => Err(error(
                ErrorCode::MethodNotFound,
                format!("unknown method `{other}`"),
            )),
        }
    }

    fn doc(&self, uri: &Uri) -> Option<(&Uri, &str)> {
        self.docs.get_key_value(uri).map(|(u, d)| (u, d.text.as_str()))
    }

    fn notification(&mut self, n: Notification) -> io::Result<()> {
        if !self.initialized || self.shut_down {
            return Ok(());
        }
        // A notification cannot be answered: one with bad params is dropped.
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let d = p.text_document;
                    self.docs.insert(
                        d.uri.clone(),
                        Doc {
                            text: d.text,
                            version: d.version,
                        },
                    );
                    return self.publish(&d.uri);
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri;
                    if let Some(doc) = self.docs.get_mut(&uri) {
                        for change in p.content_changes {
                            analysis::apply_change(&mut doc.text, change);
                        }
                        doc.version = p.text_document.version;
                        return self.publish(&uri);
                    }
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri;
                    if self.docs.remove(&uri).is_some() {
                        let params = PublishDiagnosticsParams::new(uri, Vec::new(), None);
                        return self.notify("textDocument/publishDiagnostics", params);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn publish(&mut self, uri: &Uri) -> io::Result<()> {
        let Some(doc) = self.docs.get(uri) else {
            return Ok(());
        };
        let diagnostics = analysis::diagnostics(uri, &doc.text);
        let params = PublishDiagnosticsParams::new(uri.clone(), diagnostics, Some(doc.version));
        self.notify("textDocument/publishDiagnostics", params)
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) -> io::Result<()> {
        let params = serde_json::to_value(params).map_err(io::Error::other)?;
        self.send(Notification {
            method: method.into(),
            params,
        })
    }
}

fn json(v: impl serde::Serialize) -> Result<Value, ResponseError> {
    serde_json::to_value(v).map_err(|e| error(ErrorCode::InternalError, e.to_string()))
}
