//! The streaming side of NDJSON decoding: one pass over a line's bytes into borrowed values
//! ([`Tok`]: strings are slices of the line, lists and objects slices in an arena reset for
//! every line), with no `serde_json::Value`, no `String`, no map and no heap allocation. The layout-directed walk then reads
//! the fields it declares from them and skips the rest.
//!
//! The scanner accepts a subset of what `serde_json` accepts and gives the same values for
//! it; anything else gives `None` and the line goes to `serde_json` (whose error is the dead
//! letter's message). Outside the subset: escapes and control characters in strings, an
//! integer beyond `i64` or written `-0`, a float that is not exactly a single rounding of
//! `digits × 10^e` (those are parsed by `serde_json` itself), nesting deeper than
//! [`MAX_DEPTH`].

use super::input::Input;
use bumpalo::Bump;
use bumpalo::collections::Vec as ArenaVec;

/// A JSON value borrowed from the line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Tok<'a> {
    Null,
    Bool(bool),
    /// A JSON integer (in `i64`).
    Int(i64),
    /// A JSON number with a fraction or an exponent.
    Float(f64),
    Str(&'a str),
    List(&'a [Tok<'a>]),
    /// Entries in input order (a repeated key keeps every occurrence; the last counts).
    Object(&'a [(&'a str, Tok<'a>)]),
}

/// Deeper input goes to `serde_json` (which refuses nesting beyond 128).
pub(crate) const MAX_DEPTH: usize = 64;

/// The object of one line, or `None` when the line is not (simply) a JSON object; its lists
/// and objects are allocated in `arena`.
pub(crate) fn parse_object<'a>(line: &'a str, arena: &'a Bump) -> Option<Tok<'a>> {
    let mut scanner = Scanner {
        text: line,
        pos: 0,
        arena,
    };
    scanner.whitespace();
    if scanner.peek() != Some(b'{') {
        return None;
    }
    let value = scanner.value(0)?;
    scanner.whitespace();
    (scanner.pos == line.len()).then_some(value)
}

/// The scanner's state; the fused decoder ([`super::fused`]) drives it over the parts of a
/// line it does not read itself.
pub(crate) struct Scanner<'a> {
    pub(crate) text: &'a str,
    pub(crate) pos: usize,
    pub(crate) arena: &'a Bump,
}

/// The bytes that end the plain part of a string: `"`, `\\` and the control characters.
const STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stops[b] = true;
        b += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

/// Powers of ten a double holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Every byte of a word set to `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The high bit of each byte of `word` that is below `n` (`n` ≤ 0x80), and maybe of bytes
/// after such a byte (a borrow), never before: the lowest one set is exact.
const fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(splat(n)) & !word & splat(0x80)
}

/// Where the first byte of `bytes` that ends the plain part of a string is (see [`STOPS`]):
/// eight bytes a step (the quote, the backslash, or a control character), the tail a byte a
/// step.
#[inline(always)]
pub(crate) fn stop(bytes: &[u8]) -> Option<usize> {
    first_of(
        bytes,
        |word| below(word ^ splat(b'"'), 1) | below(word ^ splat(b'\\'), 1) | below(word, 0x20),
        |b| STOPS[usize::from(b)],
    )
}

/// Where the first of `"`, `{`, `[`, `}`, `]` in `bytes` is (what matters when skipping an
/// object or an array), eight bytes a step.
#[inline(always)]
pub(crate) fn structural(bytes: &[u8]) -> Option<usize> {
    first_of(
        bytes,
        |word| {
            below(word ^ splat(b'"'), 1)
                | below(word ^ splat(b'{'), 1)
                | below(word ^ splat(b'['), 1)
                | below(word ^ splat(b'}'), 1)
                | below(word ^ splat(b']'), 1)
        },
        |b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'),
    )
}

/// Where the first byte of `bytes` that `is` is: eight bytes a step through `hits` (the
/// high bit of each such byte of a word, exact for the lowest), the tail a byte a step.
#[inline(always)]
fn first_of(bytes: &[u8], hits: impl Fn(u64) -> u64, is: impl Fn(u8) -> bool) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let found = hits(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is(b))
        .map(|i| at + i)
}

impl<'a> Scanner<'a> {
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    pub(crate) fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &str, value: Tok<'a>) -> Option<Tok<'a>> {
        let end = self.pos + word.len();
        (self.text.as_bytes().get(self.pos..end) == Some(word.as_bytes())).then(|| {
            self.pos = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Tok<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.list(depth),
            _ => self.scalar(),
        }
    }

    /// A value inside a list or an object: scalars (most values) read here, without the
    /// recursive call.
    #[inline(always)]
    pub(crate) fn member(&mut self, depth: usize) -> Option<Tok<'a>> {
        match self.peek()? {
            b'{' | b'[' => self.value(depth),
            _ => self.scalar(),
        }
    }

