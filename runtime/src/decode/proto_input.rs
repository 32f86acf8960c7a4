//! Protobuf input straight into a row: a `cbp.v1.Event` is walked by the message layout the
//! way [`Decoder::decode_object`] walks its JSON form, without building that form.
//!
//! Only leaves (a string, a number, the small `location` and `metadata` objects, lists) are
//! converted to JSON values, and they go through the same [`Writer::field`] as NDJSON, so a
//! field is converted and checked exactly alike. Anything that would refuse the event gives
//! `None` here: the caller then takes the JSON path, which writes the dead letter with the
//! very message an NDJSON line would get.

use super::{Decoder, MAX_TIME_MS, MIN_TIME_MS, Path, Writer, check_zone};
use crate::intern::Interner;
use crate::proto::{Event, Struct, Value as ProtoValue, value::Kind, value_to_json};
use crate::time::parse_rfc3339;
use cbp_ir::Row;
use cbp_ir::layout::{ENVELOPE_FIELDS, FieldLayout, Storage, envelope};
use serde_json::{Map, Number, Value as JsonValue};

impl Decoder {
    /// The row of `event`, or `None` when the event is refused (or holds a non-finite
    /// number, which its JSON form cannot carry): decode its JSON form then.
    pub fn decode_event(&self, interner: &mut Interner, event: &Event) -> Option<Row> {
        if !event_is_finite(event) {
            return None;
        }
        let layout = self.message_named(event.r#type.as_deref()?)?;
        let mut row = self.new_row(layout);
        let mut writer = Writer {
            program: &self.program,
            empty_map: &self.empty_map,
            interner,
            row: &mut row,
        };
        let payload = event.payload.as_ref();
        for (i, field) in layout.fields.iter().enumerate() {
            if i < ENVELOPE_FIELDS {
                writer.event_envelope_field(field, event)?;
            } else {
                let value = payload.and_then(|p| p.fields.get(&field.name));
                writer.proto_field(field, value, &NO_PATH)?;
            }
        }
        Some(row)
    }
}

/// The field path only names a field in an error, and an error here only sends the event to
/// the JSON path (which names it): no path is built.
const NO_PATH: Path<'static> = Path::Root("");

fn finite(x: f64) -> Option<JsonValue> {
    Number::from_f64(x).map(JsonValue::Number)
}

/// An envelope field of the event as the JSON value its NDJSON form has (`None`: absent).
fn envelope_value(event: &Event, name: &str) -> Option<JsonValue> {
    let text = |t: &Option<String>| t.as_ref().map(|t| JsonValue::String(t.clone()));
    match name {
        "event_id" => text(&event.event_id),
        "model_id" => text(&event.model_id),
        "type" => text(&event.r#type),
        "timestamp" => text(&event.timestamp),
        "zone" => text(&event.zone),
        "severity" => text(&event.severity),
        "timestamp_ms" => event.timestamp_ms.map(JsonValue::from),
        "confidence" => event.confidence.and_then(finite),
        "location" => event.location.as_ref().map(|location| {
            let mut place = Map::new();
            if let Some(lat) = location.latitude.and_then(finite) {
                place.insert("latitude".into(), lat);
            }
            if let Some(lon) = location.longitude.and_then(finite) {
                place.insert("longitude".into(), lon);
            }
            if let Some(address) = &location.address {
                place.insert("address".into(), JsonValue::String(address.clone()));
            }
            JsonValue::Object(place)
        }),
        // The JSON form always has `metadata` (an empty object at least).
        "metadata" => Some(JsonValue::Object(
            event
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), JsonValue::String(v.clone())))
                .collect(),
        )),
        _ => None,
    }
}

