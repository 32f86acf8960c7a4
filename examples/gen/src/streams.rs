//! The everyday background: every neighbourhood's sensors, at rates that follow the day.

use crate::city::{NEIGHBOURHOODS, Neighbourhood};
use crate::rng::Rng;
use crate::{DAY_START_MS, Line};
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// An event in the contract's NDJSON form; fields serialize in this order.
#[derive(Serialize)]
pub struct Event {
    pub event_id: String,
    pub model_id: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: String,
    pub location: Location,
    pub zone: String,
    pub severity: &'static str,
    pub confidence: f64,
    pub metadata: BTreeMap<&'static str, String>,
    pub payload: Json,
}

#[derive(Serialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

impl Event {
    pub fn line(&self, arrival_ms: i64) -> Line {
        Line {
            arrival_ms,
            text: serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

/// Counters giving each kind of event its own id series (`tr-000001`, `v-000001`, …).
#[derive(Default)]
pub struct Ids(BTreeMap<&'static str, u64>);

impl Ids {
    pub fn next(&mut self, prefix: &'static str) -> String {
        let n = self.0.entry(prefix).or_insert(0);
        *n += 1;
        format!("{prefix}-{n:06}")
    }
}

/// A point within about `metres` of `(lat, lon)`, rounded like a GPS fix.
pub fn near(rng: &mut Rng, lat: f64, lon: f64, metres: f64) -> Location {
    let d = metres / 111_000.0;
    Location {
        latitude: round(lat + rng.range(-d, d), 6),
        longitude: round(lon + rng.range(-d, d), 6),
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub fn time(ms: i64) -> String {
    cbp_runtime::time::format_rfc3339(ms)
}

/// How busy the city is at `ms`: quiet at night, bursts in the rush hours (local time).
pub fn rush(ms: i64) -> f64 {
    let hour = ((ms - DAY_START_MS).rem_euclid(86_400_000)) as f64 / 3_600_000.0;
    match hour {
        h if h < 5.5 => 0.25,
        h if h < 7.5 => 0.8,
        h if h < 10.5 => 2.6,
        h if h < 16.5 => 1.0,
        h if h < 20.5 => 2.9,
        _ => 0.6,
    }
}

fn severity_of(rng: &mut Rng, weights: [f64; 4]) -> &'static str {
    let total: f64 = weights.iter().sum();
    let mut x = rng.range(0.0, total);
    for (w, name) in weights.iter().zip(["low", "medium", "high", "critical"]) {
        if x < *w {
            return name;
        }
        x -= w;
    }
    "low"
}

/// A speeding violation the reference policy sends to an officer (severity at least
/// medium, confidence above 0.85): the approvals of [`crate::scenario`] answer some.
pub struct Speeding {
    pub event_id: String,
    pub time_ms: i64,
    pub zone: String,
    pub neighbourhood: &'static str,
}

/// Generates the background streams; returns the speeding violations that need review.
pub fn background(rng: &mut Rng, end_ms: i64, scale: f64, out: &mut Vec<Line>) -> Vec<Speeding> {
    let mut ids = Ids::default();
    let mut speeding = Vec::new();
    for n in NEIGHBOURHOODS {
        traffic(rng, n, end_ms, scale, &mut ids, out);
        speeding.extend(violations(rng, n, end_ms, scale, &mut ids, out));
        periodic(rng, n, end_ms, scale, &mut ids, out);
    }
    resources(rng, end_ms, &mut ids, out);
    speeding
}

/// Poisson arrivals at `per_minute` × the rush factor, from the start of the day.
fn arrivals(rng: &mut Rng, end_ms: i64, per_minute: f64, follow_rush: bool) -> Vec<i64> {
    let mut times = Vec::new();
    let mut t = DAY_START_MS;
    loop {
        let rate = if follow_rush {
            per_minute * rush(t)
        } else {
            per_minute
        };
        t += rng.exponential_ms(rate).max(1);
        if t >= end_ms {
            return times;
        }
        times.push(t);
    }
}

fn traffic(
    rng: &mut Rng,
    n: &Neighbourhood,
    end_ms: i64,
    scale: f64,
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    for t in arrivals(rng, end_ms, 0.33 * scale, true) {
        let busy = rush(t) / 3.0;
        let congestion = round((busy * rng.range(0.5, 1.1)).clamp(0.02, 0.98), 3);
        let speed = (60.0 * (1.0 - congestion) + rng.range(3.0, 8.0)) as i64;
        let event = Event {
            event_id: ids.next("tr"),
            model_id: "traffic_monitoring",
            kind: "traffic_status",
            timestamp: time(t),
            location: near(rng, n.lat, n.lon, 900.0),
            zone: n.zone(),
            severity: if congestion > 0.8 {
                "high"
            } else if congestion > 0.5 {
                "medium"
            } else {
                "low"
            },
            confidence: round(rng.range(0.8, 0.99), 2),
            metadata: BTreeMap::new(),
            payload: json!({"road_id": rng.pick(n.roads), "congestion": congestion, "avg_speed_kmh": speed}),
        };
        out.push(event.line(t));
    }
}

fn violations(
    rng: &mut Rng,
    n: &Neighbourhood,
    end_ms: i64,
    scale: f64,
    ids: &mut Ids,
    out: &mut Vec<Line>,
) -> Vec<Speeding> {
    let mut review = Vec::new();
    for t in arrivals(rng, end_ms, 0.045 * scale, true) {
        let kind = *rng.pick(&[
            "speeding",
            "speeding",
            "red_light",
            "no_helmet",
            "wrong_way",
        ]);
        let vehicle = *rng.pick(&["car", "car", "motorcycle", "truck", "bus", "auto_rickshaw"]);
        let severity = severity_of(rng, [3.0, 4.0, 2.0, 0.5]);
        let confidence = round(rng.range(0.7, 0.995), 2);
        let id = ids.next("v");
        let mut vehicle_data = json!({
            "license_plate": format!("KA{:02}{}{:04}", rng.int(1, 53), plate_letters(rng), rng.int(1, 9999)),
            "vehicle_type": vehicle,
        });
        if kind == "speeding" {
            vehicle_data["speed_kmh"] = json!(rng.int(62, 128));
        }
        let event = Event {
            event_id: id.clone(),
            model_id: "traffic-violation-detector-v2",
            kind: "violation_event",
            timestamp: time(t),
            location: near(rng, n.lat, n.lon, 900.0),
            zone: n.zone(),
            severity,
            confidence,
            metadata: BTreeMap::from([("camera", format!("cam-{}", rng.int(1, 400)))]),
            payload: json!({
                "violation_type": kind,
                "vehicle_data": vehicle_data,
                "evidence": {"image_urls": [format!("https://evidence.example/{id}.jpg")]},
            }),
        };
        out.push(event.line(t));
        if kind == "speeding" && severity != "low" && confidence > 0.85 {
            review.push(Speeding {
                event_id: id,
                time_ms: t,
                zone: n.zone(),
                neighbourhood: n.name,
            });
        }
    }
    review
}

fn plate_letters(rng: &mut Rng) -> String {
    let letters = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    (0..2)
        .map(|_| letters[rng.int(0, letters.len() as i64 - 1) as usize] as char)
        .collect()
}

/// Air quality every 30 minutes, bins when they fill, the river gauges' dry readings.
fn periodic(
    rng: &mut Rng,
    n: &Neighbourhood,
    end_ms: i64,
    scale: f64,
    ids: &mut Ids,
    out: &mut Vec<Line>,
) {
    let station = near(rng, n.lat, n.lon, 500.0);
    let mut t = DAY_START_MS + rng.int(0, 1_799_999);
    while t < end_ms {
        let aqi = (60.0 + 70.0 * rush(t) + rng.range(-25.0, 25.0)) as i64;
        let event = Event {
            event_id: ids.next("aq"),
            model_id: "air-quality-monitor",
            kind: "air_quality_alert",
            timestamp: time(t),
            location: Location {
                latitude: station.latitude,
                longitude: station.longitude,
            },
            zone: n.zone(),
            severity: if aqi > 200 {
                "high"
            } else if aqi > 120 {
                "medium"
            } else {
                "low"
            },
            confidence: round(rng.range(0.9, 0.99), 2),
            metadata: BTreeMap::new(),
            payload: json!({"aqi": aqi, "pollutant": rng.pick(&["pm2_5", "pm10", "no2", "o3"])}),
        };
        out.push(event.line(t));
        t += 1_800_000;
    }
    for t in arrivals(rng, end_ms, 0.02 * scale, false) {
        let fill = rng.int(85, 100);
        let event = Event {
            event_id: ids.next("wb"),
            model_id: "waste-sensor-net",
            kind: "waste_bin_full",
            timestamp: time(t),
            location: near(rng, n.lat, n.lon, 900.0),
            zone: n.zone(),
            severity: if fill > 97 { "medium" } else { "low" },
            confidence: 0.97,
            metadata: BTreeMap::new(),
            payload: json!({"bin_id": format!("bin-{}-{}", n.name, rng.int(1, 250)), "fill_pct": fill}),
        };
        out.push(event.line(t));
    }
    let gauge = near(rng, n.lat, n.lon, 700.0);
    let mut t = DAY_START_MS + rng.int(0, 3_599_999);
    while t < end_ms {
        let event = Event {
            event_id: ids.next("fl"),
            model_id: "flood_prediction_model",
            kind: "flood_warning",
            timestamp: time(t),
            location: Location {
                latitude: gauge.latitude,
                longitude: gauge.longitude,
            },
            zone: n.zone(),
            severity: "low",
            confidence: round(rng.range(0.6, 0.9), 2),
            metadata: BTreeMap::new(),
            payload: json!({"water_level_cm": rng.int(0, 12)}),
        };
        out.push(event.line(t));
        t += 3_600_000;
    }
}

/// Each district's ambulances and fire trucks, every 15 minutes, from its first
/// neighbourhood's dispatch centre.
fn resources(rng: &mut Rng, end_ms: i64, ids: &mut Ids, out: &mut Vec<Line>) {
    let mut seen = Vec::new();
    for n in NEIGHBOURHOODS {
        if seen.contains(&n.district) {
            continue;
        }
        seen.push(n.district);
        let mut t = DAY_START_MS + rng.int(0, 899_999);
        while t < end_ms {
            let ambulances = rng.int(1, 9) - (rush(t) as i64);
            let event = Event {
                event_id: ids.next("rs"),
                model_id: "resource-tracker",
                kind: "resource_status",
                timestamp: time(t),
                location: Location {
                    latitude: n.lat,
                    longitude: n.lon,
                },
                zone: n.zone(),
                severity: if ambulances <= 1 { "high" } else { "low" },
                confidence: 1.0,
                metadata: BTreeMap::new(),
                payload: json!({"ambulances_available": ambulances.max(0), "fire_trucks_available": rng.int(0, 4)}),
            };
            out.push(event.line(t));
            t += 900_000;
        }
    }
}
