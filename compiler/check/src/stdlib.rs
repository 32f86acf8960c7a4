//! The standard library, embedded: package `std`, written in the language.

/// (path, text) of every std file; paths are `std/<name>.cbp`.
pub const FILES: &[(&str, &str)] = &[
    (
        "std/actions.cbp",
        include_str!("../../../stdlib/actions.cbp"),
    ),
    (
        "std/authority.cbp",
        include_str!("../../../stdlib/authority.cbp"),
    ),
    (
        "std/envelope.cbp",
        include_str!("../../../stdlib/envelope.cbp"),
    ),
    ("std/geo.cbp", include_str!("../../../stdlib/geo.cbp")),
    ("std/lists.cbp", include_str!("../../../stdlib/lists.cbp")),
    (
        "std/privacy.cbp",
        include_str!("../../../stdlib/privacy.cbp"),
    ),
    (
        "std/reports.cbp",
        include_str!("../../../stdlib/reports.cbp"),
    ),
    ("std/text.cbp", include_str!("../../../stdlib/text.cbp")),
    ("std/time.cbp", include_str!("../../../stdlib/time.cbp")),
];
