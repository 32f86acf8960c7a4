//! What the core reads off an input before and while it runs it: the identity a
//! redelivery repeats, its zone and its event time (read once, in [`Head`]), and how the
//! engine takes it.

use crate::dedup::Seen;
use crate::store::Input;
use cbp_runtime::decode::skip_value;
use cbp_runtime::intern::same;
use cbp_runtime::proto::Event;
use cbp_runtime::{Engine, LineOutcome, Record};
use prost::Message;
use std::borrow::Cow;

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
        Input::Proto(bytes) => cbp_runtime::proto::push_message(engine, line, bytes, out),
        Input::Tick(time) => {
            engine.advance_to(*time, out);
            LineOutcome::Processed
        }
        Input::Sourced(_, input) => apply(engine, seq, input, out),
        Input::Delivered { node, line: text } => engine.push_at(line, node, text, out),
    }
}

/// What the core checks before an input reaches the engine, read in one pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head<'a> {
    /// `model_id` and `event_id` (for a line that names no message, its bytes): what a
    /// redelivery repeats. `None` for a clock tick.
    pub identity: Option<u128>,
    /// Borrowed from a line (no copy per event); owned when decoded from protobuf.
    pub zone: Option<Cow<'a, str>>,
    /// Event time (Unix ms), when it reads plainly; otherwise the engine decides.
    pub time: Option<i64>,
}

impl<'a> Head<'a> {
    pub fn of(input: &'a Input) -> Head<'a> {
        match input {
            Input::Line(text) => Head::of_line(text),
            Input::Proto(bytes) => match Event::decode(bytes.as_slice()) {
                Ok(event) => Head {
                    identity: Some(
                        match event.event_id.as_deref().filter(|id| !id.is_empty()) {
                            Some(id) => {
                                Seen::key(event.model_id.as_deref().unwrap_or_default(), id)
                            }
                            None => Seen::key_of_bytes(bytes),
                        },
                    ),
                    zone: event.zone.map(Cow::Owned),
                    time: event.timestamp_ms.or_else(|| {
                        event
                            .timestamp
                            .as_deref()
                            .and_then(cbp_runtime::time::parse_rfc3339)
                    }),
                },
                Err(_) => Head {
                    identity: Some(Seen::key_of_bytes(bytes)),
                    ..Head::default()
                },
            },
            Input::Tick(_) => Head::default(),
            Input::Sourced(_, input) => Head::of(input),
            // Its node was checked against this node's zone and layers when it arrived
            // (`peers::delivery`); its message's zone may be another's (a command carries
            // its trigger's).
            Input::Delivered { line, .. } => Head {
                zone: None,
                ..Head::of_line(line)
            },
        }
    }

    fn of_line(text: &'a str) -> Head<'a> {
        const KEYS: [&str; 5] = ["model_id", "event_id", "zone", "timestamp", "timestamp_ms"];
        let Some([model, event, zone, timestamp, timestamp_ms]) = top_level(text, KEYS) else {
            return Head::of_line_by_serde(text);
        };
        let (model, event) = (model.map(string_value), event.map(string_value));
        if matches!(model, Some(None)) || matches!(event, Some(None)) {
            // An id that is not a plain string (an escape, a number): serde decides.
            return Head::of_line_by_serde(text);
        }
        let identity = match (model.flatten(), event.flatten()) {
            (Some(model), Some(event)) => Seen::key(model, event),
            _ => Seen::key_of_bytes(text.as_bytes()),
        };
        let time = match (timestamp.and_then(string_value), timestamp_ms) {
            (Some(time), _) => cbp_runtime::time::parse_rfc3339(time),
            (None, Some(ms)) => ms.parse().ok(),
            (None, None) => None,
        };
        Head {
            identity: Some(identity),
            zone: zone.and_then(string_value).map(Cow::Borrowed),
            time,
        }
    }

    /// The slow path, for what the one-pass reader leaves: serde's reading of the same keys.
    fn of_line_by_serde(text: &str) -> Head<'a> {
        #[derive(serde::Deserialize)]
        struct Keys<'a> {
            #[serde(borrow)]
            event_id: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            model_id: Option<std::borrow::Cow<'a, str>>,
            #[serde(borrow)]
            zone: Option<std::borrow::Cow<'a, str>>,
        }
        let keys = serde_json::from_str::<Keys>(text).ok();
        let ids = keys
            .as_ref()
            .and_then(|k| Some((k.model_id.as_ref()?, k.event_id.as_ref()?)));
        Head {
            identity: Some(match ids {
                Some((model, event)) => Seen::key(model, event),
                None => Seen::key_of_bytes(text.as_bytes()),
            }),
            zone: keys
                .and_then(|k| k.zone)
                .map(|z| Cow::Owned(z.into_owned())),
            time: None,
        }
    }

