//! The LSP front: the [`Backend`] holds the compiler behind a mutex, turns notifications into
//! salsa input updates and requests into calls of the pure functions of the other modules.
//! Every request runs under `catch_unwind`, so a bug answers one request with an error instead
//! of taking the server down.
//!
//! Requests run in phases with a yield between them (`Backend::request`): an edit that arrives
//! meanwhile makes the request answer `ContentModified` instead of computing on text that is
//! gone, and a `$/cancelRequest` (which drops the request's future) takes effect at a yield.

use crate::analysis::{Analysis, Snapshot};
use crate::text::{LineIndex, path_of, uri_of};
use crate::{assist, complete, diagnostics, hover, navigate, outline, tokens};
use cbp_check::Compiler;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use tower_lsp_server::gen_lsp_types as lsp;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::{Client, LanguageServer};

/// An open document: the URI the client spells it with, and its version.
struct Open {
    uri: lsp::Uri,
    version: i32,
}

#[derive(Default)]
pub(crate) struct State {
    compiler: Compiler,
    open: HashMap<String, Open>,
    /// What was last published per open file, to publish only changes.
    published: HashMap<String, Vec<lsp::Diagnostic>>,
    /// The analysis of the current text; every edit clears it.
    snapshot: Option<Arc<Snapshot>>,
    /// Bumped by every edit of the workspace's text; a request started at an older
    /// generation is stale.
    generation: u64,
}

pub struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
}

type Publish = Vec<(lsp::Uri, Vec<lsp::Diagnostic>, Option<i32>)>;

impl State {
    fn set_file(&mut self, path: &str, text: String) {
        if self.compiler.source(path).as_deref() != Some(text.as_str()) {
            self.generation += 1;
        }
        self.snapshot = None;
        self.compiler.set_file(path, text);
    }

    fn remove_file(&mut self, path: &str) {
        self.generation += 1;
        self.snapshot = None;
        self.compiler.remove_file(path);
    }

    fn analysis(&mut self) -> Analysis<'_> {
        Analysis::cached(&self.compiler, &mut self.snapshot)
    }

    /// Diagnostics of open files that differ from what was last published.
    fn changed_diagnostics(&mut self) -> Publish {
        let mut out = Vec::new();
        for (path, open) in &self.open {
            let now = diagnostics::for_file(&self.compiler, path);
            if self.published.get(path) != Some(&now) {
                self.published.insert(path.clone(), now.clone());
                out.push((open.uri.clone(), now, Some(open.version)));
            }
        }
        out.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        out
    }

    fn load_folder(&mut self, dir: &std::path::Path, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if depth < 8 && !name.starts_with('.') && name != "target" && name != "node_modules"
                {
                    self.load_folder(&path, depth + 1);
                }
            } else if name.ends_with(".cbp")
                && let (Some(p), Ok(text)) = (path.to_str(), std::fs::read_to_string(&path))
                && !self.open.contains_key(p)
            {
                self.set_file(p, text);
            }
        }
    }
}

impl Backend {
    pub fn new(client: Client) -> Self {
        Backend {
            client,
            state: Arc::default(),
        }
    }

    /// Runs `f` on the state, turning a panic into an internal error.
    fn guarded<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T> {
        guarded(&self.state, f)
    }

    async fn publish(&self, changes: Publish) {
        for (uri, diagnostics, version) in changes {
            self.client
                .publish_diagnostics(uri, diagnostics, version)
                .await;
        }
    }

    async fn update(&self, uri: &lsp::Uri, text: Option<String>, version: Option<i32>) {
        let path = path_of(uri);
        let changes = self.guarded(|s| {
            if let Some(text) = text {
                s.set_file(&path, text);
            }
            let entry = s.open.entry(path.clone()).or_insert(Open {
                uri: uri.clone(),
                version: 0,
            });
            if let Some(v) = version {
                entry.version = v;
            }
            s.changed_diagnostics()
        });
        if let Ok(changes) = changes {
            self.publish(changes).await;
        }
    }

