//! Data-driven language-server tests: each `tests/data/lsp/*.cbp` names a request in its first
//! line (`// lsp: hover`), marks the cursor with `$0`, and may add files after `//- name.cbp`
//! lines. The answer, made readable, is pinned as a snapshot in `lsp/tests/snapshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::{TestClient, position};
use serde_json::{Value, json};
use std::collections::BTreeMap;

struct Fixture {
    request: String,
    argument: String,
    /// (name, text) with the cursor marker removed; the first file is the main one.
    files: Vec<(String, String)>,
    cursor: usize,
}

fn parse_fixture(path: &std::path::Path) -> Fixture {
    let raw = std::fs::read_to_string(path).unwrap();
    let header = raw.lines().next().unwrap();
    let spec = header
        .strip_prefix("// lsp: ")
        .expect("first line: `// lsp: <request> [argument]`");
    let (request, argument) = spec.split_once(' ').unwrap_or((spec, ""));
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut files = vec![(format!("{stem}.cbp"), String::new())];
    for line in raw.split_inclusive('\n') {
        match line.strip_prefix("//- ") {
            Some(name) => files.push((name.trim().to_owned(), String::new())),
            None => files.last_mut().unwrap().1.push_str(line),
        }
    }
    let cursor = files[0].1.find("$0").unwrap_or(0);
    files[0].1 = files[0].1.replacen("$0", "", 1);
    Fixture {
        request: request.to_owned(),
        argument: argument.trim().to_owned(),
        files,
        cursor,
    }
}

fn uri(name: &str) -> String {
    format!("file:///fixtures/{name}")
}

/// Makes locations readable: `name.cbp 3:5-3:9 `text``.
struct Texts(BTreeMap<String, String>);

impl Texts {
    fn excerpt(&self, uri: &str, range: &Value) -> String {
        let name = uri
            .strip_prefix("file:///fixtures/")
            .unwrap_or(uri)
            .to_owned();
        let (sl, sc, el, ec) = (
            range["start"]["line"].as_u64().unwrap() as usize,
            range["start"]["character"].as_u64().unwrap() as usize,
            range["end"]["line"].as_u64().unwrap() as usize,
            range["end"]["character"].as_u64().unwrap() as usize,
        );
        let text = match self.0.get(uri) {
            Some(t) => {
                let lines: Vec<&str> = t.split('\n').collect();
                if sl == el {
                    lines
                        .get(sl)
                        .and_then(|l| l.get(sc..ec))
                        .unwrap_or("")
                        .to_owned()
                } else {
                    format!(
                        "{}…",
                        lines.get(sl).and_then(|l| l.get(sc..)).unwrap_or("").trim()
                    )
                }
            }
            None => String::new(),
        };
        format!(
            "{name} {}:{}-{}:{} `{text}`",
            sl + 1,
            sc + 1,
            el + 1,
            ec + 1
        )
    }

    /// Replaces every `{uri, range}` object by its excerpt, and a bare `range` of the main
    /// file likewise.
    fn readable(&self, value: Value, main: &str) -> Value {
        match value {
            Value::Object(map) => {
                if let (Some(Value::String(uri)), Some(range)) = (map.get("uri"), map.get("range"))
                    && map.len() == 2
                {
                    return Value::String(self.excerpt(uri, range));
                }
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| {
                            let v = match k.as_str() {
                                "range" | "selectionRange" if v.get("start").is_some() => {
                                    Value::String(self.excerpt(main, &v))
                                }
                                _ => self.readable(v, main),
                            };
                            (k, v)
                        })
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.readable(v, main)).collect())
            }
            other => other,
        }
    }
}

fn apply_edits(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let (line, col) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        text.split_inclusive('\n')
            .take(line)
            .map(str::len)
            .sum::<usize>()
            + col
    };
    let mut edits: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_owned();
    for (start, end, new) in edits {
        out.replace_range(start..end.min(out.len()), new);
    }
    out
}

