//! Node names and layers: a node is named by a zone prefix (`docs/execution.md`).

/// The national node's name.
pub const NATIONAL: &str = "national";

/// `L1` … `L5`.
pub fn level_name(layer: u8) -> String {
    // Without `format!`: every record names a layer or two.
    match level_str(layer) {
        Some(name) => name.to_owned(),
        None => format!("L{layer}"),
    }
}

/// [`level_name`] of the five layers, without a copy.
pub fn level_str(layer: u8) -> Option<&'static str> {
    ["L1", "L2", "L3", "L4", "L5"]
        .get(usize::from(layer).wrapping_sub(1))
        .copied()
}

/// `local`, `district`, `city`, `state`, `national`.
pub fn layer_name(layer: u8) -> &'static str {
    match layer {
        1 => "local",
        2 => "district",
        3 => "city",
        4 => "state",
        _ => "national",
    }
}

/// The node of `layer` that contains the node (or zone) `name`: its first `5 − layer`
/// segments, or `national`. A name already at or above `layer` is returned as it is.
pub fn ancestor(name: &str, layer: u8) -> String {
    ancestor_of(name, layer).to_string()
}

/// [`ancestor`] without a copy: a prefix of `name`, or `national`.
pub fn ancestor_of(name: &str, layer: u8) -> &str {
    if layer >= 5 || name == NATIONAL {
        return NATIONAL;
    }
    let keep = usize::from(5 - layer.max(1));
    // The prefix ends before the `keep`th dot; fewer dots keep the whole name.
    match name
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'.')
        .nth(keep - 1)
    {
        Some((end, _)) => name.get(..end).unwrap_or(name),
        None => name,
    }
}

/// The layer of a node named `name`: `national`, or by its number of segments.
pub fn layer_of(name: &str) -> u8 {
    if name == NATIONAL {
        return 5;
    }
    match name.bytes().filter(|b| *b == b'.').count() {
        0 => 4,
        1 => 3,
        2 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_of_a_neighbourhood() {
        let zone = "ka.bengaluru.east.indiranagar";
        assert_eq!(ancestor(zone, 1), zone);
        assert_eq!(ancestor(zone, 2), "ka.bengaluru.east");
        assert_eq!(ancestor(zone, 3), "ka.bengaluru");
        assert_eq!(ancestor(zone, 4), "ka");
        assert_eq!(ancestor(zone, 5), "national");
        assert_eq!(ancestor("ka.bengaluru.east.indiranagar.extra", 1), zone);
        assert_eq!(layer_of("ka.bengaluru.east"), 2);
        assert_eq!(layer_of("national"), 5);
        assert_eq!(layer_of("ka"), 4);
        assert_eq!(ancestor("ka", 2), "ka");
        assert_eq!(ancestor("", 1), "");
        assert_eq!(ancestor("a..b.c.d", 1), "a..b.c");
    }
}
