//! A webhook body → journal inputs. What is not an event at all (a body that is not JSON,
//! an event from another plugin) refuses the whole request with a 4xx; an event that is JSON
//! but breaks the schema goes in and is dead-lettered by the engine, like a bad line of
//! `cbpc run`, so the decision log says what became of it.

use super::ApiError;
use crate::store::Input;
use cbp_runtime::proto::{Event, EventReader, Frame};
use prost::Message;
use serde_json::Value;
use serde_json::value::RawValue;

/// How the body is written, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// One event object, or an array of them.
    Json,
    /// One event per line.
    Ndjson,
    /// One `cbp.v1.Event`.
    Proto,
    /// Length-delimited `cbp.v1.Event`s (`application/x-protobuf; delimited=true`).
    ProtoDelimited,
}

impl BodyFormat {
    pub fn of(content_type: Option<&str>) -> Result<BodyFormat, ApiError> {
        let Some(text) = content_type else {
            return Ok(BodyFormat::Json);
        };
        let mut parts = text.split(';').map(str::trim);
        let mime = parts.next().unwrap_or("").to_ascii_lowercase();
        let delimited = parts.any(|p| p.eq_ignore_ascii_case("delimited=true"));
        match mime.as_str() {
            // curl's `--data` says form-urlencoded; the body is still the JSON it was given.
            "application/json" | "application/x-www-form-urlencoded" | "" => Ok(BodyFormat::Json),
            "application/x-ndjson" | "application/jsonl" => Ok(BodyFormat::Ndjson),
            "application/x-protobuf" | "application/protobuf" if delimited => {
                Ok(BodyFormat::ProtoDelimited)
            }
            "application/x-protobuf" | "application/protobuf" => Ok(BodyFormat::Proto),
            other => Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "content type `{other}` is not application/json, application/x-ndjson or application/x-protobuf"
                ),
            )),
        }
    }
}

/// The body's events as inputs. With a `plugin` (its webhook), each event must come from it
/// (its `model_id` is filled in when absent); without, each keeps its own.
pub fn inputs(
    plugin: Option<&str>,
    format: BodyFormat,
    body: &[u8],
) -> Result<Vec<Input>, ApiError> {
    match format {
        BodyFormat::Json => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
            let not_json =
                |e: serde_json::Error| ApiError::bad_request(format!("the body is not JSON: {e}"));
            // Each event keeps its text as sent: a dead letter repeats it exactly.
            let events: Vec<Box<RawValue>> = if text.trim_start().starts_with('[') {
                serde_json::from_str(text).map_err(not_json)?
            } else {
                vec![serde_json::from_str(text).map_err(not_json)?]
            };
            events
                .iter()
                .enumerate()
                .map(|(i, event)| json_event(plugin, i, event.get()))
                .collect()
        }
        BodyFormat::Ndjson => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
            text.lines()
                .map(|line| line.trim_end_matches('\r'))
                .filter(|line| !line.trim().is_empty())
                .enumerate()
                .map(|(i, line)| {
                    // Not an object: the engine dead-letters it with its exact reason.
                    Ok(object_event(plugin, i, line)?
                        .unwrap_or_else(|| Input::Line(line.to_string())))
                })
                .collect()
        }
        BodyFormat::Proto => {
            let event = Event::decode(body).map_err(|e| {
                ApiError::bad_request(format!("the body is not a protobuf `cbp.v1.Event`: {e}"))
            })?;
            Ok(vec![proto_event(plugin, 0, event)?])
        }
        BodyFormat::ProtoDelimited => {
            let mut reader = EventReader::new(body);
            let mut out = Vec::new();
            let mut index = 0;
            loop {
                let frame = reader
                    .next_frame()
                    .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
                match frame {
                    None => break,
                    Some(Frame::Event(event)) => out.push(proto_event(plugin, index, *event)?),
                    Some(Frame::Bad { error, .. }) | Some(Frame::Broken { error, .. }) => {
                        return Err(ApiError::bad_request(format!("message {index}: {error}")));
                    }
                }
                index += 1;
            }
            Ok(out)
        }
    }
}