async fn run(fixture: Fixture) -> String {
    let mut client = TestClient::start().await;
    for (name, text) in &fixture.files {
        client.open(&uri(name), text).await;
    }
    let main_uri = uri(&fixture.files[0].0);
    let main_text = fixture.files[0].1.clone();
    let mut texts = Texts(
        fixture
            .files
            .iter()
            .map(|(n, t)| (uri(n), t.clone()))
            .collect(),
    );
    let std = cbp_check::Compiler::new();
    for path in std.paths() {
        texts
            .0
            .insert(format!("cbp-std:///{path}"), std.source(&path).unwrap());
    }
    let doc = json!({ "uri": main_uri });
    let at = json!({ "textDocument": doc, "position": position(&main_text, fixture.cursor) });
    let with = |extra: Value| {
        let mut p = at.clone();
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let whole =
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 9999, "character": 0 } });
    let (method, params) = match fixture.request.as_str() {
        "diagnostics" => {
            let diags = client.diagnostics(&main_uri).await.unwrap_or(Value::Null);
            return serde_json::to_string_pretty(&texts.readable(diags, &main_uri)).unwrap();
        }
        "hover" => ("textDocument/hover", at.clone()),
        "definition" => ("textDocument/definition", at.clone()),
        "highlight" => ("textDocument/documentHighlight", at.clone()),
        "references" => (
            "textDocument/references",
            with(json!({ "context": { "includeDeclaration": true } })),
        ),
        "rename" => (
            "textDocument/rename",
            with(json!({ "newName": fixture.argument })),
        ),
        "completion" => ("textDocument/completion", at.clone()),
        "symbols" => (
            "textDocument/documentSymbol",
            json!({ "textDocument": doc }),
        ),
        "workspace-symbols" => ("workspace/symbol", json!({ "query": fixture.argument })),
        "format" => (
            "textDocument/formatting",
            json!({ "textDocument": doc, "options": { "tabSize": 4, "insertSpaces": true } }),
        ),
        "folding" => ("textDocument/foldingRange", json!({ "textDocument": doc })),
        "tokens" => (
            "textDocument/semanticTokens/full",
            json!({ "textDocument": doc }),
        ),
        "code-action" => {
            let p = position(&main_text, fixture.cursor);
            let range = json!({ "start": p, "end": p });
            (
                "textDocument/codeAction",
                json!({ "textDocument": doc, "range": range, "context": { "diagnostics": [] } }),
            )
        }
        "signature" => ("textDocument/signatureHelp", at.clone()),
        "inlay" => (
            "textDocument/inlayHint",
            json!({ "textDocument": doc, "range": whole }),
        ),
        other => panic!("unknown request `{other}`"),
    };
    let response = client.request(method, params).await;
    let result = match response.get("result") {
        Some(r) => r.clone(),
        None => return format!("error: {}", response["error"]),
    };
    match fixture.request.as_str() {
        "hover" => result["contents"]["value"]
            .as_str()
            .map_or("null".to_owned(), |s| {
                format!(
                    "{}\n\nrange: {}",
                    s,
                    texts.excerpt(&main_uri, &result["range"])
                )
            }),
        "completion" => result
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut line = format!(
                    "{} — {}",
                    c["label"].as_str().unwrap(),
                    c["detail"].as_str().unwrap_or("")
                );
                if let Some(docs) = c["documentation"]["value"].as_str() {
                    line.push_str(&format!(" — {}", docs.replace('\n', " ")));
                }
                if let Some(edit) = c.get("textEdit") {
                    line.push_str(&format!(
                        " — replaces {} with `{}`",
                        texts.excerpt(&main_uri, &edit["range"]),
                        edit["newText"].as_str().unwrap()
                    ));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "format" => match result.as_array() {
            Some(edits) => apply_edits(&main_text, edits),
            None => "null (not formatted)".to_owned(),
        },
        "rename" => {
            let changes = result["changes"].as_object().unwrap();
            let mut out = String::new();
            for (file_uri, edits) in changes {
                let text = texts.0.get(file_uri).unwrap();
                out.push_str(&format!(
                    "--- {}\n{}\n",
                    file_uri.rsplit('/').next().unwrap(),
                    apply_edits(text, edits.as_array().unwrap())
                ));
            }
            out
        }
        "tokens" => decode_tokens(&main_text, &result["data"]),
        // Each hint shown in its line: `⟨label⟩` where the editor draws it.
        "inlay" => {
            let lines: Vec<&str> = main_text.split('\n').collect();
            let mut out = String::new();
            for hint in result.as_array().unwrap() {
                let line = hint["position"]["line"].as_u64().unwrap() as usize;
                let col = hint["position"]["character"].as_u64().unwrap() as usize;
                let text = lines.get(line).copied().unwrap_or("");
                let pad = |key: &str| if hint[key] == true { " " } else { "" };
                out.push_str(&format!(
                    "{}: {}{}⟨{}⟩{}{}\n",
                    line + 1,
                    text.get(..col).unwrap_or(text).trim_start(),
                    pad("paddingLeft"),
                    hint["label"].as_str().unwrap(),
                    pad("paddingRight"),
                    text.get(col..).unwrap_or("")
                ));
            }
            out
        }
        // The actions, then the main file as each one leaves it.
        "code-action" => {
            let mut out =
                serde_json::to_string_pretty(&texts.readable(result.clone(), &main_uri)).unwrap();
            for action in result.as_array().unwrap() {
                let edits = action["edit"]["changes"][main_uri.as_str()]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\n--- after `{}`\n{}",
                    action["title"].as_str().unwrap(),
                    apply_edits(&main_text, &edits)
                ));
            }
            out
        }
        _ => serde_json::to_string_pretty(&texts.readable(result, &main_uri)).unwrap(),
    }
}

fn decode_tokens(text: &str, data: &Value) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let (mut line, mut col) = (0usize, 0usize);
    let mut out = String::new();
    let numbers: Vec<usize> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap() as usize)
        .collect();
    for t in numbers.chunks(5) {
        let (dl, ds, len, token_type, mods) = (t[0], t[1], t[2], t[3], t[4]);
        line += dl;
        col = if dl == 0 { col + ds } else { ds };
        let word = lines
            .get(line)
            .and_then(|l| l.get(col..col + len))
            .unwrap_or("?");
        let ty = cbp_lsp_types(token_type);
        out.push_str(&format!(
            "{}:{} {word} {ty}{}\n",
            line + 1,
            col + 1,
            if mods != 0 {
                format!(" mods={mods}")
            } else {
                String::new()
            }
        ));
    }
    out
}

fn cbp_lsp_types(i: usize) -> &'static str {
    const TYPES: &[&str] = &[
        "keyword",
        "string",
        "number",
        "comment",
        "operator",
        "type",
        "enum",
        "enumMember",
        "property",
        "variable",
        "function",
        "parameter",
        "namespace",
        "event",
        "decorator",
        "struct",
        "method",
    ];
    TYPES.get(i).copied().unwrap_or("?")
}

#[test]
fn fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../../tests/data/lsp", "*.cbp", |path| {
            let fixture = parse_fixture(path);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let answer = runtime.block_on(run(fixture));
            insta::assert_snapshot!(answer);
        });
    });
}
