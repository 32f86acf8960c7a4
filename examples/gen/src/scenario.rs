//! The scripted episodes of the day, on top of the background streams.

use crate::city::{HOSPITALS, by_name};
use crate::rng::Rng;
use crate::streams::{Event, Ids, Location, Speeding, near, round, time};
use crate::{DAY_START_MS, Line};
use serde_json::json;
use std::collections::BTreeMap;

/// Local time of day (Bengaluru) → Unix ms.
fn at(hour: i64, minute: i64) -> i64 {
    DAY_START_MS + (hour * 60 + minute) * 60_000
}

pub fn all(rng: &mut Rng, end_ms: i64, speeding: &[Speeding], out: &mut Vec<Line>) {
    let mut ids = Ids::default();
    // The evening flood in the east district: Indiranagar first, Domlur a few minutes
    // later; each neighbourhood's rule escalates to the district, which declares a major
    // flood and sends it to the city; the city's protocol comes back down.
    flood(
        rng,
        "indiranagar",
        at(16, 40),
        &[14, 19, 26, 33, 41, 48, 44, 37, 29, 22],
        &mut ids,
        out,
    );
    flood(
        rng,
        "domlur",
        at(16, 52),
        &[12, 20, 27, 35, 43, 39, 31, 24],
        &mut ids,
        out,
    );
    // Rising water in Jayanagar with no traffic sensor near the gauge: no decision.
    flood_gauge_only(
        rng,
        "jayanagar",
        at(17, 5),
        &[22, 31, 34, 28],
        &mut ids,
        out,
    );
    emergency(
        rng,
        "indiranagar",
        HOSPITALS[0],
        at(8, 47),
        "cardiac_arrest",
        "critical",
        &mut ids,
        out,
    );
    emergency(
        rng,
        "koramangala",
        HOSPITALS[1],
        at(13, 15),
        "road_accident",
        "high",
        &mut ids,
        out,
    );
    emergency(
        rng,
        "shivajinagar",
        HOSPITALS[2],
        at(21, 40),
        "burns",
        "high",
        &mut ids,
        out,
    );
    approvals(rng, end_ms, speeding, &mut ids, out);
    malformed(rng, &mut ids, out);
}

/// A river gauge reporting `levels` every 8 minutes from `start`, with heavy, slow traffic
/// on the roads next to it for the whole episode.
fn flood(
    rng: &mut Rng,
    name: &str,
    start: i64,
    levels: &[i64],
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    let n = by_name(name);
    let end = start + levels.len() as i64 * 480_000;
    let mut t = start - 600_000;
    while t < end {
        let congestion = round(rng.range(0.72, 0.97), 3);
        let event = Event {
            event_id: ids.next("trx"),
            model_id: "traffic_monitoring",
            kind: "traffic_status",
            timestamp: time(t),
            location: near(rng, n.lat, n.lon, 250.0),
            zone: n.zone(),
            severity: "high",
            confidence: round(rng.range(0.85, 0.98), 2),
            metadata: BTreeMap::new(),
            payload: json!({"road_id": rng.pick(n.roads), "congestion": congestion, "avg_speed_kmh": rng.int(3, 14)}),
        };
        out.push(event.line(t));
        t += rng.int(50_000, 110_000);
    }
    gauge(rng, name, start, levels, ids, out);
}

fn flood_gauge_only(
    rng: &mut Rng,
    name: &str,
    start: i64,
    levels: &[i64],
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    gauge(rng, name, start, levels, ids, out);
}

fn gauge(
    rng: &mut Rng,
    name: &str,
    start: i64,
    levels: &[i64],
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    let n = by_name(name);
    // Jayanagar's gauge stands in a park, 1.5 km from the roads its traffic sensors watch.
    let offset = if name == "jayanagar" { 0.014 } else { 0.0 };
    for (i, level) in levels.iter().enumerate() {
        let t = start + i as i64 * 480_000 + rng.int(0, 20_000);
        let event = Event {
            event_id: ids.next("flx"),
            model_id: "flood_prediction_model",
            kind: "flood_warning",
            timestamp: time(t),
            location: Location {
                latitude: round(n.lat + offset, 6),
                longitude: n.lon,
            },
            zone: n.zone(),
            severity: match level {
                l if *l > 45 => "critical",
                l if *l > 30 => "high",
                l if *l > 20 => "medium",
                _ => "low",
            },
            confidence: round(rng.range(0.82, 0.95), 2),
            metadata: BTreeMap::from([("gauge", format!("gauge-{name}-1"))]),
            payload: json!({"water_level_cm": level, "road_ids": n.roads[..2]}),
        };
        out.push(event.line(t));
    }
}

