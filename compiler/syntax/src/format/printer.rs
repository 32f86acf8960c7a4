//! The line printer: indentation, blank lines, and the placement of comments.
//!
//! Comments are a queue in source order with a cursor. They leave the queue in three ways:
//! - before an *anchor* (an element that starts a line: an item, a field, a clause, a list
//!   element…), every queued comment that starts before it is printed on its own line;
//! - at the end of a line, the next comment is appended when nothing but spaces and commas
//!   lie between the last code printed on that line and the comment in the source;
//! - when a line ends and a queued comment lies *before* code already printed on it (a comment
//!   inside an expression printed on one line), the line is "passed over" that comment: the
//!   innermost anchor being printed throws its output away, prints the comments up to that one
//!   on their own lines, and prints itself again. Each retry consumes a comment, so this ends.

use super::FormatOptions;
use crate::{Span, ast, lexer};

/// A line ended after code that comes later in the source than the queued comment at this
/// index: the enclosing anchor must print that comment (and those before it) first.
#[derive(Debug)]
pub(super) struct PassedOver(usize);

pub(super) type Res = Result<(), PassedOver>;

/// Whether a blank line may precede an anchor (or its leading comments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blank {
    /// Always one blank line (between items), except at the start of the file.
    Force,
    /// One blank line when the author left at least one (inside bodies).
    Keep,
    /// Never (inside expressions).
    Never,
}

/// A non-doc comment (or a doc comment the tree does not hold).
#[derive(Clone, Debug)]
pub(super) struct Note {
    pub start: u32,
    pub end: u32,
    pub text: String,
}

/// The comments the printer must place: every comment except the doc comments that the tree
/// holds as [`ast::Docs`] (those are printed from the tree).
pub(super) fn collect_notes(file: &ast::SourceFile, comments: &[lexer::Comment]) -> Vec<Note> {
    let docs = doc_spans(file);
    let mut notes: Vec<Note> = comments
        .iter()
        .filter(|c| !(c.is_doc && docs.iter().any(|d| d.contains(c.span))))
        .map(|c| Note {
            start: c.span.start,
            end: c.span.end,
            text: c.text.trim_end().to_owned(),
        })
        .collect();
    notes.sort_by_key(|n| n.start);
    notes
}

fn doc_spans(file: &ast::SourceFile) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut add = |docs: &ast::Docs| {
        if !docs.is_empty() {
            spans.push(docs.span);
        }
    };
    if let Some(package) = &file.package {
        add(&package.docs);
    }
    for item in &file.items {
        match item {
            ast::Item::Enum(e) => {
                add(&e.docs);
                e.variants.iter().for_each(|v| add(&v.docs));
            }
            ast::Item::Record(r) => {
                add(&r.docs);
                r.fields.iter().for_each(|f| add(&f.docs));
            }
            ast::Item::Message(m) => {
                add(&m.docs);
                m.fields.iter().for_each(|f| add(&f.docs));
            }
            ast::Item::Action(a) => {
                add(&a.docs);
                a.params.iter().for_each(|f| add(&f.docs));
            }
            ast::Item::Plugin(i) => add(&i.docs),
            ast::Item::Authority(i) => add(&i.docs),
            ast::Item::System(i) => add(&i.docs),
            ast::Item::Const(i) => add(&i.docs),
            ast::Item::Fn(i) => add(&i.docs),
            ast::Item::Rule(i) => add(&i.docs),
            ast::Item::Report(i) => add(&i.docs),
            ast::Item::Test(i) => add(&i.docs),
            ast::Item::Error(_) => {}
        }
    }
    spans
}

/// What an anchor restores before printing itself again.
#[derive(Clone, Copy)]
struct Snapshot {
    out_len: usize,
    cursor: usize,
    indent: usize,
    line_src_end: u32,
    last_src_end: u32,
    suppress_blank: bool,
}

pub(super) struct Printer<'a> {
    source: &'a str,
    notes: Vec<Note>,
    options: &'a FormatOptions,
    out: String,
    /// Indentation level of the lines being printed.
    pub(super) indent: usize,
    /// The next comment to place.
    cursor: usize,
    /// The furthest source offset printed on the current line; 0 when none.
    line_src_end: u32,
    /// The source offset where the last printed line ended, for blank-line detection.
    last_src_end: u32,
    /// Right after `{`: no blank line may follow.
    suppress_blank: bool,
}

