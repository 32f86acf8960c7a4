//! Attaches `///` doc comments to the package, item, field or variant that follows them.
//!
//! A node's docs are the doc comments between the previous token and the node's first token
//! (only whitespace and comments in between). The node's span is widened to cover them.
//! A doc comment no node claims documents nothing: E0006 (unless it sits in text the parser
//! already reported as broken).

use crate::ast::{Docs, FieldDecl, Item, SourceFile, Variant};
use crate::lexer::{Comment, Token};
use crate::{Diagnostic, Span};

struct Attacher<'a> {
    /// Indices into `comments` of the doc comments, in order.
    docs: Vec<usize>,
    claimed: Vec<bool>,
    comments: &'a [Comment],
    tokens: &'a [(Token, Span)],
}

impl Attacher<'_> {
    /// The docs right before a node starting at `start`, widening `span` to cover them.
    fn take(&mut self, start: u32) -> Docs {
        let after = self.tokens.partition_point(|(_, s)| s.end <= start);
        let prev_end = if after == 0 {
            0
        } else {
            self.tokens[after - 1].1.end
        };
        let comments = self.comments;
        let first = self
            .docs
            .partition_point(|&i| comments[i].span.start < prev_end);
        let last = self
            .docs
            .partition_point(|&i| comments[i].span.end <= start);
        let mut docs = Docs {
            lines: Vec::new(),
            span: Span::new(start as usize, start as usize),
        };
        if first >= last {
            return docs;
        }
        for k in first..last {
            self.claimed[k] = true;
            let comment = &comments[self.docs[k]];
            let text = comment.text.strip_prefix("///").unwrap_or(&comment.text);
            let text = text.strip_prefix(' ').unwrap_or(text);
            docs.lines.push(text.trim_end().to_owned());
        }
        let first_span = comments[self.docs[first]].span;
        let last_span = comments[self.docs[last - 1]].span;
        docs.span = first_span.to(last_span);
        docs
    }

    fn fields(&mut self, fields: &mut [FieldDecl]) {
        for f in fields {
            f.docs = self.take(f.span.start);
            f.span = f.docs.span.to(f.span);
        }
    }

    fn variants(&mut self, variants: &mut [Variant]) {
        for v in variants {
            v.docs = self.take(v.span.start);
            v.span = v.docs.span.to(v.span);
        }
    }

    fn item(&mut self, item: &mut Item) {
        let start = item.span().start;
        let docs = self.take(start);
        macro_rules! set {
            ($decl:expr) => {{
                $decl.span = docs.span.to($decl.span);
                $decl.docs = docs;
            }};
        }
        match item {
            Item::Enum(d) => {
                set!(d);
                self.variants(&mut d.variants);
            }
            Item::Record(d) => {
                set!(d);
                self.fields(&mut d.fields);
            }
            Item::Message(d) => {
                set!(d);
                self.fields(&mut d.fields);
            }
            Item::Action(d) => {
                set!(d);
                self.fields(&mut d.params);
            }
            Item::Plugin(d) => set!(d),
            Item::Authority(d) => set!(d),
            Item::System(d) => set!(d),
            Item::Const(d) => set!(d),
            Item::Fn(d) => set!(d),
            Item::Rule(d) => set!(d),
            Item::Report(d) => set!(d),
            Item::Test(d) => set!(d),
            // Docs before broken text are dropped silently; the parse error says enough.
            Item::Error(_) => {}
        }
    }
}

pub fn attach(
    file_name: &str,
    file: &mut SourceFile,
    comments: &[Comment],
    tokens: &[(Token, Span)],
    error_ranges: &[Span],
) -> Vec<Diagnostic> {
    let docs: Vec<usize> = (0..comments.len())
        .filter(|&i| comments[i].is_doc)
        .collect();
    if docs.is_empty() {
        return Vec::new();
    }
    let mut attacher = Attacher {
        claimed: vec![false; docs.len()],
        docs,
        comments,
        tokens,
    };
    if let Some(package) = &mut file.package {
        package.docs = attacher.take(package.span.start);
        package.span = package.docs.span.to(package.span);
    }
    for item in &mut file.items {
        attacher.item(item);
    }
    let mut diagnostics = Vec::new();
    for (k, &i) in attacher.docs.iter().enumerate() {
        if attacher.claimed[k] {
            continue;
        }
        let span = comments[i].span;
        // The token the comment would document: if the parser choked on it, stay quiet.
        let next = tokens.partition_point(|(_, s)| s.start < span.end);
        let next_start = tokens.get(next).map_or(u32::MAX, |(_, s)| s.start);
        if error_ranges
            .iter()
            .any(|r| r.start <= next_start && next_start <= r.end)
        {
            continue;
        }
        diagnostics.push(
            Diagnostic::error("E0006", file_name, span, "doc comment documents nothing")
                .with_label("nothing follows that can be documented")
                .with_help(
                    "doc comments (`///`) document the item, field, variant or package after \
                     them; use `//` for a plain comment",
                ),
        );
    }
    diagnostics
}
