//! The bundle: a compiled program as one self-contained, versioned, hashed file — what
//! `cbpc compile` writes and what a node loads and passes down the hierarchy.
//!
//! A bundle is one JSON object, written without whitespace, keys in this order:
//!
//! ```text
//! {"header":{"magic":"cbp-bundle","format_version":2,"source_hash":"…",
//!            "content_hash":"…","created_by":"cbpc 0.1.0"},
//!  "signatures":[],
//!  "program":{…}}
//! ```
//!
//! - `content_hash` is the hex SHA-256 of the exact bytes of the `program` value, which is
//!   the canonical JSON of the [`Program`] (`serde_json`, compact, fields in declaration
//!   order). [`read_bundle`] hashes those bytes as they stand in the file, before parsing
//!   them, so any change to the program — one byte — is refused.
//! - The same program always gives the same bytes: there is no timestamp, no host name and
//!   no random id in a bundle.
//!
//! # Signatures (reserved)
//!
//! `signatures` is a list, empty for now, kept so that signing can be added without a new
//! format version. Each entry will be
//! `{"algorithm":"ed25519","key_id":"<hex of the public key>","signature":"<hex>"}`, an
//! Ed25519 signature over the 32 raw bytes of the content hash (not its hex). The hash
//! covers the program only, so signatures can be added to a bundle, or removed, without
//! changing what they sign. A reader that does not check signatures ignores them; one that
//! does requires at least one valid entry from a trusted key.

use crate::program::Program;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::fmt;

/// The first field of every bundle's header.
pub const MAGIC: &str = "cbp-bundle";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleHeader {
    pub magic: String,
    pub format_version: u32,
    /// The program's [`Program::source_hash`].
    pub source_hash: String,
    /// Hex SHA-256 of the canonical JSON of the program.
    pub content_hash: String,
    pub created_by: String,
}

/// A signature over the content hash; reserved (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub algorithm: String,
    pub key_id: String,
    pub signature: String,
}

#[derive(Serialize)]
struct BundleOut<'a> {
    header: BundleHeader,
    signatures: &'a [Signature],
    program: &'a RawValue,
}

#[derive(Deserialize)]
struct BundleIn<'a> {
    header: BundleHeader,
    #[serde(default)]
    signatures: Vec<Signature>,
    #[serde(borrow)]
    program: &'a RawValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Not JSON, or not shaped like a bundle.
    Malformed(String),
    /// The `magic` field is not `cbp-bundle`.
    NotABundle(String),
    /// Written for another format version.
    Version { found: u32, expected: u32 },
    /// The program's bytes do not hash to the header's `content_hash`.
    ContentHash { expected: String, found: String },
    /// The header and the program disagree (source hash or format version).
    Inconsistent(String),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Malformed(why) => write!(f, "malformed bundle: {why}"),
            BundleError::NotABundle(magic) => {
                write!(
                    f,
                    "not a policy bundle (magic `{magic}`, expected `{MAGIC}`)"
                )
            }
            BundleError::Version { found, expected } => write!(
                f,
                "bundle format version {found} is not supported (this build reads version {expected})"
            ),
            BundleError::ContentHash { expected, found } => write!(
                f,
                "bundle content hash mismatch: the header says `{expected}`, the program hashes to `{found}`"
            ),
            BundleError::Inconsistent(why) => write!(f, "inconsistent bundle: {why}"),
        }
    }
}

impl std::error::Error for BundleError {}

/// The `created_by` of bundles this build writes.
pub fn created_by() -> String {
    format!("cbpc {}", env!("CARGO_PKG_VERSION"))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The canonical JSON of a program, the bytes the content hash covers.
pub fn canonical_json(program: &Program) -> String {
    // Serializing plain data (no maps with non-string keys, floats held as bits or finite)
    // cannot fail; an empty object would be refused by `read_bundle` anyway.
    serde_json::to_string(program).unwrap_or_else(|_| "{}".to_owned())
}

/// The bundle of a program: deterministic bytes, ending in a newline.
pub fn write_bundle(program: &Program) -> Vec<u8> {
    let json = canonical_json(program);
    let header = BundleHeader {
        magic: MAGIC.to_owned(),
        format_version: program.format_version,
        source_hash: program.source_hash.clone(),
        content_hash: sha256_hex(json.as_bytes()),
        created_by: created_by(),
    };
    let raw = RawValue::from_string(json).unwrap_or_else(|_| empty_object());
    let out = BundleOut {
        header,
        signatures: &[],
        program: &raw,
    };
    let mut bytes = serde_json::to_vec(&out).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| Box::<RawValue>::default())
}

