//! Semantic tokens: the lexer's tokens, with names coloured by what they resolve to.

use crate::analysis::Analysis;
use crate::index::Target;
use crate::text::LineIndex;
use cbp_check::hir::ItemKind;
use cbp_syntax::Span;
use cbp_syntax::lexer::Token;
use tower_lsp_server::gen_lsp_types as lsp;

/// The legend, in the order the token type numbers refer to.
pub const TYPES: &[&str] = &[
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
const BUILTIN_TYPES: &[&str] = &[
    "int",
    "float",
    "bool",
    "string",
    "duration",
    "distance",
    "timestamp",
    "zone",
    "list",
    "map",
];

pub const MODIFIERS: &[&str] = &["declaration", "documentation", "readonly", "defaultLibrary"];

fn ty(name: &str) -> u32 {
    TYPES
        .iter()
        .position(|t| *t == name)
        .map_or(0, |i| i as u32)
}

fn item_type(kind: Option<&ItemKind>) -> &'static str {
    match kind {
        Some(ItemKind::Enum(_)) => "enum",
        Some(ItemKind::Record(_)) => "struct",
        Some(ItemKind::Message(_)) => "event",
        Some(ItemKind::Fn(_)) => "function",
        Some(ItemKind::Const(_)) => "variable",
        Some(ItemKind::Rule(_) | ItemKind::Report(_) | ItemKind::Test(_)) => "method",
        _ => "type",
    }
}

pub fn semantic_tokens(a: &Analysis<'_>, path: &str) -> Vec<lsp::SemanticToken> {
    let Some(data) = a.file(path) else {
        return Vec::new();
    };
    let (tokens, comments, _) = cbp_syntax::lexer::tokenize(&data.text);
    let mut classified: Vec<(Span, u32, u32)> = Vec::new();
    for (token, span) in &tokens {
        let class = match token {
            Token::Ident(name) => {
                let Some(occ) = data.index.occurrences.iter().find(|o| o.span == *span) else {
                    if BUILTIN_TYPES.contains(&name.as_str()) {
                        classified.push((*span, ty("type"), 8));
                    }
                    continue;
                };
                let name = match &occ.target {
                    Target::Item(id) => item_type(a.resolver.kind(id)),
                    Target::Field { .. } => "property",
                    Target::Variant { .. } => "enumMember",
                    Target::Local { .. } => "variable",
                };
                let mut mods = if occ.def { 1 } else { 0 };
                if let Target::Item(id) = &occ.target {
                    if &*id.package == "std" {
                        mods |= 8;
                    }
                    if matches!(a.resolver.kind(id), Some(ItemKind::Const(_))) {
                        mods |= 4;
                    }
                }
                (ty(name), mods)
            }
            Token::Int(_) | Token::Float(_) | Token::Quantity(_) => (ty("number"), 0),
            Token::Str(_) | Token::UnterminatedStr(_) | Token::SingleQuotedStr(_) => {
                (ty("string"), 0)
            }
            Token::Annotation(_) => (ty("decorator"), 0),
            t if t.keyword().is_some() => (ty("keyword"), 0),
            t => match t.punct() {
                Some("{" | "}" | "(" | ")" | "[" | "]" | "," | ":" | ".") | None => continue,
                Some(_) => (ty("operator"), 0),
            },
        };
        classified.push((*span, class.0, class.1));
    }
    for c in &comments {
        classified.push((c.span, ty("comment"), if c.is_doc { 2 } else { 0 }));
    }
    classified.sort_by_key(|(s, _, _)| s.start);
    encode(&LineIndex::new(&data.text), &data.text, &classified)
}

fn encode(
    index: &LineIndex<'_>,
    text: &str,
    tokens: &[(Span, u32, u32)],
) -> Vec<lsp::SemanticToken> {
    let mut out = Vec::with_capacity(tokens.len());
    let (mut line, mut col) = (0, 0);
    for (span, token_type, mods) in tokens {
        let start = index.position(span.start);
        let length = text
            .get(span.range())
            .map_or(0, |s| s.encode_utf16().count());
        let delta_line = start.line - line;
        let delta_start = if delta_line == 0 {
            start.character - col
        } else {
            start.character
        };
        out.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: u32::try_from(length).unwrap_or(u32::MAX),
            token_type: *token_type,
            token_modifiers_bitset: *mods,
        });
        (line, col) = (start.line, start.character);
    }
    out
}