impl Writer<'_> {
    /// As `Writer::envelope_field` on the event's JSON form; `None` where that refuses.
    fn event_envelope_field(&mut self, field: &FieldLayout, event: &Event) -> Option<()> {
        if field.name == "timestamp" {
            // `timestamp` (RFC 3339) first, else `timestamp_ms` within the years 0000–9999.
            let ms = match (&event.timestamp, event.timestamp_ms) {
                (Some(text), _) => parse_rfc3339(text)?,
                (None, Some(ms)) if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) => ms,
                _ => return None,
            };
            self.row.set(envelope::TIMESTAMP, ms as u64);
            return Some(());
        }
        if field.name == "location"
            && let (Some(location), Storage::Record { presence, fields }) =
                (&event.location, &field.storage)
        {
            // Its record walked directly (as `Writer::field` walks the JSON object).
            for inner in fields {
                let leaf = match inner.name.as_str() {
                    "latitude" => location.latitude.and_then(finite),
                    "longitude" => location.longitude.and_then(finite),
                    "address" => location.address.clone().map(JsonValue::String),
                    _ => None,
                };
                self.field(inner, leaf.as_ref(), &NO_PATH).ok()?;
            }
            self.row.mark_present(*presence);
            return Some(());
        }
        let text = match field.name.as_str() {
            "event_id" => event.event_id.as_deref(),
            "model_id" => event.model_id.as_deref(),
            _ => None,
        };
        if let Some(text) = text
            && self.text_field(field, text)
        {
            return Some(());
        }
        let given = envelope_value(event, &field.name);
        if field.name == "zone"
            && let Some(JsonValue::String(zone)) = &given
        {
            check_zone(zone).ok()?;
        }
        self.field(field, given.as_ref(), &Path::Root(&field.name))
            .ok()
    }

    /// A string written to a string or zone slot without a range (what `Writer::field` does
    /// with a JSON string there), without copying the text first; `false` for another field.
    fn text_field(&mut self, field: &FieldLayout, text: &str) -> bool {
        let Storage::Slot(slot) = field.storage else {
            return false;
        };
        let symbol = field
            .ty
            .strip_optional()
            .scalar()
            .is_some_and(|s| s.is_symbol());
        if !symbol || field.range.is_some() {
            return false;
        }
        let (id, held) = self.interner.intern_held(text);
        if let Some(held) = held {
            self.row.objects.push(cbp_ir::Value::Str(held));
        }
        self.row.set(slot, id);
        true
    }

    /// As `Writer::field` on the value's JSON form; `None` where that refuses.
    fn proto_field(
        &mut self,
        field: &FieldLayout,
        value: Option<&ProtoValue>,
        path: &Path<'_>,
    ) -> Option<()> {
        match (value.map(|v| &v.kind), &field.storage) {
            (None, _) => self.field::<JsonValue>(field, None, path).ok(),
            (Some(None | Some(Kind::NullValue(_))), _) => {
                self.field(field, Some(&JsonValue::Null), path).ok()
            }
            (Some(Some(Kind::StructValue(object))), Storage::Record { presence, fields }) => {
                for inner in fields {
                    self.proto_field(inner, object.fields.get(&inner.name), path)?;
                }
                self.row.mark_present(*presence);
                Some(())
            }
            (Some(Some(Kind::StringValue(text))), _) if self.text_field(field, text) => Some(()),
            (Some(_), _) => {
                let json = value_to_json(value?, "").ok()?;
                self.field(field, Some(&json), path).ok()
            }
        }
    }
}

/// Whether every number of the event is finite (the JSON form refuses the event otherwise,
/// even for a field the layout ignores).
fn event_is_finite(event: &Event) -> bool {
    let location = event.location.as_ref();
    [
        event.confidence,
        location.and_then(|l| l.latitude),
        location.and_then(|l| l.longitude),
    ]
    .into_iter()
    .flatten()
    .all(f64::is_finite)
        && event.payload.as_ref().is_none_or(struct_is_finite)
}

fn struct_is_finite(object: &Struct) -> bool {
    object.fields.values().all(value_is_finite)
}

