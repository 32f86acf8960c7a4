//! The canonical formatter of `.cbp`, behind `cbpc fmt`.
//!
//! Like gofmt, it has no options that change the style, and few rules:
//!
//! 1. **Layout.** Indentation is 4 spaces, lines aim at 100 columns. The file is: comments
//!    before the package, the `package` line, one blank line, the imports (sorted by their
//!    text, duplicates dropped, one per line), one blank line, then the items in source order
//!    with exactly one blank line between items. The file ends with exactly one newline and no
//!    line has trailing whitespace.
//! 2. **Bodies.** Every declaration body — record, event, incident, directive and action
//!    fields, enum variants, the properties of plugin, authority, system and report, rule
//!    clauses, test steps, and the actions of a `then`/`on approve`/`if no response` block —
//!    has one element per line and no commas. An empty body is `{}`. A blank line the author
//!    put between two elements of a body is kept (several collapse into one); a blank line
//!    right after `{` or before `}` is dropped.
//! 3. **Headers.** Doc comments print as `/// text`, one per line, before the thing they
//!    document; item annotations go on their own lines under the docs, field annotations stay
//!    on the field's line (`@pii plate: string`).
//! 4. **Expressions.** One space around binary operators and after `,` and `:`; none inside
//!    `()` and `[]`. Parentheses are printed exactly where the author wrote them, never added
//!    or dropped. A list, a record literal, the fields of an action, `send` or `expect` and a
//!    `match` stay on one line (`[a, b]`, `{ a: 1, b: 2 }`) when they fit in the width and
//!    hold no comment; otherwise they break into one element per line: list elements and
//!    match arms end with `,`, record fields have no comma. A chain of `and`/`or` that is the
//!    whole value of a clause, `let`, `const`, `fn` or property, when it does not fit or holds
//!    a comment, breaks before each `or` (before each `and` in a chain of only `and`), one
//!    indent level deeper; an `and` run inside an `or` chain stays on its line unless it too
//!    does not fit or holds a comment between its operands. A `correlate`/`absent`
//!    clause that does not fit puts each of `over last`, `within`, `where`, `at least` on its
//!    own line, one level deeper. Nothing else breaks: a long call or a long arithmetic
//!    expression stays on one line.
//! 5. **Literals** are printed from their source text (`1.50`, `1_000`, `1e3`, `"a\tb"`,
//!    `1.5km`), so formatting never changes a value or its spelling.
//! 6. **Comments** are never dropped and keep their order. A comment on its own line stays on
//!    its own line, before the element it preceded, at that element's indentation. A comment
//!    after code stays at the end of that line, one space after the code. A comment the layout
//!    cannot keep in place (inside an expression printed on one line, or between the words of
//!    a header) moves to its own line before the smallest enclosing element that starts a line.
//!    Comments between imports move with the import after them when imports are sorted.
//!
//! The result is a fixpoint (`format(format(x)) == format(x)`), and it parses to the same tree
//! as its input up to spans, import order and duplicate imports.

mod expr;
mod items;
mod printer;

use crate::{Diagnostic, ast, lexer};

/// How wide and how deep. The defaults are the canonical style; `cbpc fmt` uses them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatOptions {
    /// The column the layout tries not to pass.
    pub max_width: usize,
    /// Spaces per indentation level.
    pub indent: usize,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            max_width: 100,
            indent: 4,
        }
    }
}

/// Parses and formats one file with the default options. Returns the error diagnostics
/// instead when the file has syntax errors: broken code is never formatted.
pub fn format_source(file_name: &str, source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = crate::parse(file_name, source);
    let errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(format_file(
        &parsed.file,
        &parsed.comments,
        source,
        &FormatOptions::default(),
    ))
}

/// Formats a parsed file. `comments` are the lexer's comments of `source` (doc comments that
/// the tree already holds as [`ast::Docs`] are printed from the tree); `source` is the text
/// the tree was parsed from, used for the spelling of literals and the place of comments.
pub fn format_file(
    file: &ast::SourceFile,
    comments: &[lexer::Comment],
    source: &str,
    options: &FormatOptions,
) -> String {
    let notes = printer::collect_notes(file, comments);
    let mut printer = printer::Printer::new(source, notes, options);
    printer.file(file);
    printer.finish()
}
