//! `uq lsp`: run the language server on stdin/stdout until the editor says `exit`.

use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct LspArgs {
    /// Accepted for clients that pass it (vscode-languageclient with `transport: stdio`); stdio is the only
    /// transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: LspArgs) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let ending = uq::lsp::serve(stdin.lock(), stdout.lock())?;
    Ok(match ending {
        uq::lsp::Ending::Clean => ExitCode::SUCCESS,
        uq::lsp::Ending::Abrupt => ExitCode::from(1),
    })
}