fn json_event(plugin: Option<&str>, index: usize, text: &str) -> Result<Input, ApiError> {
    object_event(plugin, index, text)?
        .ok_or_else(|| ApiError::bad_request(format!("event {index} is not a JSON object")))
}

/// What [`json_event`] reads of an event: only its `model_id`, borrowed as written (the
/// other members are checked for syntax and skipped, nothing is allocated for them).
#[derive(serde::Deserialize)]
struct Head<'a> {
    /// Absent: `None`; present, even `null`: its text.
    #[serde(borrow, default, deserialize_with = "present")]
    model_id: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// The event as an input when `text` is one JSON object; `None` when it is not. The usual
/// event is read once, without building it as a [`Value`]: a webhook's event without a
/// `model_id` gets the plugin's id written in front of its own members, so it keeps its
/// text otherwise. Anything unusual (a `null` or repeated `model_id`, text that is not
/// JSON) goes through [`value_event`].
fn object_event(plugin: Option<&str>, index: usize, text: &str) -> Result<Option<Input>, ApiError> {
    let Some(members) = text.trim_start().strip_prefix('{') else {
        return Ok(None);
    };
    let Ok(head) = serde_json::from_str::<Head<'_>>(text) else {
        return value_event(plugin, index, text);
    };
    let Some(plugin) = plugin else {
        return Ok(Some(Input::Line(text.to_string())));
    };
    match head.model_id.map(RawValue::get) {
        None => {
            let id = Value::String(plugin.to_string()).to_string();
            let rest = members.trim_start();
            let separator = if rest.starts_with('}') { "" } else { "," };
            Ok(Some(Input::Line(format!(
                "{{\"model_id\":{id}{separator}{rest}"
            ))))
        }
        Some("null") => value_event(Some(plugin), index, text),
        Some(raw) => match serde_json::from_str::<std::borrow::Cow<'_, str>>(raw) {
            Ok(id) if id == plugin => Ok(Some(Input::Line(text.to_string()))),
            _ => Err(wrong_plugin(plugin, index, raw)),
        },
    }
}

/// [`object_event`] through a whole [`Value`], for what its quick reading does not take.
fn value_event(plugin: Option<&str>, index: usize, text: &str) -> Result<Option<Input>, ApiError> {
    let Ok(mut event) = serde_json::from_str::<Value>(text) else {
        return Ok(None);
    };
    let Some(object) = event.as_object_mut() else {
        return Ok(None);
    };
    let Some(plugin) = plugin else {
        return Ok(Some(Input::Line(text.to_string())));
    };
    match object.get("model_id") {
        None | Some(Value::Null) => {
            object.insert("model_id".into(), Value::String(plugin.to_string()));
            Ok(Some(Input::Line(event.to_string())))
        }
        Some(Value::String(id)) if id == plugin => Ok(Some(Input::Line(text.to_string()))),
        Some(other) => Err(wrong_plugin(plugin, index, &other.to_string())),
    }
}

fn proto_event(plugin: Option<&str>, index: usize, mut event: Event) -> Result<Input, ApiError> {
    let Some(plugin) = plugin else {
        return Ok(Input::Proto(event.encode_to_vec()));
    };
    match event.model_id.as_deref() {
        None | Some("") => event.model_id = Some(plugin.to_string()),
        Some(id) if id == plugin => {}
        Some(other) => return Err(wrong_plugin(plugin, index, &format!("\"{other}\""))),
    }
    Ok(Input::Proto(event.encode_to_vec()))
}