    #[inline(always)]
    fn scalar(&mut self) -> Option<Tok<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Tok::Str),
            b't' => self.literal("true", Tok::Bool(true)),
            b'f' => self.literal("false", Tok::Bool(false)),
            b'n' => self.literal("null", Tok::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Tok<'a>> {
        self.eat(b'{')?;
        let mut entries = ArenaVec::new_in(self.arena);
        self.whitespace();
        if self.eat(b'}').is_some() {
            return Some(Tok::Object(&[]));
        }
        // An envelope has about a dozen keys; what is under it, a few.
        entries.reserve(if depth == 0 { 12 } else { 4 });
        loop {
            let key = self.string()?;
            self.whitespace();
            self.eat(b':')?;
            self.whitespace();
            let value = self.member(depth + 1)?;
            entries.push((key, value));
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.whitespace();
                }
                b'}' => {
                    self.pos += 1;
                    return Some(Tok::Object(entries.into_bump_slice()));
                }
                _ => return None,
            }
        }
    }

    fn list(&mut self, depth: usize) -> Option<Tok<'a>> {
        self.eat(b'[')?;
        let mut items = ArenaVec::new_in(self.arena);
        self.whitespace();
        if self.eat(b']').is_some() {
            return Some(Tok::List(&[]));
        }
        loop {
            items.push(self.member(depth + 1)?);
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.whitespace();
                }
                b']' => {
                    self.pos += 1;
                    return Some(Tok::List(items.into_bump_slice()));
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes or control characters.
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        let (start, end) = self.string_span()?;
        self.text.get(start..end)
    }

    /// [`Scanner::string`]'s text as where it starts and ends in the line.
    #[inline(always)]
    pub(crate) fn string_span(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = start + stop(self.text.as_bytes().get(start..)?)?;
        if self.text.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        self.pos = end + 1;
        Some((start, end))
    }

    /// A number, as [`Scanner::number`] reads it, the common case (at most 19 digits, no
    /// exponent) in one loop without overflow checks; anything else by `number` itself.
    #[inline(always)]
    pub(crate) fn number_fast(&mut self) -> Option<Tok<'a>> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut at = start;
        let negative = bytes.get(at) == Some(&b'-');
        at += usize::from(negative);
        let int_start = at;
        let mut significand: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = bytes.get(at) {
            significand = significand
                .wrapping_mul(10)
                .wrapping_add(u64::from(d - b'0'));
            at += 1;
        }
        let int_digits = at - int_start;
        let mut frac_digits = 0;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let frac_start = at;
            while let Some(&d @ b'0'..=b'9') = bytes.get(at) {
                significand = significand
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(d - b'0'));
                at += 1;
            }
            frac_digits = at - frac_start;
            if frac_digits == 0 {
                return None;
            }
        }
        let plain = int_digits > 0
            && int_digits + frac_digits <= 19
            && (int_digits == 1 || bytes.get(int_start) != Some(&b'0'))
            && !matches!(bytes.get(at), Some(b'e' | b'E'));
        if !plain {
            return self.number();
        }
        let tok = if frac_digits == 0 {
            // `-0` is a float to serde_json, and `i64::MIN` is read by `number`.
            match i64::try_from(significand) {
                Ok(0) if negative => return self.number(),
                Ok(m) if negative => Tok::Int(-m),
                Ok(m) => Tok::Int(m),
                Err(_) => return self.number(),
            }
        } else {
            // The exact case of `number`: one correctly rounded division.
            match POW10.get(frac_digits) {
                Some(p) if significand <= 1 << 53 => {
                    let magnitude = significand as f64 / p;
                    Tok::Float(if negative { -magnitude } else { magnitude })
                }
                _ => return self.number(),
            }
        };
        self.pos = at;
        Some(tok)
    }

    /// Digits from here, as a count and the value (`None` past `u64`).
    fn digits(&mut self) -> (usize, Option<u64>) {
        let start = self.pos;
        let mut value: Option<u64> = Some(0);
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u64::from(d - b'0')));
            self.pos += 1;
        }
        (self.pos - start, value)
    }

    #[inline(always)]
    fn number(&mut self) -> Option<Tok<'a>> {
        let start = self.pos;
        let negative = self.eat(b'-').is_some();
        let int_start = self.pos;
        let (int_digits, int_value) = self.digits();
        // One leading zero at most, and at least one digit.
        if int_digits == 0 || (int_digits > 1 && self.text.as_bytes()[int_start] == b'0') {
            return None;
        }
        let mut significand = int_value;
        let mut exponent: i64 = 0;
        let mut float = false;
        if self.eat(b'.').is_some() {
            float = true;
            let frac_start = self.pos;
            let (frac_digits, _) = self.digits();
            if frac_digits == 0 {
                return None;
            }
            for &d in &self.text.as_bytes()[frac_start..self.pos] {
                significand = significand
                    .and_then(|v| v.checked_mul(10))
                    .and_then(|v| v.checked_add(u64::from(d - b'0')));
            }
            exponent = -(frac_digits as i64);
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.pos += 1;
            let minus = match self.peek() {
                Some(b'-') => {
                    self.pos += 1;
                    true
                }
                Some(b'+') => {
                    self.pos += 1;
                    false
                }
                _ => false,
            };
            let (exp_digits, exp_value) = self.digits();
            if exp_digits == 0 {
                return None;
            }
            let e = i64::try_from(exp_value.filter(|_| exp_digits <= 6).unwrap_or(1 << 40))
                .unwrap_or(1 << 40);
            exponent += if minus { -e } else { e };
        }
        if !float {
            let magnitude = i64::try_from(significand?).ok()?;
            // `-0` is a float to serde_json.
            return match (negative, magnitude) {
                (true, 0) => None,
                (true, m) => Some(Tok::Int(-m)),
                (false, m) => Some(Tok::Int(m)),
            };
        }
        let exact = significand
            .filter(|s| *s <= 1 << 53)
            .zip(usize::try_from(exponent.unsigned_abs()).ok())
            .and_then(|(s, e)| POW10.get(e).map(|p| (s, p)));
        let magnitude = match exact {
            // Both operands exact: one correctly rounded operation, which is what serde_json
            // computes here in either of its float modes.
            Some((s, p)) if exponent >= 0 => s as f64 * p,
            Some((s, p)) => s as f64 / p,
            None => {
                let token = self.text.get(start..self.pos)?;
                let number: serde_json::Number = serde_json::from_str(token).ok()?;
                return number.as_f64().map(Tok::Float);
            }
        };
        Some(Tok::Float(if negative { -magnitude } else { magnitude }))
    }
}

