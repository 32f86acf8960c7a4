//! The protobuf form of events and records: the messages of `proto/cbp/v1/*.proto`, written
//! by hand with `prost`'s derive (kept in sync with the `.proto` files by
//! `runtime/tests/proto_sync.rs`, which parses them with `protox`), and the bridge to the
//! engine.
//!
//! A message's wire bytes are read straight into a row ([`push_message`]: the reader of
//! `decode/wire.rs`, then the layout walk the NDJSON decoder uses, with the same field
//! conversions); bytes that reader refuses are decoded by prost into an [`Event`], which
//! goes in through [`Engine::push_event`] or, refused there too, as the JSON object of its
//! NDJSON form ([`event_to_json`]) through [`Engine::push_object`], so both encodings give
//! the same records and dead letters, byte for byte. Output records go out as
//! `cbp.v1.Record`s ([`encode_record`]). A stream is a
//! sequence of length-delimited messages (a varint length, then the message: prost's
//! `encode_length_delimited`); [`EventReader`] reads one, and a message that does not
//! decode is a dead letter, never a panic.
//!
//! Hand-written rather than generated: `prost-build` needs `protoc` (a system binary) or
//! `protox` plus a build script at every build; the structs below are short, and the sync
//! test catches any drift from the `.proto` files.

mod output;

pub use output::{
    decode_records, encode_record, record_from_json, record_json, record_json_to_proto,
    record_to_proto,
};

use crate::engine::{Engine, LineOutcome};
use crate::record::Record;
use prost::Message;
use serde_json::{Map, Number, Value as Json};
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Clone, PartialEq, Message)]
pub struct Event {
    #[prost(string, optional, tag = "1")]
    pub event_id: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub model_id: Option<String>,
    #[prost(int64, optional, tag = "3")]
    pub timestamp_ms: Option<i64>,
    #[prost(string, optional, tag = "4")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub severity: Option<String>,
    #[prost(message, optional, tag = "6")]
    pub location: Option<Location>,
    #[prost(btree_map = "string, string", tag = "7")]
    pub metadata: BTreeMap<String, String>,
    #[prost(message, optional, tag = "8")]
    pub payload: Option<Struct>,
    #[prost(double, optional, tag = "9")]
    pub confidence: Option<f64>,
    #[prost(string, optional, tag = "10")]
    pub zone: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub timestamp: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Location {
    #[prost(double, optional, tag = "1")]
    pub latitude: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub longitude: Option<f64>,
    #[prost(string, optional, tag = "3")]
    pub address: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Value {
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub kind: Option<value::Kind>,
}

pub mod value {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(bool, tag = "1")]
        NullValue(bool),
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        #[prost(sint64, tag = "3")]
        IntValue(i64),
        #[prost(uint64, tag = "4")]
        UintValue(u64),
        #[prost(double, tag = "5")]
        DoubleValue(f64),
        #[prost(string, tag = "6")]
        StringValue(String),
        #[prost(message, tag = "7")]
        ListValue(super::ListValue),
        #[prost(message, tag = "8")]
        StructValue(super::Struct),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct ListValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<Value>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Struct {
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

// ---- records.proto ------------------------------------------------------------------------

#[derive(Clone, PartialEq, Message)]
pub struct OutputRecord {
    #[prost(oneof = "output_record::Kind", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub kind: Option<output_record::Kind>,
}

pub mod output_record {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "1")]
        Decision(super::Decision),
        #[prost(message, tag = "2")]
        Approval(super::ApprovalOutcome),
        #[prost(message, tag = "3")]
        Escalation(super::Escalation),
        #[prost(message, tag = "4")]
        Command(super::Directive),
        #[prost(message, tag = "5")]
        Action(super::Action),
        #[prost(message, tag = "6")]
        Report(super::Report),
        #[prost(message, tag = "7")]
        DeadLetter(super::DeadLetter),
    }
}