    /// Why the event is not this node's: its `zone` is outside the node's zone `scope`.
    pub fn outside(&self, scope: &str) -> Option<String> {
        let zone = self.zone.as_deref().filter(|z| !z.is_empty())?;
        if scope.is_empty()
            || zone == scope
            || zone
                .strip_prefix(scope)
                .is_some_and(|rest| rest.starts_with('.'))
        {
            return None;
        }
        Some(format!(
            "zone `{zone}` is outside this node's zone `{scope}`"
        ))
    }

    /// Why the event is refused for its time: more than `ahead_ms` past the node's wall
    /// clock `now` (Unix ms, read once per group). Decided on arrival and not journaled (the
    /// event changes no state), so a replay, whatever its wall clock, sees the same inputs.
    pub fn too_far_ahead(&self, ahead_ms: i64, now: i64) -> Option<String> {
        let time = self.time?;
        (time > now.saturating_add(ahead_ms)).then(|| {
            format!(
                "event time {} is more than {} ahead of the node's clock ({})",
                cbp_runtime::time::format_rfc3339(time),
                cbp_runtime::time::format_duration_readable(ahead_ms),
                cbp_runtime::time::format_rfc3339(now)
            )
        })
    }
}

/// What [`Head::of`] reads off an input, kept apart from the input: read where the input
/// arrives (a request's or a consumer's thread), so the core, the one thread that runs the
/// engine, does not read every line twice. [`Scan::head`] gives the [`Head`] back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    identity: Option<u128>,
    zone: ScanZone,
    time: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum ScanZone {
    #[default]
    None,
    /// Where the zone is in the input's line (no copy).
    InLine(u32, u32),
    /// Decoded from protobuf.
    Owned(Box<str>),
}

impl Scan {
    pub fn of(input: &Input) -> Scan {
        let head = Head::of(input);
        let zone = match head.zone {
            None => ScanZone::None,
            Some(Cow::Borrowed(zone)) => {
                match line_of(input).and_then(|line| span_in(line, zone)) {
                    Some((start, end)) => ScanZone::InLine(start, end),
                    None => ScanZone::Owned(zone.into()),
                }
            }
            Some(Cow::Owned(zone)) => ScanZone::Owned(zone.into_boxed_str()),
        };
        Scan {
            identity: head.identity,
            zone,
            time: head.time,
        }
    }

    /// The input's identity (`None` for a clock tick).
    pub fn identity(&self) -> Option<u128> {
        self.identity
    }

    /// The head of `input`, the input this scan was made of.
    pub fn head<'a>(&'a self, input: &'a Input) -> Head<'a> {
        let zone = match &self.zone {
            ScanZone::None => None,
            ScanZone::InLine(start, end) => line_of(input)
                .and_then(|line| line.get(*start as usize..*end as usize))
                .map(Cow::Borrowed),
            ScanZone::Owned(zone) => Some(Cow::Borrowed(&**zone)),
        };
        Head {
            identity: self.identity,
            zone,
            time: self.time,
        }
    }
}