fn value_is_finite(value: &ProtoValue) -> bool {
    match &value.kind {
        Some(Kind::DoubleValue(x)) => x.is_finite(),
        Some(Kind::ListValue(list)) => list.values.iter().all(value_is_finite),
        Some(Kind::StructValue(object)) => struct_is_finite(object),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, LineOutcome, RunOptions};
    use crate::proto::{Frame, json_to_event, push_frame, push_json};
    use crate::record::Record;
    use cbp_ir::Program;
    use std::sync::Arc;

    const POLICY: &str = r#"package city

record Spot {
    road: string
    lane: int?
}

event parked {
    plate: string
    minutes: int in 0..600
    spot: Spot
    tags: list<string>
}
"#;

    fn program() -> Arc<Program> {
        let mut compiler = cbp_check::Compiler::new();
        compiler.set_file("t.cbp", POLICY.to_string());
        Arc::new(
            cbp_lower::lower(
                &compiler.checked_program(),
                &[("t.cbp".to_string(), POLICY.to_string())],
            )
            .expect("lowers"),
        )
    }

    fn line(id: &str, time: &str, zone: &str, minutes: &str) -> String {
        format!(
            r#"{{"event_id":"{id}","model_id":"m","type":"parked","timestamp":"{time}","location":{{"latitude":12.9,"longitude":77.5}},"zone":"{zone}","severity":"low","confidence":0.5,"metadata":{{"cam":"c-1"}},"payload":{{"plate":"KA01","minutes":{minutes},"spot":{{"road":"r-1","lane":null}},"tags":["a","b"]}}}}"#
        )
    }

    /// Every record of the lines pushed as protobuf frames: through their JSON form (as
    /// before the direct decoder) and as `push_frame` does now.
    fn both(lines: &[String]) -> (Vec<String>, Vec<String>, Vec<LineOutcome>) {
        let program = program();
        let mut json = Engine::new(
            program.clone(),
            crate::interpreter(&program),
            RunOptions::default(),
        );
        let mut proto = Engine::new(
            program.clone(),
            crate::interpreter(&program),
            RunOptions::default(),
        );
        let (mut a, mut b, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
        for (i, text) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            let object = serde_json::from_str(text).expect("json");
            let event = json_to_event(&object).expect("event");
            push_json(&mut json, n, &event, &mut |r: &Record| {
                a.push(r.to_json_line())
            });
            let frame = Frame::Event(Box::new(event));
            outcomes.push(push_frame(&mut proto, n, &frame, &mut |r: &Record| {
                b.push(r.to_json_line())
            }));
        }
        (a, b, outcomes)
    }

    #[test]
    fn direct_decoding_gives_the_rows_of_the_json_form() {
        let program = program();
        let decoder = super::Decoder::new(program.clone());
        let mut interner = crate::intern::Interner::new();
        let text = line(
            "e-1",
            "2025-12-03T14:00:00Z",
            "ka.bengaluru.east.indiranagar",
            "45",
        );
        let object = serde_json::from_str(&text).expect("json");
        let event = json_to_event(&object).expect("event");
        let direct = decoder
            .decode_event(&mut interner, &event)
            .expect("decodes");
        let via_json = decoder
            .decode_object(&mut interner, &object)
            .expect("decodes");
        assert_eq!(direct, via_json);
    }

    #[test]
    fn refused_and_late_events_give_the_dead_letters_of_ndjson() {
        let zone = "ka.bengaluru.east.indiranagar";
        let lines = vec![
            line("e-1", "2025-12-03T14:00:00Z", zone, "45"),
            // Out of range, then a bad zone: refused by the direct decoder, so the JSON path.
            line("e-2", "2025-12-03T14:00:01Z", zone, "601"),
            line("e-3", "2025-12-03T14:00:01Z", "ka.bengaluru", "5"),
            // Decoded directly, then late: the dead letter still repeats the JSON text.
            line("e-4", "2025-12-03T13:00:00Z", zone, "5"),
        ];
        let (json, proto, outcomes) = both(&lines);
        assert_eq!(json, proto);
        assert_eq!(proto.len(), 3, "{proto:#?}");
        assert_eq!(
            outcomes,
            vec![
                LineOutcome::Processed,
                LineOutcome::DeadLettered,
                LineOutcome::DeadLettered,
                LineOutcome::DeadLettered,
            ]
        );
        assert!(proto[1].contains("has 2 segments"), "{}", proto[1]);
        assert!(proto[2].contains(r#"\"event_id\":\"e-4\""#), "{}", proto[2]);
        assert!(proto[2].contains("late: event time"), "{}", proto[2]);
    }
}
