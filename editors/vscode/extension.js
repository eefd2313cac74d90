// uq for VS Code: starts `uq lsp` (stdio) for .uq files through vscode-languageclient.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('uq').get('path') || 'uq';
  // No `transport` key: the client then speaks stdio without adding a `--stdio` argument.
  const run = { command, args: ['lsp'] };
  const serverOptions = { run, debug: run };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'uq' },
      { scheme: 'untitled', language: 'uq' },
    ],
  };
  client = new LanguageClient('uq', 'uq language server', serverOptions, clientOptions);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `uq: could not start \`${command} lsp\` (${err}). Install uq or set "uq.path".`
    );
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