/// The text line of an input, when it is one.
fn line_of(input: &Input) -> Option<&str> {
    match input.unsourced() {
        Input::Line(text) | Input::Delivered { line: text, .. } => Some(text),
        _ => None,
    }
}

/// Where `part`, a slice of `line`, is in it.
fn span_in(line: &str, part: &str) -> Option<(u32, u32)> {
    let start = (part.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    if end > line.len() {
        return None;
    }
    Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
}

/// Inputs on their way to the core, each with its [`Scan`], made as it is added.
#[derive(Debug, Default)]
pub struct Arrivals {
    pub(crate) inputs: Vec<Input>,
    pub(crate) scans: Vec<Scan>,
}

impl Arrivals {
    pub fn with_capacity(n: usize) -> Arrivals {
        Arrivals {
            inputs: Vec::with_capacity(n),
            scans: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, input: Input) {
        self.scans.push(Scan::of(&input));
        self.inputs.push(input);
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Moves `other`'s inputs to the end of these.
    pub fn append(&mut self, other: &mut Arrivals) {
        if self.inputs.is_empty() {
            // The usual group of one request: no copy.
            std::mem::swap(self, other);
            return;
        }
        self.inputs.append(&mut other.inputs);
        self.scans.append(&mut other.scans);
    }
}

impl From<Vec<Input>> for Arrivals {
    fn from(inputs: Vec<Input>) -> Arrivals {
        let scans = inputs.iter().map(Scan::of).collect();
        Arrivals { inputs, scans }
    }
}

/// The wall clock in Unix ms.
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// The raw JSON values of `keys` at the top level of the object `text`, read in one pass that
/// stops once all are found, without building the rest (most of the cost of a full parse).
/// `None` when the text is not a plain object at that level, or repeats a key.
fn top_level<'t, const N: usize>(text: &'t str, keys: [&str; N]) -> Option<[Option<&'t str>; N]> {
    let bytes = text.as_bytes();
    let mut found = [None; N];
    let mut missing = N;
    let mut at = skip_space(bytes, 0);
    if *bytes.get(at)? != b'{' {
        return None;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        match *bytes.get(at)? {
            b'}' => return Some(found),
            b'"' => {}
            _ => return None,
        }
        let (key, next) = plain_string(bytes, at)?;
        at = skip_space(bytes, next);
        if *bytes.get(at)? != b':' {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let end = skip_value(bytes, at)?;
        if let Some(i) = keys.iter().position(|k| same(k.as_bytes(), key)) {
            if found[i].is_some() {
                return None;
            }
            found[i] = Some(text.get(at..end)?);
            missing -= 1;
            if missing == 0 {
                return Some(found);
            }
        }
        at = skip_space(bytes, end);
        match *bytes.get(at)? {
            b',' => at += 1,
            b'}' => return Some(found),
            _ => return None,
        }
    }
}

/// A raw JSON value that is a string without escapes: its text.
fn string_value(raw: &str) -> Option<&str> {
    if !raw.starts_with('"') {
        return None;
    }
    let (text, end) = plain_string(raw.as_bytes(), 0)?;
    if end != raw.len() {
        return None;
    }
    raw.get(1..1 + text.len())
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The bytes of the string starting at the quote at `at`, when it has no escapes and no
/// control characters, and the index after its closing quote.
fn plain_string(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let start = at + 1;
    let rest = bytes.get(start..)?;
    let len = cbp_runtime::decode::plain_string_len(rest)?;
    (rest[len] == b'"').then(|| (&rest[..len], start + len + 1))
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

    fn head(text: &str) -> Head<'static> {
        let input = Input::Line(text.into());
        let head = Head::of(&input);
        Head {
            zone: head.zone.map(|zone| Cow::Owned(zone.into_owned())),
            ..head
        }
    }

    #[test]
    fn reads_ids_zone_and_time_in_one_pass() {
        let line = r#"{"event_id":"e-1","model_id":"cam","zone":"a.b","timestamp_ms": 7 ,"payload":{"a":[1,{"b":"}"}]}}"#;
        assert_eq!(
            head(line),
            Head {
                identity: Some(Seen::key("cam", "e-1")),
                zone: Some("a.b".into()),
                time: Some(7),
            }
        );
        let nested = r#" { "type" : "x", "payload": {"model_id": "inner", "timestamp_ms": 5}, "metadata": {"k":"v\"}"}, "model_id" : "cam" , "event_id":"e-2", "timestamp":"1970-01-01T00:00:01Z"}"#;
        let got = head(nested);
        assert_eq!(got.identity, Some(Seen::key("cam", "e-2")));
        assert_eq!(got.time, Some(1000));
        // What the one pass leaves goes to serde, which reads the same.
        assert_eq!(
            head(r#"{"event_id":"e\u0031","model_id":"m"}"#).identity,
            Some(Seen::key("m", "e1"))
        );
        assert_eq!(
            head("not json").identity,
            Some(Seen::key_of_bytes(b"not json"))
        );
        assert_eq!(
            head(r#"{"event_id":"a"}"#).identity,
            Some(Seen::key_of_bytes(br#"{"event_id":"a"}"#))
        );
    }

    #[test]
    fn a_scan_gives_the_head_back() {
        let line = r#"{"event_id":"e-1","model_id":"cam","zone":"a.b","timestamp_ms":7}"#;
        let event = Event {
            event_id: Some("e-9".into()),
            model_id: Some("m".into()),
            zone: Some("z.y".into()),
            timestamp_ms: Some(5),
            ..Event::default()
        };
        for input in [
            Input::Line(line.into()),
            Input::Line(r#"{"zone":"xA","event_id":"e"}"#.into()),
            Input::Line("not json".into()),
            Input::Sourced("kafka:t/0".into(), Box::new(Input::Line(line.into()))),
            Input::Proto(event.encode_to_vec()),
            Input::Tick(3),
            Input::Delivered {
                node: "a".into(),
                line: line.into(),
            },
        ] {
            let scan = Scan::of(&input);
            assert_eq!(scan.head(&input), Head::of(&input), "{input:?}");
            assert_eq!(scan.identity(), Head::of(&input).identity);
        }
        let mut arrivals = Arrivals::from(vec![Input::Tick(1)]);
        arrivals.append(&mut Arrivals::from(vec![Input::Line(line.into())]));
        assert_eq!(arrivals.len(), 2);
        assert_eq!(
            arrivals.scans[1].head(&arrivals.inputs[1]).zone,
            Some("a.b".into())
        );
    }

    #[test]
    fn refuses_foreign_zones_and_far_futures() {
        let here = head(r#"{"zone":"ka.b.east.x","timestamp":"2025-12-03T14:00:05Z"}"#);
        assert_eq!(here.outside("ka.b.east"), None);
        assert_eq!(here.outside(""), None);
        assert!(here.outside("ka.b.ea").unwrap().contains("outside"));
        let now = wall_clock_ms();
        assert_eq!(here.too_far_ahead(0, now), None);
        let future = head(r#"{"timestamp":"9999-01-01T00:00:00Z"}"#);
        let reason = future.too_far_ahead(86_400_000, now).unwrap();
        assert!(reason.contains("9999-01-01"), "{reason}");
    }

    proptest! {
        /// For lines whose JSON is valid the one-pass reader finds the identity serde finds;
        /// mutated lines never make it panic.
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
            let identity = head(&text).identity;
            if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                let by_serde = match serde_ids(&text) {
                    Some((model, event)) => Seen::key(&model, &event),
                    None => Seen::key_of_bytes(text.as_bytes()),
                };
                prop_assert_eq!(identity, Some(by_serde));
            }
        }
    }
}