    /// Runs a request on the text it was sent for, in phases: the generation is read when
    /// the request is first polled (in the order requests and edits arrived), then the
    /// request yields so that edits already received land, checks the program (the expensive
    /// part, cached until the next edit), yields again, and answers. After each yield a
    /// newer generation means the request is stale: it fails with `ContentModified`. Each
    /// yield is also where a `$/cancelRequest` drops the request.
    async fn request<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T> {
        let started = self.guarded(|s| s.generation)?;
        tokio::task::yield_now().await;
        self.guarded(|s| current(started, s.generation))??;
        self.guarded(|s| {
            s.analysis();
        })?;
        tokio::task::yield_now().await;
        self.guarded(|s| current(started, s.generation).map(|()| f(s)))?
    }

    /// Runs a position request: the compiler path and the byte offset of the position.
    async fn at<T>(
        &self,
        doc: &lsp::TextDocumentPositionParams,
        f: impl FnOnce(&mut State, &str, u32) -> Option<T>,
    ) -> Result<Option<T>> {
        let path = path_of(&doc.text_document.uri);
        let position = doc.position;
        self.request(|s| {
            let text = s.compiler.source(&path)?;
            let offset = LineIndex::new(&text).offset(position);
            f(s, &path, offset)
        })
        .await
    }
}

/// `Ok` when no edit happened since generation `started`, else the LSP `ContentModified`
/// error (clients drop the answer silently and ask again if they still need it).
pub(crate) fn current(started: u64, now: u64) -> Result<()> {
    if started == now {
        return Ok(());
    }
    let mut e = Error::content_modified();
    e.message = "the document changed while the request was pending".into();
    Err(e)
}

pub(crate) fn guarded<T>(state: &Mutex<State>, f: impl FnOnce(&mut State) -> T) -> Result<T> {
    // A panic while the lock was held poisons it; the state is still usable (salsa inputs are
    // plain values), so take it anyway.
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    catch_unwind(AssertUnwindSafe(|| f(&mut state))).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let mut e = Error::internal_error();
        e.message = format!("internal error in the cbp language server: {what}").into();
        e
    })
}

/// The text after a `didChange`'s changes, in order.
fn apply_changes(mut text: String, changes: Vec<lsp::TextDocumentContentChangeEvent>) -> String {
    for change in changes {
        match change {
            lsp::TextDocumentContentChangeEvent::TextDocumentContentChangeWholeDocument(w) => {
                text = w.text;
            }
            lsp::TextDocumentContentChangeEvent::TextDocumentContentChangePartial(p) => {
                let span = LineIndex::new(&text).span(p.range);
                text.replace_range(span.range(), &p.text);
            }
        }
    }
    text
}

/// Locations in the workspace → LSP locations.
fn locations(compiler: &Compiler, spans: Vec<(String, cbp_syntax::Span)>) -> Vec<lsp::Location> {
    let mut texts: HashMap<String, String> = HashMap::new();
    spans
        .into_iter()
        .filter_map(|(path, span)| {
            if !texts.contains_key(&path) {
                texts.insert(path.clone(), compiler.source(&path)?);
            }
            let range = LineIndex::new(texts.get(&path)?).range(span);
            Some(lsp::Location {
                uri: uri_of(&path),
                range,
            })
        })
        .collect()
}

fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSync::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::Full),
                save: Some(lsp::Save::Bool(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProvider::Bool(true)),
        definition_provider: Some(lsp::DefinitionProvider::Bool(true)),
        references_provider: Some(lsp::ReferencesProvider::Bool(true)),
        document_highlight_provider: Some(lsp::DocumentHighlightProvider::Bool(true)),
        document_symbol_provider: Some(lsp::DocumentSymbolProvider::Bool(true)),
        workspace_symbol_provider: Some(lsp::WorkspaceSymbolProvider::Bool(true)),
        document_formatting_provider: Some(lsp::DocumentFormattingProvider::Bool(true)),
        folding_range_provider: Some(lsp::FoldingRangeProvider::Bool(true)),
        rename_provider: Some(lsp::RenameProvider::RenameOptions(lsp::RenameOptions {
            prepare_provider: Some(true),
            ..Default::default()
        })),
        code_action_provider: Some(lsp::CodeActionProvider::Bool(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".to_owned(), ":".to_owned()]),
            ..Default::default()
        }),
        signature_help_provider: Some(lsp::SignatureHelpOptions {
            trigger_characters: Some(vec!["(".to_owned(), ",".to_owned()]),
            ..Default::default()
        }),
        inlay_hint_provider: Some(lsp::InlayHintProvider::Bool(true)),
        semantic_tokens_provider: Some(lsp::SemanticTokensProvider::SemanticTokensOptions(
            lsp::SemanticTokensOptions {
                legend: lsp::SemanticTokensLegend {
                    token_types: tokens::TYPES.iter().map(|t| (*t).to_owned()).collect(),
                    token_modifiers: tokens::MODIFIERS.iter().map(|t| (*t).to_owned()).collect(),
                },
                range: None,
                full: Some(lsp::Full::Bool(true)),
                work_done_progress_options: Default::default(),
            },
        )),
        workspace: Some(lsp::WorkspaceOptions {
            workspace_folders: None,
            file_operations: None,
            text_document_content: Some(lsp::TextDocumentContent::Options(
                lsp::TextDocumentContentOptions {
                    schemes: vec!["cbp-std".to_owned()],
                },
            )),
        }),
        ..Default::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        let mut roots: Vec<lsp::Uri> = Vec::new();
        if let Some(lsp::WorkspaceFolders::WorkspaceFolderList(folders)) =
            &params.workspace_folders_initialize_params.workspace_folders
        {
            roots.extend(folders.iter().map(|f| f.uri.clone()));
        }
        #[allow(deprecated)]
        if roots.is_empty()
            && let Some(root) = &params.root_uri
        {
            roots.push(root.clone());
        }
        self.guarded(|s| {
            for root in &roots {
                let path = path_of(root);
                if path.starts_with('/') {
                    s.load_folder(std::path::Path::new(&path), 0);
                }
            }
        })?;
        Ok(lsp::InitializeResult {
            capabilities: capabilities(),
            server_info: Some(lsp::ServerInfo {
                name: "cbpc lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        let doc = params.text_document;
        self.update(&doc.uri, Some(doc.text), Some(doc.version))
            .await;
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        // Full sync is what the server asks for; ranged changes are applied all the same.
        let uri = &params.text_document.text_document_identifier.uri;
        let path = path_of(uri);
        let current = self.guarded(|s| s.compiler.source(&path)).ok().flatten();
        let text = apply_changes(current.unwrap_or_default(), params.content_changes);
        let doc = params.text_document;
        self.update(
            &doc.text_document_identifier.uri,
            Some(text),
            Some(doc.version),
        )
        .await;
    }

    async fn did_save(&self, params: lsp::DidSaveTextDocumentParams) {
        self.update(&params.text_document.uri, params.text, None)
            .await;
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let path = path_of(&uri);
        let changes = self.guarded(|s| {
            s.open.remove(&path);
            s.published.remove(&path);
            // The file goes back to what is on disk, or out of the workspace.
            match std::fs::read_to_string(&path) {
                Ok(text) if path.starts_with('/') => s.set_file(&path, text),
                _ => s.remove_file(&path),
            }
            s.changed_diagnostics()
        });
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
        if let Ok(changes) = changes {
            self.publish(changes).await;
        }
    }

    /// The text of standard-library files, which definitions and references point into.
    async fn text_document_content(
        &self,
        params: lsp::TextDocumentContentParams,
    ) -> Result<lsp::TextDocumentContentResult> {
        let path = path_of(&params.uri);
        let text = self.guarded(|s| s.compiler.source(&path))?;
        match text {
            Some(text) => Ok(lsp::TextDocumentContentResult { text }),
            None => Err(Error::invalid_params(format!("no document `{path}`"))),
        }
    }

    async fn hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        self.at(&params.text_document_position_params, |s, path, offset| {
            let a = s.analysis();
            let c = a.compiler;
            let (value, span) = hover::hover(&a, path, offset)?;
            let text = c.source(path)?;
            Some(lsp::Hover {
                contents: lsp::Contents::MarkupContent(lsp::MarkupContent {
                    kind: lsp::MarkupKind::Markdown,
                    value,
                }),
                range: Some(LineIndex::new(&text).range(span)),
            })
        })
        .await
    }

    async fn goto_definition(
        &self,
        params: lsp::DefinitionParams,
    ) -> Result<Option<lsp::DefinitionResponse>> {
        self.at(&params.text_document_position_params, |s, path, offset| {
            let a = s.analysis();
            let c = a.compiler;
            let def = navigate::definition(&a, path, offset)?;
            let location = locations(c, vec![def]).pop()?;
            Some(lsp::DefinitionResponse::Definition(
                lsp::Definition::Location(location),
            ))
        })
        .await
    }

    async fn references(&self, params: lsp::ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        let include = params.context.include_declaration;
        self.at(&params.text_document_position_params, |s, path, offset| {
            let a = s.analysis();
            let c = a.compiler;
            let refs = navigate::references(&a, path, offset, include);
            Some(locations(c, refs))
        })
        .await
    }

    async fn document_highlight(
        &self,
        params: lsp::DocumentHighlightParams,
    ) -> Result<Option<Vec<lsp::DocumentHighlight>>> {
        self.at(&params.text_document_position_params, |s, path, offset| {
            let a = s.analysis();
            let text = a.compiler.source(path)?;
            let index = LineIndex::new(&text);
            let highlights = navigate::highlights(&a, path, offset);
            Some(
                highlights
                    .into_iter()
                    .map(|(span, def)| lsp::DocumentHighlight {
                        range: index.range(span),
                        kind: Some(if def {
                            lsp::DocumentHighlightKind::Write
                        } else {
                            lsp::DocumentHighlightKind::Read
                        }),
                    })
                    .collect(),
            )
        })
        .await
    }

    async fn prepare_rename(
        &self,
        params: lsp::TextDocumentPositionParams,
    ) -> Result<Option<lsp::PrepareRenameResult>> {
        self.at(&params, |s, path, offset| {
            let a = s.analysis();
            let c = a.compiler;
            let (_, span) = navigate::target_at(&a, path, offset)?;
            let text = c.source(path)?;
            Some(lsp::PrepareRenameResult::Range(
                LineIndex::new(&text).range(span),
            ))
        })
        .await
    }

    async fn rename(&self, params: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>> {
        let new_name = params.new_name;
        let edits = self
            .at(&params.text_document_position_params, |s, path, offset| {
                let a = s.analysis();
                let c = a.compiler;
                Some(navigate::rename(&a, path, offset, &new_name).map(|spans| {
                    let mut changes: HashMap<lsp::Uri, Vec<lsp::TextEdit>> = HashMap::new();
                    for location in locations(c, spans) {
                        changes
                            .entry(location.uri)
                            .or_default()
                            .push(lsp::TextEdit {
                                range: location.range,
                                new_text: new_name.clone(),
                            });
                    }
                    lsp::WorkspaceEdit {
                        changes: Some(changes),
                        ..Default::default()
                    }
                }))
            })
            .await?;
        match edits {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(why)) => Err(Error::invalid_params(why)),
            None => Ok(None),
        }
    }

    async fn document_symbol(
        &self,
        params: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| {
            let a = s.analysis();
            Some(lsp::DocumentSymbolResponse::DocumentSymbolList(
                outline::document_symbols(&a, &path),
            ))
        })
        .await
    }

    async fn symbol(
        &self,
        params: lsp::WorkspaceSymbolParams,
    ) -> Result<Option<lsp::WorkspaceSymbolResponse>> {
        self.request(|s| {
            let a = s.analysis();
            Some(lsp::WorkspaceSymbolResponse::WorkspaceSymbolList(
                outline::workspace_symbols(&a, &params.query),
            ))
        })
        .await
    }

    async fn folding_range(
        &self,
        params: lsp::FoldingRangeParams,
    ) -> Result<Option<Vec<lsp::FoldingRange>>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| Some(outline::folding_ranges(&s.analysis(), &path)))
            .await
    }

    async fn semantic_tokens_full(
        &self,
        params: lsp::SemanticTokensParams,
    ) -> Result<Option<lsp::SemanticTokens>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| {
            let data = tokens::semantic_tokens(&s.analysis(), &path);
            Some(lsp::SemanticTokens {
                result_id: None,
                data,
            })
        })
        .await
    }

    async fn formatting(
        &self,
        params: lsp::DocumentFormattingParams,
    ) -> Result<Option<Vec<lsp::TextEdit>>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| {
            let text = s.compiler.source(&path)?;
            // A file with syntax errors is not formatted (the diagnostics say why).
            let formatted = cbp_syntax::format::format_source(&path, &text).ok()?;
            if formatted == text {
                return Some(Vec::new());
            }
            let index = LineIndex::new(&text);
            let range = lsp::Range {
                start: lsp::Position {
                    line: 0,
                    character: 0,
                },
                end: index.end(),
            };
            Some(vec![lsp::TextEdit {
                range,
                new_text: formatted,
            }])
        })
        .await
    }

    async fn completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        self.at(&params.text_document_position_params, |s, path, offset| {
            let items = complete::complete(&mut s.compiler, &mut s.snapshot, path, offset);
            Some(lsp::CompletionResponse::CompletionItemList(items))
        })
        .await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<Vec<lsp::CodeActionResponse>>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| {
            let text = s.compiler.source(&path)?;
            let span = LineIndex::new(&text).span(params.range);
            let a = s.analysis();
            let actions = assist::code_actions(&a, &path, span);
            Some(
                actions
                    .into_iter()
                    .map(lsp::CodeActionResponse::CodeAction)
                    .collect(),
            )
        })
        .await
    }

    async fn signature_help(
        &self,
        params: lsp::SignatureHelpParams,
    ) -> Result<Option<lsp::SignatureHelp>> {
        self.at(&params.text_document_position_params, |s, path, offset| {
            assist::signature_help(&s.analysis(), path, offset)
        })
        .await
    }

    async fn inlay_hint(
        &self,
        params: lsp::InlayHintParams,
    ) -> Result<Option<Vec<lsp::InlayHint>>> {
        let path = path_of(&params.text_document.uri);
        self.request(|s| {
            let hints = assist::inlay_hints(&s.analysis(), &path);
            let range = params.range;
            let inside = |p: &lsp::Position| {
                (p.line, p.character) >= (range.start.line, range.start.character)
                    && (p.line, p.character) <= (range.end.line, range.end.character)
            };
            Some(hints.into_iter().filter(|h| inside(&h.position)).collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)] // `range_length` is a required field of the generated struct
    fn ranged_changes_apply_in_order() {
        let range = |l1, c1, l2, c2| lsp::Range {
            start: lsp::Position {
                line: l1,
                character: c1,
            },
            end: lsp::Position {
                line: l2,
                character: c2,
            },
        };
        let partial = |r, t: &str| {
            lsp::TextDocumentContentChangeEvent::TextDocumentContentChangePartial(
                lsp::TextDocumentContentChangePartial {
                    range: r,
                    range_length: None,
                    text: t.to_owned(),
                },
            )
        };
        let text = apply_changes(
            "ab\ncd\n".to_owned(),
            vec![
                partial(range(1, 0, 1, 1), "X"),
                partial(range(0, 2, 1, 0), ""),
            ],
        );
        assert_eq!(text, "abXd\n");
    }

    #[test]
    fn a_request_is_current_until_an_edit_changes_the_text() {
        assert!(current(3, 3).is_ok());
        let stale = current(3, 4).unwrap_err();
        assert_eq!(
            stale.code,
            tower_lsp_server::jsonrpc::ErrorCode::ContentModified
        );
        let mut state = State::default();
        state.set_file("/a.cbp", "const A = 1".to_owned());
        let after_open = state.generation;
        state.set_file("/a.cbp", "const A = 1".to_owned());
        assert_eq!(state.generation, after_open, "the same text is no edit");
        state.set_file("/a.cbp", "const A = 2".to_owned());
        assert_eq!(state.generation, after_open + 1);
        state.remove_file("/a.cbp");
        assert_eq!(state.generation, after_open + 2);
    }

    #[test]
    fn a_panic_in_a_request_becomes_an_error_and_the_state_survives() {
        let state = Mutex::new(State::default());
        let result: Result<()> = guarded(&state, |_| panic!("boom"));
        let error = result.unwrap_err();
        assert!(error.message.contains("boom"), "{error:?}");
        let paths = guarded(&state, |s| s.compiler.paths().len()).unwrap();
        assert!(paths > 0, "the standard library is still loaded");
    }
}
