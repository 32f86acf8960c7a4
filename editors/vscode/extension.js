// Starts `cbpc lsp` for .cbp files. Everything else (diagnostics, hover, completion, …) comes
// from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("cbp").get("server.path", "cbpc");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "cbp",
    "City Brain Policy",
    { run: server, debug: server },
    { documentSelector: [{ language: "cbp" }, { scheme: "cbp-std" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