#[derive(Clone, PartialEq, Message)]
pub struct Place {
    #[prost(string, tag = "1")]
    pub layer: String,
    #[prost(string, tag = "2")]
    pub node: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Decision {
    #[prost(string, tag = "1")]
    pub decision_id: String,
    #[prost(string, tag = "2")]
    pub event_id: String,
    #[prost(int64, tag = "3")]
    pub decision_time_ms: i64,
    #[prost(string, tag = "4")]
    pub deciding_layer: String,
    #[prost(string, tag = "5")]
    pub deciding_brain_id: String,
    #[prost(message, repeated, tag = "6")]
    pub actions: Vec<Action>,
    #[prost(message, repeated, tag = "7")]
    pub rationale: Vec<Value>,
    #[prost(string, tag = "8")]
    pub approval_status: String,
    #[prost(string, tag = "9")]
    pub approver_id: String,
    #[prost(string, tag = "10")]
    pub rule: String,
    #[prost(string, repeated, tag = "11")]
    pub related: Vec<String>,
    #[prost(message, optional, tag = "12")]
    pub approval: Option<Value>,
    #[prost(message, optional, tag = "13")]
    pub priority: Option<Value>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Action {
    #[prost(string, tag = "1")]
    pub action_id: String,
    #[prost(string, tag = "2")]
    pub r#type: String,
    #[prost(string, tag = "3")]
    pub target_system: String,
    #[prost(message, optional, tag = "4")]
    pub parameters: Option<Struct>,
    #[prost(string, tag = "5")]
    pub status: String,
    #[prost(int64, tag = "6")]
    pub executed_at_ms: i64,
    #[prost(string, tag = "7")]
    pub result: String,
    #[prost(string, tag = "8")]
    pub decision_id: String,
    #[prost(string, tag = "9")]
    pub rule: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ApprovalOutcome {
    #[prost(string, tag = "1")]
    pub decision_id: String,
    #[prost(string, tag = "2")]
    pub rule: String,
    #[prost(string, tag = "3")]
    pub status: String,
    #[prost(string, tag = "4")]
    pub by: String,
    #[prost(int64, tag = "5")]
    pub time_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Escalation {
    #[prost(string, tag = "1")]
    pub decision_id: String,
    #[prost(string, optional, tag = "2")]
    pub incident_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub incident: Option<String>,
    #[prost(string, tag = "4")]
    pub rule: String,
    #[prost(string, tag = "5")]
    pub reason: String,
    #[prost(message, optional, tag = "6")]
    pub from: Option<Place>,
    #[prost(message, optional, tag = "7")]
    pub to: Option<Place>,
    #[prost(int64, tag = "8")]
    pub time_ms: i64,
    #[prost(message, optional, tag = "9")]
    pub fields: Option<Struct>,
    /// The incident as delivered (the record's `message`).
    #[prost(message, optional, tag = "10")]
    pub message: Option<Struct>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Directive {
    #[prost(string, tag = "1")]
    pub decision_id: String,
    #[prost(string, tag = "2")]
    pub command_id: String,
    #[prost(string, tag = "3")]
    pub rule: String,
    #[prost(message, optional, tag = "4")]
    pub from: Option<Place>,
    #[prost(message, optional, tag = "5")]
    pub to: Option<Place>,
    #[prost(string, tag = "6")]
    pub directive: String,
    #[prost(message, repeated, tag = "7")]
    pub actions: Vec<Value>,
    #[prost(message, optional, tag = "8")]
    pub params: Option<Struct>,
    #[prost(int64, tag = "9")]
    pub time_ms: i64,
    /// The directive as delivered (the record's `message`).
    #[prost(message, optional, tag = "10")]
    pub message: Option<Struct>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Report {
    #[prost(string, tag = "1")]
    pub report: String,
    #[prost(message, optional, tag = "2")]
    pub from: Option<Place>,
    #[prost(message, optional, tag = "3")]
    pub to: Option<Place>,
    #[prost(int64, tag = "4")]
    pub window_start_ms: i64,
    #[prost(int64, tag = "5")]
    pub window_end_ms: i64,
    #[prost(int64, tag = "6")]
    pub total_events: i64,
    #[prost(btree_map = "string, int64", tag = "7")]
    pub event_breakdown: BTreeMap<String, i64>,
    /// How many incidents the node escalated in the window.
    #[prost(int64, tag = "8")]
    pub escalated_incidents: i64,
    #[prost(message, optional, tag = "9")]
    pub fields: Option<Struct>,
    #[prost(string, repeated, tag = "10")]
    pub escalated_incident_ids: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct DeadLetter {
    #[prost(uint64, tag = "1")]
    pub line: u64,
    #[prost(string, tag = "2")]
    pub error: String,
    #[prost(string, tag = "3")]
    pub input: String,
}

// ---- JSON ⇄ protobuf ----------------------------------------------------------------------

/// The JSON object of an event's NDJSON form (contract section 2). Fails only on a number
/// JSON cannot hold (NaN, infinity).
pub fn event_to_json(event: &Event) -> Result<Map<String, Json>, String> {
    let mut object = Map::new();
    let mut put_str = |key: &str, value: &Option<String>| {
        if let Some(text) = value {
            object.insert(key.to_owned(), Json::String(text.clone()));
        }
    };
    put_str("event_id", &event.event_id);
    put_str("model_id", &event.model_id);
    put_str("type", &event.r#type);
    put_str("timestamp", &event.timestamp);
    put_str("zone", &event.zone);
    put_str("severity", &event.severity);
    if let Some(ms) = event.timestamp_ms {
        object.insert("timestamp_ms".into(), Json::from(ms));
    }
    if let Some(location) = &event.location {
        let mut place = Map::new();
        if let Some(lat) = location.latitude {
            place.insert("latitude".into(), float("location.latitude", lat)?);
        }
        if let Some(lon) = location.longitude {
            place.insert("longitude".into(), float("location.longitude", lon)?);
        }
        if let Some(address) = &location.address {
            place.insert("address".into(), Json::String(address.clone()));
        }
        object.insert("location".into(), Json::Object(place));
    }
    if let Some(confidence) = event.confidence {
        object.insert("confidence".into(), float("confidence", confidence)?);
    }
    let metadata = event
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    object.insert("metadata".into(), Json::Object(metadata));
    if let Some(payload) = &event.payload {
        object.insert("payload".into(), struct_to_json(payload, "payload")?);
    }
    Ok(object)
}

fn float(path: &str, x: f64) -> Result<Json, String> {
    Number::from_f64(x)
        .map(Json::Number)
        .ok_or_else(|| format!("field `{path}`: {x} is not a finite number"))
}

fn struct_to_json(object: &Struct, path: &str) -> Result<Json, String> {
    let mut out = Map::new();
    for (key, value) in &object.fields {
        let inner = format!("{path}.{key}");
        out.insert(key.clone(), value_to_json(value, &inner)?);
    }
    Ok(Json::Object(out))
}

/// A [`Value`] as JSON; `path` names it in the error about a non-finite float.
pub fn value_to_json(value: &Value, path: &str) -> Result<Json, String> {
    use value::Kind;
    Ok(match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::IntValue(i)) => Json::from(*i),
        Some(Kind::UintValue(u)) => Json::from(*u),
        Some(Kind::DoubleValue(x)) => float(path, *x)?,
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(
            list.values
                .iter()
                .enumerate()
                .map(|(i, v)| value_to_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(object)) => struct_to_json(object, path)?,
    })
}

/// A JSON value as a [`Value`] (integers stay integers).
pub fn json_to_value(json: &Json) -> Value {
    use value::Kind;
    let kind = match json {
        Json::Null => Kind::NullValue(true),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Kind::IntValue(i),
            (None, Some(u), _) => Kind::UintValue(u),
            (_, _, Some(x)) => Kind::DoubleValue(x),
            _ => Kind::NullValue(true),
        },
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        Json::Object(object) => Kind::StructValue(json_to_struct(object)),
    };
    Value { kind: Some(kind) }
}

fn json_to_struct(object: &Map<String, Json>) -> Struct {
    Struct {
        fields: object
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

/// The [`Event`] of an NDJSON event object. Fails when the object has something the message
/// cannot carry (an unknown top-level key, a value of another JSON type than the envelope
/// field's, a metadata value that is not a string), so that `event_to_json(json_to_event(o))
/// == o` whenever this succeeds.
pub fn json_to_event(object: &Map<String, Json>) -> Result<Event, String> {
    let mut event = Event::default();
    for (key, value) in object {
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` is not a string"))
        };
        match key.as_str() {
            "event_id" => event.event_id = Some(text()?),
            "model_id" => event.model_id = Some(text()?),
            "type" => event.r#type = Some(text()?),
            "timestamp" => event.timestamp = Some(text()?),
            "zone" => event.zone = Some(text()?),
            "severity" => event.severity = Some(text()?),
            "timestamp_ms" => {
                event.timestamp_ms =
                    Some(value.as_i64().ok_or("`timestamp_ms` is not an integer")?);
            }
            "confidence" => event.confidence = Some(number(value, "confidence")?),
            "location" => {
                let place = value.as_object().ok_or("`location` is not an object")?;
                let mut location = Location::default();
                for (k, v) in place {
                    match k.as_str() {
                        "latitude" => location.latitude = Some(number(v, "latitude")?),
                        "longitude" => location.longitude = Some(number(v, "longitude")?),
                        "address" => {
                            location.address =
                                Some(v.as_str().ok_or("`address` is not a string")?.to_owned());
                        }
                        other => return Err(format!("unknown location field `{other}`")),
                    }
                }
                event.location = Some(location);
            }
            "metadata" => {
                let map = value.as_object().ok_or("`metadata` is not an object")?;
                for (k, v) in map {
                    let v = v.as_str().ok_or("a `metadata` value is not a string")?;
                    event.metadata.insert(k.clone(), v.to_owned());
                }
            }
            "payload" => {
                let map = value.as_object().ok_or("`payload` is not an object")?;
                event.payload = Some(json_to_struct(map));
            }
            other => return Err(format!("unknown envelope field `{other}`")),
        }
    }
    if !object.contains_key("metadata") {
        // `event_to_json` always writes `metadata` (a proto map cannot be absent).
        return Err("no `metadata`".into());
    }
    Ok(event)
}

/// A float envelope field: a JSON float (an integer there would come back as a float).
fn number(value: &Json, key: &str) -> Result<f64, String> {
    match value {
        Json::Number(n) if n.is_f64() => n.as_f64().ok_or_else(|| format!("`{key}`")),
        _ => Err(format!("`{key}` is not a float")),
    }
}

/// Appends `event` to `out` as a length-delimited message.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot run out of room.
    let _ = event.encode_length_delimited(out);
}

// ---- reading a stream ---------------------------------------------------------------------

/// The largest message a stream may hold; a longer length prefix is taken as corruption.
pub const MAX_MESSAGE_BYTES: u64 = 16 << 20;

/// One frame of a length-delimited stream.
#[derive(Debug)]
pub enum Frame {
    /// A message that decoded.
    Event(Box<Event>),
    /// A complete frame whose bytes are not an `Event`; the stream goes on after it.
    Bad { error: String, input: String },
    /// The framing itself is broken (a bad length prefix or a truncated message): nothing
    /// after this point can be read.
    Broken { error: String, input: String },
}

/// One frame of a length-delimited stream, undecoded.
#[derive(Debug)]
pub enum RawFrame<'a> {
    /// A complete message's bytes (borrowed from the reader until the next call).
    Message(&'a [u8]),
    /// The framing itself is broken ([`Frame::Broken`]).
    Broken(Frame),
}

/// Reads length-delimited [`Event`]s from a byte stream.
pub struct EventReader<R: Read> {
    input: R,
    done: bool,
    /// The current message's bytes, reused from one message to the next.
    body: Vec<u8>,
}

impl<R: Read> EventReader<R> {
    pub fn new(input: R) -> Self {
        EventReader {
            input,
            done: false,
            body: Vec::new(),
        }
    }

    /// The next frame, `None` at the end of the stream; an IO error is returned as such.
    pub fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        Ok(self.next_message()?.map(|raw| match raw {
            RawFrame::Message(bytes) => decode_frame(bytes),
            RawFrame::Broken(frame) => frame,
        }))
    }

    /// The next frame's bytes, not decoded (see [`push_message`]); `None` at the end.
    pub fn next_message(&mut self) -> std::io::Result<Option<RawFrame<'_>>> {
        if self.done {
            return Ok(None);
        }
        let mut prefix = Vec::with_capacity(10);
        let mut length: u64 = 0;
        loop {
            let mut byte = [0u8; 1];
            if read_full(&mut self.input, &mut byte)? == 0 {
                self.done = true;
                if prefix.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(RawFrame::Broken(
                    self.broken("the stream ends inside a length prefix", &prefix),
                )));
            }
            prefix.push(byte[0]);
            length |= u64::from(byte[0] & 0x7f) << (7 * (prefix.len() - 1));
            if byte[0] & 0x80 == 0 {
                break;
            }
            if prefix.len() == 10 {
                return Ok(Some(RawFrame::Broken(
                    self.broken("the length prefix is not a varint", &prefix),
                )));
            }
        }
        if length > MAX_MESSAGE_BYTES {
            return Ok(Some(RawFrame::Broken(self.broken(
                &format!("the length prefix says {length} bytes, more than the {MAX_MESSAGE_BYTES} a message may have"),
                &prefix,
            ))));
        }
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        (&mut self.input).take(length).read_to_end(&mut body)?;
        if (body.len() as u64) < length {
            let error = format!(
                "the stream ends inside a message: the length prefix says {length} bytes, {} remain",
                body.len()
            );
            return Ok(Some(RawFrame::Broken(self.broken(&error, &body))));
        }
        self.body = body;
        Ok(Some(RawFrame::Message(&self.body)))
    }

    fn broken(&mut self, error: &str, bytes: &[u8]) -> Frame {
        self.done = true;
        Frame::Broken {
            error: error.to_owned(),
            input: hex_input(bytes),
        }
    }
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A complete message's bytes decoded by prost: an event, or a bad frame.
pub fn decode_frame(bytes: &[u8]) -> Frame {
    match Event::decode(bytes) {
        Ok(event) => Frame::Event(Box::new(event)),
        Err(e) => Frame::Bad {
            error: format!("invalid protobuf `cbp.v1.Event`: {e}"),
            input: hex_input(bytes),
        },
    }
}

/// The text a dead letter repeats for bytes that are not a message: their hex, cut short.
fn hex_input(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::from("hex:");
    for b in bytes.iter().take(200) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Feeds one frame to the engine as message number `n` (1-based, the `line` of its dead
/// letter): an event goes in decoded straight into a row; its JSON text (the raw input of a
/// dead letter) is built only if a dead letter needs it.
pub fn push_frame(
    engine: &mut Engine,
    n: u64,
    frame: &Frame,
    out: &mut dyn FnMut(&Record),
) -> LineOutcome {
    match frame {
        Frame::Event(event) => {
            // The event's JSON text is only needed by a dead letter: built for the first one.
            let mut raw: Option<String> = None;
            let mut rewrite = |record: &Record| match record {
                Record::DeadLetter(dead) => {
                    let text = raw.get_or_insert_with(|| json_text(event));
                    out(&Record::dead_letter(dead.line, dead.error.clone(), text));
                }
                other => out(other),
            };
            match engine.push_event(n, event, "", &mut rewrite) {
                Some(outcome) => outcome,
                None => push_json(engine, n, event, out),
            }
        }
        Frame::Bad { error, input } | Frame::Broken { error, input } => {
            engine.push_unreadable(n, input, error.clone(), out)
        }
    }
}

/// Feeds one message's bytes to the engine as message number `n` (what `cbpc run --format
/// proto` does): read straight from the wire format into a row, or, when that reader
/// refuses the bytes, decoded by prost and fed as [`push_frame`] does, so the outcome and
/// every dead letter are the same either way. The event's JSON text (the raw input of a dead
/// letter) is built only if a dead letter needs it.
pub fn push_message(
    engine: &mut Engine,
    n: u64,
    bytes: &[u8],
    out: &mut dyn FnMut(&Record),
) -> LineOutcome {
    let mut raw: Option<String> = None;
    let mut rewrite = |record: &Record| match record {
        Record::DeadLetter(dead) => {
            let text = raw.get_or_insert_with(|| {
                Event::decode(bytes)
                    .map(|event| json_text(&event))
                    .unwrap_or_default()
            });
            out(&Record::dead_letter(dead.line, dead.error.clone(), text));
        }
        other => out(other),
    };
    match engine.push_wire(n, bytes, "", &mut rewrite) {
        Some(outcome) => outcome,
        None => push_frame(engine, n, &decode_frame(bytes), out),
    }
}

fn json_text(event: &Event) -> String {
    event_to_json(event)
        .map(|object| serde_json::to_string(&object).unwrap_or_default())
        .unwrap_or_default()
}

/// An event through its JSON form (what the direct decoder refused, so its dead letter).
pub(crate) fn push_json(
    engine: &mut Engine,
    n: u64,
    event: &Event,
    out: &mut dyn FnMut(&Record),
) -> LineOutcome {
    match event_to_json(event) {
        Ok(object) => {
            let raw = serde_json::to_string(&object).unwrap_or_default();
            engine.push_object(n, &object, &raw, out)
        }
        Err(error) => engine.push_unreadable(n, &format!("{event:?}"), error, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Map<String, Json> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_event_round_trips_through_json() {
        let object = line(
            r#"{"event_id":"e-1","model_id":"m","type":"flood_warning","timestamp":"2025-12-03T14:00:00Z","location":{"latitude":12.97,"longitude":77.59},"zone":"ka.bengaluru.east.indiranagar","severity":"high","confidence":0.9,"metadata":{"camera":"c-1"},"payload":{"water_level_cm":45,"ratio":1.0,"road_ids":["r-1"],"nested":{"x":null,"y":true}}}"#,
        );
        let event = json_to_event(&object).unwrap();
        let mut bytes = Vec::new();
        encode_event(&event, &mut bytes);
        let mut reader = EventReader::new(bytes.as_slice());
        let Some(Frame::Event(decoded)) = reader.next_frame().unwrap() else {
            panic!("expected an event");
        };
        assert_eq!(*decoded, event);
        assert_eq!(event_to_json(&decoded).unwrap(), object);
        assert!(reader.next_frame().unwrap().is_none());
    }

    #[test]
    fn integers_and_floats_stay_apart() {
        let int = json_to_value(&serde_json::json!(45));
        let float = json_to_value(&serde_json::json!(45.0));
        assert_eq!(int.kind, Some(value::Kind::IntValue(45)));
        assert_eq!(float.kind, Some(value::Kind::DoubleValue(45.0)));
        assert_eq!(value_to_json(&float, "x").unwrap().to_string(), "45.0");
    }

    #[test]
    fn what_a_message_cannot_carry_is_refused() {
        assert!(json_to_event(&line(r#"{"extra":1,"metadata":{}}"#)).is_err());
        assert!(json_to_event(&line(r#"{"confidence":1,"metadata":{}}"#)).is_err());
        assert!(json_to_event(&line(r#"{"metadata":{"a":1}}"#)).is_err());
        assert!(json_to_event(&line(r#"{"type":"x"}"#)).is_err());
    }

    #[test]
    fn a_nan_is_refused_not_written() {
        let event = Event {
            confidence: Some(f64::NAN),
            ..Event::default()
        };
        let error = event_to_json(&event).unwrap_err();
        assert!(error.contains("`confidence`"), "{error}");
    }

    #[test]
    fn broken_framing_stops_the_stream() {
        let mut bytes = Vec::new();
        encode_event(&Event::default(), &mut bytes);
        bytes.extend_from_slice(&[0x05, 0x0a]); // says 5 bytes, has 1
        let mut reader = EventReader::new(bytes.as_slice());
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Event(_))
        ));
        let Some(Frame::Broken { error, input }) = reader.next_frame().unwrap() else {
            panic!("expected a broken frame");
        };
        assert!(error.contains("5 bytes, 1 remain"), "{error}");
        assert_eq!(input, "hex:0a");
        assert!(reader.next_frame().unwrap().is_none());
    }

    #[test]
    fn an_oversized_length_is_corruption() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0x0f];
        let mut reader = EventReader::new(&bytes[..]);
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Broken { .. })
        ));
    }

    #[test]
    fn a_complete_frame_of_garbage_is_bad_and_the_stream_goes_on() {
        let mut bytes = vec![0x02, 0xff, 0xff];
        encode_event(&Event::default(), &mut bytes);
        let mut reader = EventReader::new(bytes.as_slice());
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Bad { .. })
        ));
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Event(_))
        ));
    }
}
