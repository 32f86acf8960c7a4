//! `test` blocks: messages as JSON field values, clock steps, expectations with locations.

use crate::LowerError;
use crate::consts;
use crate::index::Index;
use crate::sources::Sources;
use cbp_check::hir::{self, ExprKind};
use cbp_ir::program::{Expectation, Test, TestStep};
use serde_json::{Map, Value};

type R<T> = Result<T, LowerError>;

fn err(item: &hir::Item, name: &str, what: impl Into<String>) -> LowerError {
    LowerError::Unsupported {
        item: format!("test {name:?}"),
        file: item.file.clone(),
        what: what.into(),
    }
}

fn fields(
    ix: &Index<'_>,
    item: &hir::Item,
    name: &str,
    values: &[hir::FieldValue],
) -> R<Map<String, Value>> {
    let mut map = Map::new();
    for v in values {
        let value = consts::eval(ix, &v.value).ok_or_else(|| {
            err(
                item,
                name,
                format!("the value of `{}` is not a constant", v.name),
            )
        })?;
        map.insert(v.name.to_string(), value);
    }
    Ok(map)
}

pub fn test(ix: &Index<'_>, src: &mut Sources, item: &hir::Item, t: &hir::Test) -> R<Test> {
    let name = &t.name;
    let mut expects = src.expect_offsets(item).into_iter();
    let mut steps = Vec::with_capacity(t.steps.len());
    for step in &t.steps {
        steps.push(match step {
            hir::Step::Send {
                message,
                at,
                fields: values,
            } => {
                let message = ix
                    .message_id(message)
                    .ok_or_else(|| err(item, name, format!("unknown message `{message}`")))?;
                let (at_ms, absolute) = match &at.kind {
                    ExprKind::Call(id, args) if &*id.name == "timestamp" => {
                        let text = match args.first().map(|a| &a.kind) {
                            Some(ExprKind::Str(s)) => s.as_str(),
                            _ => "",
                        };
                        let ms = cbp_ir::time::parse_rfc3339(text).ok_or_else(|| {
                            err(item, name, format!("`{text}` is not an RFC 3339 timestamp"))
                        })?;
                        (ms, true)
                    }
                    _ => (
                        consts::eval(ix, at)
                            .and_then(|v| v.as_i64())
                            .ok_or_else(|| {
                                err(item, name, "a `send … at` offset that is not a constant")
                            })?,
                        false,
                    ),
                };
                TestStep::Send {
                    message,
                    at_ms,
                    absolute,
                    fields: fields(ix, item, name, values)?,
                }
            }
            hir::Step::Advance(d) => TestStep::Advance {
                by_ms: consts::eval(ix, d)
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| err(item, name, "an `advance` that is not a constant"))?,
            },
            hir::Step::Expect {
                negated,
                count,
                kind,
                subject,
                fields: values,
            } => {
                let location = match expects.next() {
                    Some(offset) => src.location(&item.file, offset),
                    None => src.location(&item.file, item.offset),
                };
                TestStep::Expect(Expectation {
                    negated: *negated,
                    count: count.and_then(|c| u32::try_from(c).ok()),
                    kind: kind.keyword().to_owned(),
                    subject: subject.as_ref().map(|s| s.name.to_string()),
                    fields: fields(ix, item, name, values)?,
                    location,
                })
            }
        });
    }
    Ok(Test {
        name: name.clone(),
        file: item.file.clone(),
        steps,
    })
}
