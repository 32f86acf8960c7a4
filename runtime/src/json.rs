//! JSON with objects in a fixed key order, for output records: serde_json's own map sorts its
//! keys (the workspace does not enable `preserve_order`), and the contract wants a fixed order
//! that follows the declaration (action parameters, record fields, report fields).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// Non-finite floats serialize as `null`.
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    /// Keys in insertion order.
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    pub fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Adds a key to an object (replacing an existing one in place); no effect otherwise.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(entries) = self {
            if let Some(entry) = entries.iter_mut().find(|(k, _)| k == key) {
                entry.1 = value;
            } else {
                entries.push((key.to_string(), value));
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// As a serde_json value (keys sorted), for comparisons.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Int(i) => serde_json::Value::from(*i),
            Json::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Json::Str(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_value).collect())
            }
            Json::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// From a serde_json value (object keys in serde_json's order).
    pub fn from_value(value: &serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Json::Int(i),
                None => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Json::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Json::Array(items.iter().map(Json::from_value).collect())
            }
            serde_json::Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }
}

/// JSON text written straight to bytes: the same text serde_json's compact serializer writes
/// (its string escapes, its integer and float formatting), without a serializer or a tree in
/// between. Output records are written this way (`Record::write_json`).
pub mod write {
    use serde_json::ser::{CompactFormatter, Formatter};

    /// serde_json's escapes: `\"`, `\\`, the short forms of five control characters, and
    /// `\u00XX` (lowercase hex) for the other control characters; nothing else.
    fn escape(byte: u8) -> Option<u8> {
        match byte {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            0x08 => Some(b'b'),
            0x09 => Some(b't'),
            0x0A => Some(b'n'),
            0x0C => Some(b'f'),
            0x0D => Some(b'r'),
            0x00..=0x1F => Some(b'u'),
            _ => None,
        }
    }

    /// Whether any byte of `bytes` is escaped: eight bytes at a time (most texts are short
    /// keys and ids, for which a byte loop or a vector loop costs more than the text).
    #[inline]
    fn needs_escape(bytes: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // Nonzero when a byte of `x` is below `n` (exact as a boolean for n <= 128).
        let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
        let escaped =
            |x: u64| below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5C), 1);
        let mut chunks = bytes.chunks_exact(8);
        let mut found = 0;
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            found |= escaped(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if tail.is_empty() {
            return found != 0;
        }
        // The tail: the last eight bytes when there are as many (read again in part), or the
        // tail's bytes shifted into a word padded with a byte never escaped (a copy through
        // memory would stall the load that reads it back).
        let word = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
            Some(last) => {
                let mut word = [0; 8];
                word.copy_from_slice(last);
                u64::from_le_bytes(word)
            }
            None => tail.iter().rev().fold(ONES * u64::from(b'a'), |word, &b| {
                (word << 8) | u64::from(b)
            }),
        };
        found |= escaped(word);
        found != 0
    }

    /// A quoted, escaped string. Inlined: most texts written are literal keys, whose check
    /// then folds away.
    #[inline]
    pub fn str(out: &mut Vec<u8>, text: &str) {
        let bytes = text.as_bytes();
        // Almost no output text needs an escape: one check over the whole text, then one
        // copy.
        let plain = !needs_escape(bytes);
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        if plain {
            out.extend_from_slice(bytes);
        } else {
            let mut run = 0;
            for (i, &byte) in bytes.iter().enumerate() {
                let Some(short) = escape(byte) else {
                    continue;
                };
                out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
                run = i + 1;
                if short == b'u' {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xF)]);
                } else {
                    out.push(b'\\');
                    out.push(short);
                }
            }
            out.extend_from_slice(bytes.get(run..).unwrap_or_default());
        }
        out.push(b'"');
    }

    pub fn int(out: &mut Vec<u8>, value: i64) {
        // Writing to a vector cannot fail.
        let _ = CompactFormatter.write_i64(out, value);
    }

    pub fn uint(out: &mut Vec<u8>, value: u64) {
        let _ = CompactFormatter.write_u64(out, value);
    }

    /// A float; `null` when not finite (as serde_json writes it).
    pub fn float(out: &mut Vec<u8>, value: f64) {
        if value.is_finite() {
            let _ = CompactFormatter.write_f64(out, value);
        } else {
            out.extend_from_slice(b"null");
        }
    }

    pub fn bool(out: &mut Vec<u8>, value: bool) {
        out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    pub fn null(out: &mut Vec<u8>) {
        out.extend_from_slice(b"null");
    }

    /// An optional string: the string, or `null`.
    pub fn opt_str(out: &mut Vec<u8>, text: Option<&str>) {
        match text {
            Some(text) => str(out, text),
            None => null(out),
        }
    }

    /// An array: `write_item` writes each item, the commas come between.
    pub fn array<T>(
        out: &mut Vec<u8>,
        items: impl IntoIterator<Item = T>,
        mut write_item: impl FnMut(&mut Vec<u8>, T),
    ) {
        out.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_item(out, item);
        }
        out.push(b']');
    }

    /// An array of strings.
    pub fn strs<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a str>) {
        array(out, items, str);
    }

    /// Writes an object's keys and values in order: `{` at the start, `}` at [`Object::end`].
    pub struct Object<'a> {
        out: &'a mut Vec<u8>,
        empty: bool,
    }

    impl<'a> Object<'a> {
        pub fn new(out: &'a mut Vec<u8>) -> Self {
            out.push(b'{');
            Object { out, empty: true }
        }

        /// Writes the key (and the comma before it): the caller writes its value next, into
        /// the returned buffer.
        #[inline]
        pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
            if !self.empty {
                self.out.push(b',');
            }
            self.empty = false;
            str(self.out, key);
            self.out.push(b':');
            self.out
        }

        pub fn end(self) {
            self.out.push(b'}');
        }
    }
}