fn wrong_plugin(plugin: &str, index: usize, found: &str) -> ApiError {
    ApiError::unprocessable(
        "wrong_plugin",
        format!(
            "event {index} has `model_id` {found}, but it was posted to the webhook of `{plugin}`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(BodyFormat::of(None).unwrap(), BodyFormat::Json);
        assert_eq!(
            BodyFormat::of(Some("application/json; charset=utf-8")).unwrap(),
            BodyFormat::Json
        );
        assert_eq!(
            BodyFormat::of(Some("application/x-protobuf; delimited=true")).unwrap(),
            BodyFormat::ProtoDelimited
        );
        assert_eq!(
            BodyFormat::of(Some("text/plain")).unwrap_err().status,
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn model_id_is_filled_in_and_checked() {
        let inputs = inputs(
            Some("cam"),
            BodyFormat::Json,
            br#"[{"event_id":"a"},{"event_id":"b","model_id":"cam"}]"#,
        )
        .unwrap();
        assert_eq!(inputs.len(), 2);
        let Input::Line(first) = &inputs[0] else {
            panic!("a line")
        };
        assert!(first.contains("\"model_id\":\"cam\""), "{first}");
        let error =
            super::inputs(Some("cam"), BodyFormat::Json, br#"{"model_id":"other"}"#).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error.message.contains("\"other\""), "{}", error.message);
    }

    #[test]
    fn malformed_bodies_are_4xx() {
        for (format, body) in [
            (BodyFormat::Json, &b"{"[..]),
            (BodyFormat::Json, b"42"),
            (BodyFormat::Json, b"[1]"),
            (BodyFormat::Ndjson, b"\xff\xfe"),
            (BodyFormat::Proto, b"\xff\xff\xff"),
            (BodyFormat::ProtoDelimited, b"\x05ab"),
        ] {
            let error = inputs(Some("p"), format, body).unwrap_err();
            assert!(error.status.is_client_error(), "{format:?} {body:?}");
        }
    }

    #[test]
    fn ndjson_keeps_bad_lines_for_the_dead_letter_log() {
        let inputs = inputs(
            Some("p"),
            BodyFormat::Ndjson,
            b"{\"event_id\":\"a\"}\nnot json\n\n",
        )
        .unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[1], Input::Line("not json".into()));
    }

    /// The quick reading gives the event the whole-`Value` reading gives (the same members,
    /// the same error or the same "not an object"), on usual and unusual texts alike.
    #[test]
    fn the_quick_reading_agrees_with_the_whole_value() {
        let texts = [
            r#"{"event_id":"a","zone":"z"}"#,
            r#"  { "event_id" : "a" , "nested": {"model_id": 1} }"#,
            r#"{}"#,
            r#"{ }"#,
            r#"{"model_id":"cam","x":[1,2]}"#,
            r#"{"model_id":null,"x":1}"#,
            r#"{"model_id":"other"}"#,
            r#"{"model_id":7}"#,
            r#"{"model\u005fid":"cam"}"#,
            r#"{"model_id":"cam","model_id":"other"}"#,
            r#"{"model_id":"c\u0061m"}"#,
            r#"{"a":1} trailing"#,
            r#"{"a":"#,
            r#"[1,2]"#,
            r#"42"#,
            r#"not json"#,
        ];
        let read = |input: Input| match input {
            Input::Line(line) => serde_json::from_str::<Value>(&line).ok(),
            other => panic!("a line, not {other:?}"),
        };
        for text in texts {
            for plugin in [None, Some("cam")] {
                let quick = object_event(plugin, 0, text).map(|input| input.map(read));
                let whole = value_event(plugin, 0, text).map(|input| input.map(read));
                match (quick, whole) {
                    (Ok(quick), Ok(whole)) => assert_eq!(quick, whole, "{text} {plugin:?}"),
                    (Err(quick), Err(whole)) => {
                        assert_eq!(quick.status, whole.status, "{text}")
                    }
                    (quick, whole) => panic!(
                        "{text} {plugin:?}: {:?} against {:?}",
                        quick.is_ok(),
                        whole.is_ok()
                    ),
                }
            }
        }
        // An event without a `model_id` keeps its own text after the plugin's id.
        let Ok(Some(Input::Line(line))) = object_event(Some("cam"), 0, r#"{ "b":2,"a":1}"#) else {
            panic!("an event")
        };
        assert_eq!(line, r#"{"model_id":"cam","b":2,"a":1}"#);
    }
}
