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