/// Reads a bundle: checks magic, format version and content hash, then the program.
pub fn read_bundle(bytes: &[u8]) -> Result<Program, BundleError> {
    read_bundle_parts(bytes).map(|(_, _, program)| program)
}

/// Like [`read_bundle`], also returning the header and the (unchecked) signatures.
pub fn read_bundle_parts(
    bytes: &[u8],
) -> Result<(BundleHeader, Vec<Signature>, Program), BundleError> {
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let parts: BundleIn<'_> =
        serde_json::from_str(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let header = parts.header;
    if header.magic != MAGIC {
        return Err(BundleError::NotABundle(header.magic));
    }
    if header.format_version != crate::FORMAT_VERSION {
        return Err(BundleError::Version {
            found: header.format_version,
            expected: crate::FORMAT_VERSION,
        });
    }
    let found = sha256_hex(parts.program.get().as_bytes());
    if found != header.content_hash {
        return Err(BundleError::ContentHash {
            expected: header.content_hash,
            found,
        });
    }
    let program: Program = serde_json::from_str(parts.program.get())
        .map_err(|e| BundleError::Malformed(format!("program: {e}")))?;
    if program.format_version != header.format_version {
        return Err(BundleError::Inconsistent(format!(
            "the header says format version {}, the program {}",
            header.format_version, program.format_version
        )));
    }
    if program.source_hash != header.source_hash {
        return Err(BundleError::Inconsistent(format!(
            "the header says source hash `{}`, the program `{}`",
            header.source_hash, program.source_hash
        )));
    }
    Ok((header, parts.signatures, program))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{CmpOp, Lit, Node, NodeId, RowRef};
    use crate::types::Scalar;

    fn sample() -> Program {
        Program {
            format_version: crate::FORMAT_VERSION,
            source_hash: "ab".repeat(32),
            nodes: vec![
                Node::Load {
                    row: RowRef::Trigger,
                    slot: 9,
                    ty: Scalar::Float,
                },
                Node::Lit(Lit::Float(0.85f64.to_bits())),
                Node::Cmp {
                    op: CmpOp::Gt,
                    ty: Scalar::Float,
                    lhs: NodeId(0),
                    rhs: NodeId(1),
                },
            ],
            nodes_before_folding: 4,
            ..Program::default()
        }
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let p = sample();
        let a = write_bundle(&p);
        let b = write_bundle(&p.clone());
        assert_eq!(a, b);
        let back = read_bundle(&a);
        assert_eq!(back.as_ref(), Ok(&p));
        let text = String::from_utf8(a).unwrap_or_default();
        assert!(text.starts_with(r#"{"header":{"magic":"cbp-bundle","format_version":2,"#));
        assert!(text.contains(r#""signatures":[]"#));
        assert!(!text.contains("created_at"));
    }

    #[test]
    fn a_changed_program_is_refused() {
        let bytes = write_bundle(&sample());
        let text = String::from_utf8(bytes).unwrap_or_default();
        // Another slot: the program still parses, but no longer matches its hash.
        let tampered = text.replacen(r#""slot":9"#, r#""slot":8"#, 1);
        assert_ne!(tampered, text);
        assert!(matches!(
            read_bundle(tampered.as_bytes()),
            Err(BundleError::ContentHash { .. })
        ));
    }

    #[test]
    fn a_changed_header_is_refused() {
        let text = String::from_utf8(write_bundle(&sample())).unwrap_or_default();
        let wrong_magic = text.replacen("cbp-bundle", "cbp-bundel", 1);
        assert!(matches!(
            read_bundle(wrong_magic.as_bytes()),
            Err(BundleError::NotABundle(_))
        ));
        let wrong_version =
            text.replacen(r#""format_version":2,"s"#, r#""format_version":3,"s"#, 1);
        assert!(matches!(
            read_bundle(wrong_version.as_bytes()),
            Err(BundleError::Version {
                found: 3,
                expected: 2
            })
        ));
        let other_source = text.replacen(&"ab".repeat(32), &"cd".repeat(32), 1);
        assert!(matches!(
            read_bundle(other_source.as_bytes()),
            Err(BundleError::Inconsistent(_))
        ));
        assert!(matches!(
            read_bundle(b"not json"),
            Err(BundleError::Malformed(_))
        ));
    }

    #[test]
    fn signatures_are_carried_but_not_hashed() {
        let text = String::from_utf8(write_bundle(&sample())).unwrap_or_default();
        let signed = text.replacen(
            r#""signatures":[]"#,
            r#""signatures":[{"algorithm":"ed25519","key_id":"00","signature":"11"}]"#,
            1,
        );
        let parts = read_bundle_parts(signed.as_bytes());
        assert!(matches!(parts, Ok((_, ref sigs, _)) if sigs.len() == 1));
    }
}
