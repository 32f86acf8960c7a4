//! Finding where a JSON value ends without reading it: the node's head reader skips the
//! members it does not want, and the fused decoder a record it must read later (met before
//! the `type` that says its layout). Only as strict as finding the end needs: what it lets
//! through, the reading after it refuses.

use super::scan::{stop, structural};

/// The index after the JSON value starting at `at` (strings with escapes, nested objects and
/// arrays included); `None` when the text ends first.
pub fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => skip_nested(bytes, at),
        // A number, `true`, `false`, `null`: up to the next delimiter.
        _ => {
            let rest = bytes.get(at..)?;
            let len = rest.iter().position(|&b| BARE_END[usize::from(b)])?;
            Some(at + len)
        }
    }
}

/// The index after the string whose opening quote is at `at`.
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    let mut at = at + 1;
    loop {
        // Strings here are short: a word-at-a-time scan beats a call to `memchr`.
        at += stop(bytes.get(at..)?)?;
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            // An escape: the byte after the backslash is never the end.
            b'\\' => at += 2,
            // A control character: refused later, not the end.
            _ => at += 1,
        }
    }
}

/// The index after the object or array that opens at `at`.
pub(crate) fn skip_nested(bytes: &[u8], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        at += structural(bytes.get(at..)?)?;
        match bytes.get(at)? {
            b'"' => {
                at = skip_string(bytes, at)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            // `}` or `]`.
            _ => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
        }
        at += 1;
    }
}

/// A table of the bytes in `set`, for scans that stop at any of them.
const fn byte_set(set: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    table
}

/// What ends a bare value (a number, `true`, `false`, `null`).
static BARE_END: [bool; 256] = byte_set(b",}] \n\r\t");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_end_where_json_says() {
        for (text, end) in [
            (r#""a\"b" ,"#, 6),
            (r#"{"a":{"b":[1,"}"]}},1"#, 19),
            ("[[],{}]", 7),
            ("12.5e3}", 6),
            ("true,", 4),
        ] {
            assert_eq!(skip_value(text.as_bytes(), 0), Some(end), "{text}");
        }
        for text in [r#""open"#, r#"{"a":[1}"#, "12", "[1,"] {
            assert_eq!(skip_value(text.as_bytes(), 0), None, "{text}");
        }
    }

    /// Any JSON value: strings with escapes and control characters, nested objects and
    /// arrays.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[\\PC\"\\\\{}\\[\\]\n\t]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"}{]{0,4}", inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any JSON value followed by a comma ends where serde_json's reading of it ends.
        #[test]
        fn a_value_ends_where_serde_json_ends_it(value in json()) {
            let text = format!("{value},");
            prop_assert_eq!(skip_value(text.as_bytes(), 0), Some(text.len() - 1));
        }

        /// No input makes it panic.
        #[test]
        fn any_bytes_are_skipped_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = skip_value(&bytes, 0);
        }
    }
}