impl Json {
    /// Appends the JSON text of the value (as serde_json writes it, compact).
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => write::null(out),
            Json::Bool(b) => write::bool(out, *b),
            Json::Int(i) => write::int(out, *i),
            Json::Float(f) => write::float(out, *f),
            Json::Str(s) => write::str(out, s),
            Json::Array(items) => write::array(out, items, |out, item| item.write(out)),
            Json::Object(entries) => {
                let mut object = write::Object::new(out);
                for (key, value) in entries {
                    value.write(object.key(key));
                }
                object.end();
            }
        }
    }

    /// Reads JSON text, keeping the keys of its objects in their order: the inverse of
    /// [`Json::write`] (but for non-finite floats, written as `null`). Floats are read
    /// exactly (`str::parse`), so every float comes back as the float written; serde_json's
    /// default reading may miss by an ulp. `None` for text that is not one JSON value.
    pub fn parse(text: &str) -> Option<Json> {
        let mut reader = Reader {
            text: text.as_bytes(),
            pos: 0,
        };
        let value = reader.value(0)?;
        reader.space();
        (reader.pos == text.len()).then_some(value)
    }
}

/// A reader of JSON text for [`Json::parse`].
struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
}

/// Nesting [`Json::parse`] reads at most.
const MAX_NESTING: usize = 128;

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn word(&mut self, word: &[u8], value: Json) -> Option<Json> {
        let end = self.pos + word.len();
        (self.text.get(self.pos..end) == Some(word)).then(|| {
            self.pos = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_NESTING {
            return None;
        }
        self.space();
        match self.peek()? {
            b'n' => self.word(b"null", Json::Null),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(Json::Array(items));
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(Json::Object(entries));
                }
                loop {
                    self.space();
                    let key = self.string()?;
                    self.eat(b':')?;
                    entries.push((key, self.value(depth + 1)?));
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(Json::Object(entries));
                    }
                }
            }
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        let token = std::str::from_utf8(self.text.get(start..self.pos)?).ok()?;
        if token.contains(['.', 'e', 'E']) {
            return token.parse().ok().map(Json::Float);
        }
        // As [`Json::from_value`]: an integer beyond `i64` is a float.
        match token.parse::<i64>() {
            Ok(int) => Some(Json::Int(int)),
            Err(_) => token.parse::<u64>().ok().map(|big| Json::Float(big as f64)),
        }
    }

    /// A string (at its opening quote).
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let byte = self.peek()?;
            self.pos += 1;
            match byte {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escaped = self.peek()?;
                    self.pos += 1;
                    let short = match escaped {
                        b'"' | b'\\' | b'/' => escaped,
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&unit) {
                                // A surrogate pair.
                                self.word(b"\\u", Json::Null)?;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return None;
                                }
                                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                unit
                            };
                            let c = char::from_u32(code)?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(short);
                }
                _ => out.push(byte),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.text.get(self.pos..self.pos + 4)?).ok()?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Int(i) => serializer.serialize_i64(*i),
            Json::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Json::Float(_) => serializer.serialize_unit(),
            Json::Str(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_text_is_what_serde_writes() {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        texts.push((0u8..=0x7f).map(char::from).collect());
        texts.extend(["", "plain", "é✓𝄞\u{7f}", "a\"b\\c\n"].map(String::from));
        // Every ASCII byte at every place of texts of several lengths (eight bytes are
        // checked at a time).
        for len in [1, 7, 8, 9, 17] {
            for at in 0..len {
                for byte in 0u8..=0x7f {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    texts.push(String::from_utf8(text).unwrap());
                }
            }
        }
        for text in &texts {
            let mut out = Vec::new();
            write::str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        let floats = [
            0.0,
            -0.0,
            0.1,
            1.0,
            -2.5,
            1e21,
            1e-7,
            123456789.125,
            f64::MAX,
        ];
        for value in floats.into_iter().chain([f64::NAN, f64::INFINITY]) {
            let mut out = Vec::new();
            Json::Float(value).write(&mut out);
            assert_eq!(out, serde_json::to_vec(&Json::Float(value)).unwrap());
        }
        for value in [0, -1, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            write::int(&mut out, value);
            assert_eq!(out, serde_json::to_vec(&value).unwrap());
        }
    }

    #[test]
    fn text_reads_back_as_the_value_written() {
        // Floats of every kind, exactly: shortest texts of 17 digits among them.
        let mut floats = vec![
            0.1 + 0.2,
            1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            1e300,
            2.5,
        ];
        let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            bits = bits
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let float = f64::from_bits(bits);
            if float.is_finite() {
                floats.push(float);
            }
        }
        let json = Json::Object(vec![
            (
                "floats".into(),
                Json::Array(floats.into_iter().map(Json::Float).collect()),
            ),
            (
                "ints".into(),
                Json::Array(vec![Json::Int(0), Json::Int(i64::MIN), Json::Int(i64::MAX)]),
            ),
            (
                "texts \"\\\u{1}\n é ✓ 𝄞".into(),
                Json::Array(
                    (0u8..0x80)
                        .map(|b| Json::str(char::from(b).to_string() + "x𝄞"))
                        .collect(),
                ),
            ),
            (
                "nested".into(),
                Json::Array(vec![
                    Json::object(),
                    Json::Array(Vec::new()),
                    Json::Null,
                    Json::Bool(true),
                    Json::Bool(false),
                ]),
            ),
        ]);
        let mut text = Vec::new();
        json.write(&mut text);
        let text = String::from_utf8(text).unwrap();
        assert_eq!(Json::parse(&text), Some(json));
        // What serde_json reads, and escapes it writes only when asked.
        let other = r#" { "a" : [ 1 , -2.5e3 , "\u00e9\ud834\udd1e\/" ] , "b" : {} } "#;
        assert_eq!(
            Json::parse(other).map(|j| j.to_value()),
            serde_json::from_str(other).ok()
        );
        for broken in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "\"\\x\"",
            "tru",
            "1 2",
            "\"\\ud834\"",
        ] {
            assert_eq!(Json::parse(broken), None, "{broken}");
        }
    }

    #[test]
    fn keeps_key_order() {
        let mut object = Json::object();
        object.set("zeta", Json::Int(1));
        object.set("alpha", Json::Float(0.5));
        object.set("zeta", Json::Int(2));
        let text = serde_json::to_string(&object).unwrap();
        assert_eq!(text, r#"{"zeta":2,"alpha":0.5}"#);
        assert_eq!(
            serde_json::to_string(&Json::Float(f64::NAN)).unwrap(),
            "null"
        );
    }
}