impl<'a> Printer<'a> {
    pub(super) fn new(source: &'a str, notes: Vec<Note>, options: &'a FormatOptions) -> Self {
        Printer {
            source,
            notes,
            options,
            out: String::new(),
            indent: 0,
            cursor: 0,
            line_src_end: 0,
            last_src_end: 0,
            suppress_blank: true,
        }
    }

    /// The formatted text: leftover comments at the end, then exactly one final newline.
    pub(super) fn finish(mut self) -> String {
        if !self.at_line_start() {
            self.raw_newline();
        }
        self.indent = 0;
        self.flush_before(u32::MAX, Blank::Keep);
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }

    // ----- source -----

    /// The source text of a span, when the span lies in the source.
    pub(super) fn slice(&self, span: Span) -> Option<&'a str> {
        if span.is_empty() {
            None
        } else {
            self.source.get(span.range())
        }
    }

    /// The offset of the first token at or after `pos`, skipping whitespace and comments.
    pub(super) fn skip_trivia(&self, pos: u32) -> u32 {
        let bytes = self.source.as_bytes();
        let mut i = pos as usize;
        loop {
            while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            if bytes.get(i..i + 2) == Some(b"//") {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            } else {
                break;
            }
        }
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// The offset of the `{` that opens a body, looking from `pos` past whitespace, comments
    /// and words (such as `then`); `pos` itself when there is none.
    pub(super) fn brace_after(&self, pos: u32) -> u32 {
        let bytes = self.source.as_bytes();
        let mut i = pos;
        loop {
            i = self.skip_trivia(i);
            match bytes.get(i as usize) {
                Some(b'{') => return i,
                Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => {
                    while bytes
                        .get(i as usize)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    {
                        i += 1;
                    }
                }
                _ => return pos,
            }
        }
    }

    /// Whether the source between two offsets holds a blank line.
    fn blank_between(&self, from: u32, to: u32) -> bool {
        from < to
            && self
                .source
                .get(from as usize..to as usize)
                .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    /// Whether only spaces and commas lie between two offsets: a comment at `to` then sits on
    /// the same source line as the code ending at `from`.
    fn same_line(&self, from: u32, to: u32) -> bool {
        from <= to
            && self
                .source
                .get(from as usize..to as usize)
                .is_some_and(|gap| gap.chars().all(|c| matches!(c, ' ' | '\t' | ',')))
    }

    // ----- output -----

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// The column the next character goes to.
    pub(super) fn column(&self) -> usize {
        if self.at_line_start() {
            self.indent * self.options.indent
        } else {
            let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
            self.out
                .get(line_start..)
                .map_or(0, |line| line.chars().count())
        }
    }

    pub(super) fn max_width(&self) -> usize {
        self.options.max_width
    }

    /// The column of a continuation line: one level deeper than the current one.
    pub(super) fn continuation_column(&self) -> usize {
        (self.indent + 1) * self.options.indent
    }

    /// Whether `text` fits on the current line.
    pub(super) fn fits(&self, text: &str) -> bool {
        !text.contains('\n') && self.column() + text.chars().count() <= self.options.max_width
    }

    pub(super) fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.at_line_start() {
            let width = self.indent * self.options.indent;
            self.out.extend(std::iter::repeat_n(' ', width));
        }
        self.out.push_str(text);
    }

    /// Records that the code printed on this line reaches `end` in the source.
    pub(super) fn mark(&mut self, end: u32) {
        self.line_src_end = self.line_src_end.max(end);
    }

    /// Ends the current line: appends a comment that followed this code on its source line,
    /// or reports a comment the line passed over.
    pub(super) fn newline(&mut self) -> Res {
        if self.line_src_end > 0 {
            if let Some(note) = self.notes.get(self.cursor)
                && self.same_line(self.line_src_end, note.start)
            {
                let text = format!(" {}", note.text);
                self.write(&text);
                self.cursor += 1;
            }
            let passed = self
                .notes
                .iter()
                .skip(self.cursor)
                .take_while(|n| n.start < self.line_src_end);
            if let Some(count) = passed.count().checked_sub(1) {
                return Err(PassedOver(self.cursor + count));
            }
            self.last_src_end = self.line_src_end;
        }
        self.raw_newline();
        Ok(())
    }

    fn raw_newline(&mut self) {
        let trimmed = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.line_src_end = 0;
        self.suppress_blank = false;
    }

    /// Prints a whole line of text (a doc comment, a sorted import), with no comment logic.
    pub(super) fn raw_line(&mut self, text: &str) {
        self.write(text);
        self.raw_newline();
    }

    /// After an opening `{` line: no blank line before the first element.
    pub(super) fn open_body(&mut self) {
        self.suppress_blank = true;
    }

    pub(super) fn set_last_src_end(&mut self, end: u32) {
        self.last_src_end = end;
    }

    // ----- blank lines and comments -----

    pub(super) fn blank(&mut self, start: u32, policy: Blank) {
        let wanted = match policy {
            Blank::Force => true,
            Blank::Keep => !self.suppress_blank && self.blank_between(self.last_src_end, start),
            Blank::Never => false,
        };
        if wanted && !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Prints the queued comment at the cursor on its own line; false when there is none.
    fn own_line(&mut self, policy: Blank) -> bool {
        let Some(note) = self.notes.get(self.cursor) else {
            return false;
        };
        let (start, end, text) = (note.start, note.end, note.text.clone());
        self.blank(start, policy);
        self.cursor += 1;
        self.write(&text);
        self.raw_newline();
        self.last_src_end = end;
        true
    }

    /// Prints, each on its own line, the queued comments that start before `pos`. The first
    /// follows `policy`; the others keep the author's blank lines unless `policy` is `Never`.
    /// Returns whether it printed any.
    pub(super) fn flush_before(&mut self, pos: u32, policy: Blank) -> bool {
        let mut policy = policy;
        let mut printed = false;
        while self.notes.get(self.cursor).is_some_and(|n| n.start < pos) && self.own_line(policy) {
            printed = true;
            if policy == Blank::Force {
                policy = Blank::Keep;
            }
        }
        printed
    }

    /// Whether a queued comment starts strictly inside `from..to`.
    pub(super) fn has_note_within(&self, from: u32, to: u32) -> bool {
        self.notes
            .iter()
            .skip(self.cursor)
            .take_while(|n| n.start < to)
            .any(|n| n.start > from)
    }

    /// The queued comments that start before `pos`, taken out of the queue (for imports, which
    /// carry their comments when they are sorted).
    pub(super) fn take_before(&mut self, pos: u32) -> Vec<String> {
        let mut taken = Vec::new();
        while let Some(note) = self.notes.get(self.cursor).filter(|n| n.start < pos) {
            taken.push(note.text.clone());
            self.cursor += 1;
        }
        taken
    }

    /// The queued comment at the cursor when it follows `end` on the same source line.
    pub(super) fn take_same_line(&mut self, end: u32) -> Option<(String, u32)> {
        let note = self
            .notes
            .get(self.cursor)
            .filter(|n| self.same_line(end, n.start))?;
        let taken = (note.text.clone(), note.end);
        self.cursor += 1;
        Some(taken)
    }

    /// Prints an element that starts a line at `start`: its leading comments, a blank line
    /// as `policy` allows, then `print` — again, after the comments it passed over, as long as
    /// it passes over any.
    pub(super) fn anchor(
        &mut self,
        start: u32,
        policy: Blank,
        mut print: impl FnMut(&mut Self) -> Res,
    ) -> Res {
        if !self.at_line_start() {
            self.raw_newline();
        }
        let printed = self.flush_before(start, policy);
        let policy = match (printed, policy) {
            (true, Blank::Force) => Blank::Keep,
            _ => policy,
        };
        self.blank(start, policy);
        loop {
            let snapshot = self.snapshot();
            match print(self) {
                Ok(()) => return Ok(()),
                Err(PassedOver(last)) if last >= snapshot.cursor => {
                    self.restore(snapshot);
                    while self.cursor <= last && self.own_line(Blank::Never) {}
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Closes a broken group: the comments left before its end on their own lines, then the
    /// closing delimiter one level out.
    pub(super) fn close(&mut self, end: u32, closer: &str, policy: Blank) {
        self.flush_before(end.saturating_sub(1), policy);
        self.indent = self.indent.saturating_sub(1);
        self.write(closer);
        self.mark(end);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            out_len: self.out.len(),
            cursor: self.cursor,
            indent: self.indent,
            line_src_end: self.line_src_end,
            last_src_end: self.last_src_end,
            suppress_blank: self.suppress_blank,
        }
    }

    fn restore(&mut self, snapshot: Snapshot) {
        self.out.truncate(snapshot.out_len);
        self.cursor = snapshot.cursor;
        self.indent = snapshot.indent;
        self.line_src_end = snapshot.line_src_end;
        self.last_src_end = snapshot.last_src_end;
        self.suppress_blank = snapshot.suppress_blank;
    }
}
