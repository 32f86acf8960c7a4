//! The city: Karnataka › Bengaluru › four districts › fourteen neighbourhoods, with the
//! coordinates of their centres, the roads their sensors watch and two hospitals.

pub struct Neighbourhood {
    pub district: &'static str,
    pub name: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub roads: &'static [&'static str],
}

impl Neighbourhood {
    pub fn zone(&self) -> String {
        format!("ka.bengaluru.{}.{}", self.district, self.name)
    }
}

const fn n(
    district: &'static str,
    name: &'static str,
    lat: f64,
    lon: f64,
    roads: &'static [&'static str],
) -> Neighbourhood {
    Neighbourhood {
        district,
        name,
        lat,
        lon,
        roads,
    }
}

pub const NEIGHBOURHOODS: &[Neighbourhood] = &[
    n(
        "east",
        "indiranagar",
        12.9784,
        77.6408,
        &["r-100ft-road", "r-cmh-road", "r-old-airport-road"],
    ),
    n(
        "east",
        "koramangala",
        12.9352,
        77.6245,
        &["r-80ft-road", "r-sarjapur-road", "r-hosur-road"],
    ),
    n(
        "east",
        "domlur",
        12.9610,
        77.6387,
        &["r-domlur-flyover", "r-inner-ring-road"],
    ),
    n(
        "east",
        "whitefield",
        12.9698,
        77.7500,
        &["r-itpl-road", "r-whitefield-main"],
    ),
    n(
        "south",
        "jayanagar",
        12.9250,
        77.5938,
        &["r-11th-main", "r-south-end-road"],
    ),
    n(
        "south",
        "btm_layout",
        12.9166,
        77.6101,
        &["r-outer-ring-road", "r-btm-main"],
    ),
    n(
        "south",
        "jp_nagar",
        12.9063,
        77.5857,
        &["r-24th-main", "r-bannerghatta-road"],
    ),
    n(
        "south",
        "banashankari",
        12.9255,
        77.5468,
        &["r-kanakapura-road", "r-outer-ring-west"],
    ),
    n(
        "central",
        "mg_road",
        12.9756,
        77.6050,
        &["r-mg-road", "r-brigade-road"],
    ),
    n(
        "central",
        "shivajinagar",
        12.9857,
        77.6057,
        &["r-cubbon-road", "r-infantry-road"],
    ),
    n(
        "central",
        "majestic",
        12.9767,
        77.5713,
        &["r-kg-road", "r-seshadri-road"],
    ),
    n(
        "north",
        "hebbal",
        13.0358,
        77.5970,
        &["r-bellary-road", "r-hebbal-flyover"],
    ),
    n(
        "north",
        "yelahanka",
        13.1007,
        77.5963,
        &["r-doddaballapur-road", "r-yelahanka-main"],
    ),
    n(
        "north",
        "malleshwaram",
        13.0035,
        77.5710,
        &["r-sampige-road", "r-margosa-road"],
    ),
];

/// The neighbourhood called `name`.
pub fn by_name(name: &str) -> &'static Neighbourhood {
    NEIGHBOURHOODS
        .iter()
        .find(|n| n.name == name)
        .unwrap_or(&NEIGHBOURHOODS[0])
}

/// Hospitals emergency calls are routed to: (name, latitude, longitude).
pub const HOSPITALS: &[(&str, f64, f64)] = &[
    ("st_johns", 12.9299, 77.6187),
    ("manipal_old_airport_road", 12.9592, 77.6480),
    ("bowring", 12.9830, 77.6047),
];
