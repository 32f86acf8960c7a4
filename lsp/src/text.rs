//! Positions: byte offsets (what the compiler speaks) ↔ LSP line/UTF-16 column, and document
//! URIs ↔ the paths the compiler is given.

use tower_lsp_server::gen_lsp_types::{Position, Range, Uri};

/// Line starts of one text, for offset ↔ position conversion.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub fn position(&self, offset: u32) -> Position {
        let offset = clamp_to_char(self.text, offset as usize);
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.encode_utf16().count());
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    pub fn range(&self, span: cbp_syntax::Span) -> Range {
        Range {
            start: self.position(span.start),
            end: self.position(span.end),
        }
    }

    /// The byte offset of a position; positions past the end of a line or of the text clamp.
    pub fn offset(&self, position: Position) -> u32 {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        };
        let end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |e| e - 1);
        let line = self.text.get(start..end).unwrap_or("");
        let mut units = 0u32;
        let mut bytes = line.len();
        for (i, c) in line.char_indices() {
            if units >= position.character {
                bytes = i;
                break;
            }
            units += u32::try_from(c.len_utf16()).unwrap_or(1);
        }
        u32::try_from(start + bytes).unwrap_or(u32::MAX)
    }

    pub fn span(&self, range: Range) -> cbp_syntax::Span {
        cbp_syntax::Span::new(
            self.offset(range.start) as usize,
            self.offset(range.end) as usize,
        )
    }

    pub fn end(&self) -> Position {
        self.position(u32::try_from(self.text.len()).unwrap_or(u32::MAX))
    }
}

fn clamp_to_char(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Standard-library files have no place on disk; they are shown under this scheme.
const STD_SCHEME: &str = "cbp-std:///";

/// The compiler path of a document: the decoded file path for `file:` URIs, the URI itself
/// otherwise (so untitled buffers work too).
pub fn path_of(uri: &Uri) -> String {
    let s = uri.as_ref();
    if let Some(rest) = s.strip_prefix(STD_SCHEME) {
        return rest.to_owned();
    }
    match s.strip_prefix("file://") {
        Some(rest) => percent_decode(rest),
        None => s.to_owned(),
    }
}

/// The URI of a compiler path (the inverse of [`path_of`]).
pub fn uri_of(path: &str) -> Uri {
    if path.starts_with("std/") {
        return Uri::from(format!("{STD_SCHEME}{path}"));
    }
    if path.starts_with('/') {
        return Uri::from(format!("file://{}", percent_encode(path)));
    }
    Uri::from(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_round_trip_with_utf16_columns() {
        let text = "ab\n\u{1F600}x\n";
        let index = LineIndex::new(text);
        let p = index.position(7); // after the emoji (4 bytes) on line 1
        assert_eq!((p.line, p.character), (1, 2));
        assert_eq!(index.offset(p), 7);
        assert_eq!(
            index.offset(Position {
                line: 0,
                character: 99
            }),
            2
        );
        assert_eq!(
            index.offset(Position {
                line: 9,
                character: 0
            }),
            9
        );
    }

    #[test]
    fn file_uris_map_to_paths_and_back() {
        let uri = Uri::from("file:///tmp/my%20policies/a.cbp");
        assert_eq!(path_of(&uri), "/tmp/my policies/a.cbp");
        assert_eq!(uri_of("/tmp/my policies/a.cbp"), uri);
        assert_eq!(path_of(&uri_of("std/geo.cbp")), "std/geo.cbp");
    }
}
