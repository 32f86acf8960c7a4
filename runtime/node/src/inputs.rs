//! What the core reads off an input before and while it runs it: the identity a
//! redelivery repeats, whether its zone is this node's, and how the engine takes it.

use crate::dedup::Seen;
use crate::store::Input;
use cbp_runtime::proto::{Event, Frame};
use cbp_runtime::{Engine, LineOutcome, Record};
use prost::Message;

/// Runs one input through the engine; input `seq` is "line" `seq + 1` of dead letters.
pub fn apply(
    engine: &mut Engine,
    seq: u64,
    input: &Input,
    out: &mut dyn FnMut(&Record),
) -> LineOutcome {
    let line = seq + 1;
    match input {
        Input::Line(text) => engine.push_line(line, text, out),
        Input::Proto(bytes) => {
            let frame = match Event::decode(bytes.as_slice()) {
                Ok(event) => Frame::Event(Box::new(event)),
                Err(e) => Frame::Bad {
                    error: format!("invalid protobuf `cbp.v1.Event`: {e}"),
                    input: hex(bytes),
                },
            };
            cbp_runtime::proto::push_frame(engine, line, &frame, out)
        }
        Input::Tick(time) => {
            engine.advance_to(*time, out);
            LineOutcome::Processed
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::from("hex:");
    for b in bytes.iter().take(200) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The identity a redelivery repeats: `model_id` and `event_id`, or for a line that names
/// no message, its bytes. A clock tick has none.
pub fn identity(input: &Input) -> Option<u128> {
    #[derive(serde::Deserialize)]
    struct Ids<'a> {
        #[serde(borrow)]
        event_id: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        model_id: Option<std::borrow::Cow<'a, str>>,
    }
    match input {
        Input::Line(text) => {
            if let Some((model, event)) = quick_ids(text) {
                return Some(Seen::key(model, event));
            }
            let ids = serde_json::from_str::<Ids>(text).ok();
            match ids
                .as_ref()
                .and_then(|i| Some((i.model_id.as_ref()?, i.event_id.as_ref()?)))
            {
                Some((model, event)) => Some(Seen::key(model, event)),
                None => Some(Seen::key_of_bytes(text.as_bytes())),
            }
        }
        Input::Proto(bytes) => {
            let ids = Event::decode(bytes.as_slice()).ok().and_then(|e| {
                Some((
                    e.model_id.unwrap_or_default(),
                    e.event_id.filter(|id| !id.is_empty())?,
                ))
            });
            match ids {
                Some((model, event)) => Some(Seen::key(&model, &event)),
                None => Some(Seen::key_of_bytes(bytes)),
            }
        }
        Input::Tick(_) => None,
    }
}

/// `model_id` and `event_id` read off the top level of a JSON object in one pass that stops
/// as soon as both are found, without building the rest (most of the cost of a full parse);
/// `None` — a value that is not a plain string, an escape, anything unusual — sends the caller
/// to serde. What it returns is what serde would read for those two keys.
pub fn quick_ids(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if *bytes.get(at)? != b'{' {
        return None;
    }
    at += 1;
    let (mut model, mut event) = (None, None);
    loop {
        at = skip_space(bytes, at);
        if *bytes.get(at)? != b'"' {
            return None;
        }
        let (key, next) = plain_string(text, at)?;
        at = skip_space(bytes, next);
        if *bytes.get(at)? != b':' {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let slot = match key {
            "model_id" => Some(&mut model),
            "event_id" => Some(&mut event),
            _ => None,
        };
        match slot {
            Some(slot) => {
                if slot.is_some() || *bytes.get(at)? != b'"' {
                    return None;
                }
                let (value, next) = plain_string(text, at)?;
                *slot = Some(value);
                at = next;
            }
            None => at = skip_value(bytes, at)?,
        }
        if let (Some(model), Some(event)) = (model, event) {
            return Some((model, event));
        }
        at = skip_space(bytes, at);
        match *bytes.get(at)? {
            b',' => at += 1,
            _ => return None,
        }
    }
}

/// Why an event is refused for its time: more than `ahead_ms` past the node's wall clock.
/// Decided on arrival and not journaled (the event changes no state), so a replay, whatever
/// its wall clock, sees the same inputs.
pub fn too_far_ahead(input: &Input, ahead_ms: i64) -> Option<String> {
    let Input::Line(text) = input else {
        return None;
    };
    let time = quick_time(text)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())?;
    (time > now.saturating_add(ahead_ms)).then(|| {
        format!(
            "event time {} is more than {} ahead of the node's clock ({})",
            cbp_runtime::time::format_rfc3339(time),
            cbp_runtime::time::format_duration_readable(ahead_ms),
            cbp_runtime::time::format_rfc3339(now)
        )
    })
}

/// The event time of a line (`timestamp`, or `timestamp_ms`), read off the top level as
/// [`quick_ids`] reads ids; `None` when it is absent or unusual (the engine then decides).
pub fn quick_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if *bytes.get(at)? != b'{' {
        return None;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        if *bytes.get(at)? != b'"' {
            return None;
        }
        let (key, next) = plain_string(text, at)?;
        at = skip_space(bytes, next);
        if *bytes.get(at)? != b':' {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let end = skip_value(bytes, at)?;
        let value = text.get(at..end)?.trim();
        match key {
            "timestamp" => {
                let (time, _) = plain_string(text, at)?;
                return cbp_runtime::time::parse_rfc3339(time);
            }
            "timestamp_ms" => return value.parse().ok(),
            _ => {}
        }
        at = skip_space(bytes, end);
        match *bytes.get(at)? {
            b',' => at += 1,
            _ => return None,
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// The string starting at the quote at `at`, when it has no escapes and no control
/// characters, and the index after its closing quote.
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let start = at + 1;
    let mut end = start;
    loop {
        match *bytes.get(end)? {
            b'"' => return Some((text.get(start..end)?, end + 1)),
            b'\\' => return None,
            b if b < 0x20 => return None,
            _ => end += 1,
        }
    }
}

/// The index after the JSON value starting at `at` (strings with escapes, nested objects and
/// arrays included); `None` when the text ends first.
fn skip_value(bytes: &[u8], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *bytes.get(at)? {
            b'"' => {
                at += 1;
                loop {
                    match *bytes.get(at)? {
                        b'\\' => at += 2,
                        b'"' => break,
                        _ => at += 1,
                    }
                }
                at += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    return Some(at);
                }
                depth -= 1;
                at += 1;
            }
            b',' if depth == 0 => return Some(at),
            _ => at += 1,
        }
        if depth == 0
            && matches!(
                bytes.get(at),
                Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            )
        {
            return Some(at);
        }
    }
}

/// Why an event is not this node's: its `zone` is outside the node's zone.
pub fn outside(input: &Input, scope: &str) -> Option<String> {
    if scope.is_empty() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Zone<'a> {
        #[serde(borrow)]
        zone: Option<std::borrow::Cow<'a, str>>,
    }
    let zone = match input {
        Input::Line(text) => serde_json::from_str::<Zone>(text).ok()?.zone?.into_owned(),
        Input::Proto(bytes) => Event::decode(bytes.as_slice()).ok()?.zone?,
        Input::Tick(_) => return None,
    };
    let inside = zone == scope
        || zone
            .strip_prefix(scope)
            .is_some_and(|rest| rest.starts_with('.'));
    (!inside && !zone.is_empty())
        .then(|| format!("zone `{zone}` is outside this node's zone `{scope}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde reads for the two keys (the reference).
    fn serde_ids(text: &str) -> Option<(String, String)> {
        #[derive(serde::Deserialize)]
        struct Ids {
            event_id: Option<String>,
            model_id: Option<String>,
        }
        let ids: Ids = serde_json::from_str(text).ok()?;
        Some((ids.model_id?, ids.event_id?))
    }

    #[test]
    fn reads_the_ids_of_plain_events() {
        let line = r#"{"event_id":"e-1","model_id":"cam","payload":{"a":[1,{"b":"}"}]}}"#;
        assert_eq!(quick_ids(line), Some(("cam", "e-1")));
        let later = r#" { "type" : "x", "payload": {"model_id": "inner"}, "metadata": {"k":"v\"}"}, "model_id" : "cam" , "event_id":"e-2"}"#;
        assert_eq!(quick_ids(later), Some(("cam", "e-2")));
        assert_eq!(
            quick_ids(r#"{"event_id":"e\u0031","model_id":"m"}"#),
            None,
            "escapes go to serde"
        );
        assert_eq!(quick_ids(r#"{"event_id":17,"model_id":"m"}"#), None);
        assert_eq!(quick_ids(r#"{"event_id":"a"}"#), None);
        assert_eq!(quick_ids("not json"), None);
    }

    #[test]
    fn reads_the_event_time() {
        assert_eq!(
            quick_time(r#"{"event_id":"a","timestamp":"1970-01-01T00:00:01Z"}"#),
            Some(1000)
        );
        assert_eq!(
            quick_time(r#"{"payload":{"timestamp_ms":5},"timestamp_ms": 7 }"#),
            Some(7)
        );
        assert_eq!(quick_time(r#"{"event_id":"a"}"#), None);
        let future = Input::Line(r#"{"timestamp":"9999-01-01T00:00:00Z"}"#.into());
        let reason = too_far_ahead(&future, 86_400_000).unwrap();
        assert!(reason.contains("9999-01-01"), "{reason}");
        let past = Input::Line(r#"{"timestamp":"2025-12-03T14:00:05Z"}"#.into());
        assert_eq!(too_far_ahead(&past, 0), None);
    }

    proptest! {
        /// Whenever the quick reader answers, serde reads the same for lines whose JSON is
        /// valid; mutated lines never make it panic.
        #[test]
        fn agrees_with_serde(cut in 0usize..400, at in 0usize..400, byte in any::<u8>()) {
            let line = r#"{"event_id":"e-000017","model_id":"traffic","type":"violation_event","timestamp":"2025-12-03T14:00:05Z","location":{"latitude":12.97,"longitude":77.59},"zone":"a.b.c.d","payload":{"x":[1,2,{"y":"z"}],"s":"q\"}"}}"#;
            let mut bytes = line.as_bytes().to_vec();
            let len = bytes.len();
            if cut % 2 == 0 {
                bytes[at % len] = byte;
            } else {
                bytes.truncate(cut % (len + 1));
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Some((model, event)) = quick_ids(&text)
                && serde_json::from_str::<serde_json::Value>(&text).is_ok()
            {
                prop_assert_eq!(
                    serde_ids(&text),
                    Some((model.to_string(), event.to_string()))
                );
            }
        }
    }
}