#[allow(clippy::too_many_arguments)] // one call per scripted call, each spelled out
fn emergency(
    rng: &mut Rng,
    name: &str,
    hospital: (&str, f64, f64),
    t: i64,
    incident: &str,
    condition: &'static str,
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    let n = by_name(name);
    let event = Event {
        event_id: ids.next("em"),
        model_id: "emergency-dispatch",
        kind: "emergency_call",
        timestamp: time(t),
        location: near(rng, n.lat, n.lon, 300.0),
        zone: n.zone(),
        severity: "critical",
        confidence: 0.99,
        metadata: BTreeMap::from([("hospital", hospital.0.to_owned())]),
        payload: json!({
            "incident": incident,
            "destination": {"latitude": hospital.1, "longitude": hospital.2},
            "patient_condition": condition,
        }),
    };
    out.push(event.line(t));
}

/// Officers answer about a third of the speeding reviews within 3–25 minutes (mostly
/// approving; some reject, a few escalate); the rest are approved by timeout after 30
/// minutes. Two answers are refused: one for a review already approved by timeout, one
/// naming no decision at all.
fn approvals(
    rng: &mut Rng,
    end_ms: i64,
    speeding: &[Speeding],
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    let mut late_answer_done = false;
    for (i, s) in speeding.iter().enumerate() {
        let (t, action) = if rng.chance(0.35) {
            let action = match rng.unit() {
                x if x < 0.78 => "approve",
                x if x < 0.95 => "reject",
                _ => "escalate",
            };
            (s.time_ms + rng.int(180_000, 1_500_000), action)
        } else if !late_answer_done && i > 10 && s.time_ms + 2_700_000 < end_ms {
            late_answer_done = true;
            (s.time_ms + 2_700_000, "approve")
        } else {
            continue;
        };
        out.push(answer(
            rng,
            ids,
            t,
            &s.zone,
            s.neighbourhood,
            &format!("speeding_detected/{}", s.event_id),
            action,
        ));
    }
    if let Some(s) = speeding.get(3) {
        out.push(answer(
            rng,
            ids,
            s.time_ms + 60_000,
            &s.zone,
            s.neighbourhood,
            "speeding_detected/v-999999",
            "approve",
        ));
    }
}

fn answer(
    rng: &mut Rng,
    ids: &mut Ids,
    t: i64,
    zone: &str,
    name: &str,
    decision: &str,
    action: &str,
) -> Line {
    let n = by_name(name);
    let event = Event {
        event_id: ids.next("ar"),
        model_id: "authority-dashboard",
        kind: "approval_response",
        timestamp: time(t),
        location: Location {
            latitude: n.lat,
            longitude: n.lon,
        },
        zone: zone.to_owned(),
        severity: "low",
        confidence: 1.0,
        metadata: BTreeMap::new(),
        payload: json!({
            "decision_id": decision,
            "action": action,
            "authority_id": format!("officer-{}-{}", n.name, rng.int(1, 12)),
            "level": "L1",
            "notes": match action {
                "approve" => "violation confirmed from the evidence",
                "reject" => "plate unreadable in the evidence",
                _ => "repeat offender: district review",
            },
        }),
    };
    event.line(t)
}

/// Lines a node must refuse, one of each kind, spread over the day.
fn malformed(rng: &mut Rng, ids: &mut Ids, out: &mut Vec<Line>) {
    let n = by_name("mg_road");
    let mut valid = |ids: &mut Ids, t: i64| Event {
        event_id: ids.next("bad"),
        model_id: "traffic_monitoring",
        kind: "traffic_status",
        timestamp: time(t),
        location: near(rng, n.lat, n.lon, 300.0),
        zone: n.zone(),
        severity: "low",
        confidence: 0.9,
        metadata: BTreeMap::new(),
        payload: json!({"road_id": "r-mg-road", "congestion": 0.4, "avg_speed_kmh": 31}),
    };
    let mut push = |t: i64, text: String| {
        out.push(Line {
            arrival_ms: t,
            text,
        })
    };

    // Cut off in the middle (a sensor gateway restarted while writing).
    let t = at(2, 13);
    let text = serde_json::to_string(&valid(ids, t)).unwrap_or_default();
    push(t, text[..text.len() / 2].to_owned());
    // A type no policy declares.
    let t = at(5, 2);
    let mut e = valid(ids, t);
    e.kind = "parking_event";
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // A zone that stops at the district.
    let t = at(9, 31);
    let mut e = valid(ids, t);
    e.zone = "ka.bengaluru.central".to_owned();
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // Congestion outside its declared range 0.0..1.0.
    let t = at(11, 8);
    let mut e = valid(ids, t);
    e.payload["congestion"] = json!(1.7);
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // A water level sent as text.
    let t = at(14, 44);
    let mut e = valid(ids, t);
    e.model_id = "flood_prediction_model";
    e.kind = "flood_warning";
    e.payload = json!({"water_level_cm": "high"});
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // A severity the envelope does not know.
    let t = at(19, 3);
    let mut e = valid(ids, t);
    e.severity = "urgent";
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // Ten minutes late (the run allows no lateness by default).
    let t = at(22, 20);
    let e = valid(ids, t - 600_000);
    push(t, serde_json::to_string(&e).unwrap_or_default());
    // An empty line.
    push(at(23, 11), String::new());
}
