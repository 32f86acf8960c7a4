//! The policy sources: texts for rationales and locations, and what the HIR leaves out
//! (the spans of `expect` steps and `correlate` clauses), recovered from the syntax tree.

use cbp_check::Span;
use cbp_check::hir;
use cbp_syntax::ast;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub struct Sources {
    texts: HashMap<String, String>,
    /// Per file: the syntax tree's items by absolute start offset.
    trees: HashMap<String, ast::SourceFile>,
    /// Hex SHA-256 over every `path \0 text \0`, in path order.
    pub hash: String,
}

impl Sources {
    pub fn new(sources: &[(String, String)]) -> Self {
        let mut sorted: Vec<&(String, String)> = sources.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        for (path, text) in &sorted {
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let hash = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let texts = sources
            .iter()
            .map(|(p, t)| (p.clone(), t.clone()))
            .collect();
        Sources {
            texts,
            trees: HashMap::new(),
            hash,
        }
    }

    /// The text of `span` (relative to `item`), or empty when the source is missing.
    pub fn slice(&self, item: &hir::Item, span: Span) -> String {
        let start = item.offset as usize + span.start as usize;
        let end = item.offset as usize + span.end as usize;
        self.texts
            .get(&item.file)
            .and_then(|t| t.get(start..end))
            .unwrap_or_default()
            .to_owned()
    }

    /// The text of `span` (relative to `item`) on one line, as a rationale quotes it.
    pub fn slice_line(&self, item: &hir::Item, span: Span) -> String {
        one_line(&self.slice(item, span))
    }

    /// `file:line:col` of an absolute offset in `file`.
    pub fn location(&self, file: &str, offset: u32) -> String {
        let (line, col) = self
            .texts
            .get(file)
            .map_or((0, 0), |t| cbp_syntax::line_col(t, offset));
        format!("{file}:{line}:{col}")
    }

    fn tree(&mut self, file: &str) -> Option<&ast::SourceFile> {
        if !self.trees.contains_key(file) {
            let text = self.texts.get(file)?;
            let parsed = cbp_syntax::parse(file, text);
            self.trees.insert(file.to_owned(), parsed.file);
        }
        self.trees.get(file)
    }

    fn ast_item(&mut self, item: &hir::Item) -> Option<&ast::Item> {
        let offset = item.offset;
        self.tree(&item.file)?
            .items
            .iter()
            .find(|i| i.span().start == offset)
    }

    /// The absolute start of every `expect` step of a test, in order.
    pub fn expect_offsets(&mut self, item: &hir::Item) -> Vec<u32> {
        match self.ast_item(item) {
            Some(ast::Item::Test(t)) => t
                .steps
                .iter()
                .filter_map(|s| match s {
                    ast::TestStep::Expect(x) => Some(x.span.start),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The source text of every `correlate`/`absent` clause of a rule, in order.
    pub fn correlate_texts(&mut self, item: &hir::Item) -> Vec<String> {
        let spans: Vec<Span> = match self.ast_item(item) {
            Some(ast::Item::Rule(r)) => r
                .clauses
                .iter()
                .filter_map(|c| match c {
                    ast::RuleClause::Correlate(k) => Some(k.span),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let text = self.texts.get(&item.file);
        spans
            .into_iter()
            .map(|s| {
                text.and_then(|t| t.get(s.range()))
                    .map(one_line)
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Source text on one line: each line break, with the indentation around it, becomes one
/// space (a condition written over several lines reads as it would on one).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 { line.trim_end() } else { line.trim() };
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}