impl Input for Tok<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Tok::Null => "null",
            Tok::Bool(_) => "bool",
            Tok::Int(_) => "int",
            Tok::Float(_) => "float",
            Tok::Str(_) => "string",
            Tok::List(_) => "list",
            Tok::Object(_) => "object",
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Tok::Null)
    }

    fn is_number(&self) -> bool {
        matches!(self, Tok::Int(_) | Tok::Float(_))
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Tok::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Tok::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Tok::Int(i) => Some(*i as f64),
            Tok::Float(x) => Some(*x),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Tok::Str(s) => Some(s),
            _ => None,
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, Tok::Object(_))
    }

    fn is_empty_object(&self) -> bool {
        matches!(self, Tok::Object(entries) if entries.is_empty())
    }

    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Tok::Object(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.len() == key.len() && *k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Self]> {
        match self {
            Tok::List(items) => Some(items),
            _ => None,
        }
    }

    fn try_entries<E>(&self, mut each: impl FnMut(&str, &Self) -> Result<(), E>) -> Result<(), E> {
        if let Tok::Object(entries) = self {
            for (key, value) in entries.iter() {
                each(key, value)?;
            }
        }
        Ok(())
    }

    fn text(&self) -> String {
        match self {
            Tok::Null => "null".into(),
            Tok::Bool(b) => b.to_string(),
            Tok::Int(i) => i.to_string(),
            Tok::Float(x) => serde_json::to_string(x).unwrap_or_default(),
            Tok::Str(s) => serde_json::to_string(s).unwrap_or_default(),
            Tok::List(_) => "[…]".into(),
            Tok::Object(_) => "{…}".into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value as JsonValue;

    /// The scanner's value as serde_json would hold it (also the wire reader's tests').
    pub(crate) fn to_json(tok: &Tok<'_>) -> JsonValue {
        match tok {
            Tok::Null => JsonValue::Null,
            Tok::Bool(b) => JsonValue::Bool(*b),
            Tok::Int(i) => JsonValue::from(*i),
            Tok::Float(x) => serde_json::Number::from_f64(*x)
                .map(JsonValue::Number)
                .unwrap_or(JsonValue::Null),
            Tok::Str(s) => JsonValue::String((*s).to_string()),
            Tok::List(items) => JsonValue::Array(items.iter().map(to_json).collect()),
            Tok::Object(entries) => JsonValue::Object(
                entries
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), to_json(v)))
                    .collect(),
            ),
        }
    }

    fn agrees(line: &str) {
        let reference = serde_json::from_str::<JsonValue>(line).ok();
        let arena = Bump::new();
        // Outside the subset, serde_json decides.
        if let Some(tok) = parse_object(line, &arena) {
            let value = to_json(&tok);
            assert_eq!(Some(&value), reference.as_ref(), "{line}");
            // Floats stay floats and integers integers.
            assert_eq!(value.to_string(), reference.map(|r| r.to_string()).unwrap());
        }
    }

    #[test]
    fn values_are_serde_jsons() {
        for line in [
            r#"{"a":1,"b":-2,"c":0.5,"d":1e3,"e":-0.0,"f":12.976998,"g":[1,[2,{}]],"h":null}"#,
            r#" { "a" : true , "b" : false , "c" : "x y" } "#,
            r#"{"a":0.1,"b":77.643211,"c":1.7976931348623157e308,"d":5e-324,"e":123456789012345678}"#,
            r#"{"a":9007199254740993.5,"b":1E+2,"c":2.5e-3,"d":1e22,"e":1e23}"#,
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(parse_object(line, &Bump::new()).is_some(), "{line}");
            agrees(line);
        }
    }

    #[test]
    fn outside_the_subset_is_left_to_serde_json() {
        for line in [
            "",
            "[1]",
            r#"{"a":"\n"}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":99999999999999999999}"#,
            r#"{"a":1e400}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert_eq!(parse_object(line, &Bump::new()), None, "{line}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse_object(&deep, &Bump::new()), None);
    }

    fn number_with<'a>(text: &'a str, fast: bool, arena: &'a Bump) -> (Option<Tok<'a>>, usize) {
        let mut scanner = Scanner {
            text,
            pos: 0,
            arena,
        };
        let tok = if fast {
            scanner.number_fast()
        } else {
            scanner.number()
        };
        (tok, scanner.pos)
    }

    proptest::proptest! {
        /// The fast number reader reads what `number` reads, and stops where it stops.
        #[test]
        fn fast_numbers_are_numbers(
            text in "-?[0-9]{0,22}(\\.[0-9]{0,22})?([eE][-+]?[0-9]{0,3})?[,}x]?",
        ) {
            let arena = Bump::new();
            let fast = number_with(&text, true, &arena);
            let slow = number_with(&text, false, &arena);
            proptest::prop_assert_eq!(fast.0, slow.0, "{}", text);
            if slow.0.is_some() {
                proptest::prop_assert_eq!(fast.1, slow.1, "{}", text);
            }
        }
    }

    #[test]
    fn word_scans_find_the_first_byte_as_a_byte_scan_does() {
        let texts = [
            "",
            "a",
            "abcdefgh",
            "abcdefg\"",
            "abcdefgh{",
            "]",
            "ab\\cd",
            "x\u{1}y",
            "0123456789abcdef[",
            "é\"",
            "abcdefghijklmnop",
        ];
        for text in texts {
            let bytes = text.as_bytes();
            let by_byte = |set: &[u8]| bytes.iter().position(|b| set.contains(b));
            assert_eq!(structural(bytes), by_byte(b"\"{[}]"), "{text:?}");
            let plain_end = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(stop(bytes), plain_end, "{text:?}");
        }
    }

    #[test]
    fn fast_numbers_cover_the_edges() {
        for text in [
            "0",
            "-0",
            "-0.0",
            "12.976998",
            "77.643211",
            "0.73",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1234567890123456789",
            "12345678901234567890",
            "9007199254740993.5",
            "0.1234567890123456789",
            "01",
            "1.",
            "-",
            "1e3",
            "0.5e-3",
        ] {
            let arena = Bump::new();
            let (fast, slow) = (
                number_with(text, true, &arena),
                number_with(text, false, &arena),
            );
            // Where a refused number stops does not matter.
            assert_eq!(fast.0, slow.0, "{text}");
            assert!(slow.0.is_none() || fast.1 == slow.1, "{text}");
        }
    }

    #[test]
    fn repeated_keys_keep_the_last() {
        let arena = Bump::new();
        let tok = parse_object(r#"{"a":1,"a":2}"#, &arena).unwrap();
        assert_eq!(tok.get("a"), Some(&Tok::Int(2)));
    }
}
