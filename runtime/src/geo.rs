//! Geography: great-circle distance and the deterministic route model.

/// Mean earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// How far from the straight line a neighbourhood may lie and still be on a route.
pub const ROUTE_CORRIDOR_M: f64 = 1000.0;

/// The speed the route model assumes, in metres per millisecond (30 km/h).
const ROUTE_SPEED_M_PER_MS: f64 = 30_000.0 / 3_600_000.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Great-circle distance (haversine), metres.
pub fn haversine(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Where `p` falls along the segment `from → to`: the fraction (0..1, clamped) of the way,
/// and its distance from the segment in metres. Uses a local flat projection around `from`,
/// which is exact enough at city scale.
pub fn along_segment(from: Point, to: Point, p: Point) -> (f64, f64) {
    let scale_lon = from.lat.to_radians().cos();
    let project = |q: Point| {
        (
            (q.lon - from.lon).to_radians() * scale_lon * EARTH_RADIUS_M,
            (q.lat - from.lat).to_radians() * EARTH_RADIUS_M,
        )
    };
    let (bx, by) = project(to);
    let (px, py) = project(p);
    let length2 = bx * bx + by * by;
    let t = if length2 > 0.0 {
        ((px * bx + py * by) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (px - t * bx, py - t * by);
    (t, (dx * dx + dy * dy).sqrt())
}

/// The route model: the known places (zone, last-seen location) within
/// [`ROUTE_CORRIDOR_M`] of the straight segment, ordered along it (ties by name); the
/// duration at 30 km/h over the great-circle length.
pub fn route<'a>(
    from: Point,
    to: Point,
    places: impl Iterator<Item = (&'a str, Point)>,
) -> (Vec<&'a str>, i64, f64) {
    let mut on_route: Vec<(f64, &str)> = places
        .filter_map(|(zone, at)| {
            let (t, off) = along_segment(from, to, at);
            (off <= ROUTE_CORRIDOR_M).then_some((t, zone))
        })
        .collect();
    on_route.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let length = haversine(from, to);
    let duration = (length / ROUTE_SPEED_M_PER_MS).round() as i64;
    (
        on_route.into_iter().map(|(_, zone)| zone).collect(),
        duration,
        length,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousandth_of_a_degree_of_latitude_is_111_metres() {
        let a = Point {
            lat: 12.9784,
            lon: 77.6408,
        };
        let b = Point {
            lat: 12.9802,
            lon: 77.6408,
        };
        let d = haversine(a, b);
        assert!((d - 200.15).abs() < 0.1, "{d}");
        let far = Point {
            lat: 12.9856,
            lon: 77.6408,
        };
        assert!((haversine(a, far) - 800.6).abs() < 0.2);
        assert_eq!(haversine(a, a), 0.0);
    }

    #[test]
    fn route_orders_places_along_the_segment() {
        let from = Point {
            lat: 12.9716,
            lon: 77.6412,
        };
        let to = Point {
            lat: 12.9352,
            lon: 77.6245,
        };
        let places = [
            (
                "z.far",
                Point {
                    lat: 13.2,
                    lon: 77.9,
                },
            ),
            (
                "z.end",
                Point {
                    lat: 12.9352,
                    lon: 77.6245,
                },
            ),
            (
                "z.start",
                Point {
                    lat: 12.9716,
                    lon: 77.6412,
                },
            ),
        ];
        let (zones, duration, length) = route(from, to, places.iter().map(|(z, p)| (*z, *p)));
        assert_eq!(zones, vec!["z.start", "z.end"]);
        assert!((length - 4433.7).abs() < 1.0, "{length}");
        assert_eq!(duration, (length * 120.0).round() as i64);
    }
}
