//! What the report says about how the networks were trained that needs more than a
//! template: whether a chosen learning rate sits at an end of its grid.

use serde_json::Value;

/// Whether the chosen rate is at an end of the grid tried: then a rate beyond it, never
/// tried, might have trained better, and the report says so.
pub fn grid_edge(selection: &Value) -> Option<&'static str> {
    let chosen = selection["chosen"].as_f64()?;
    let rates: Vec<f64> = selection["trials"]
        .as_array()?
        .iter()
        .filter_map(|t| t["rate"].as_f64())
        .collect();
    if rates.len() < 2 {
        return None;
    }
    let max = rates.iter().copied().fold(f64::MIN, f64::max);
    let min = rates.iter().copied().fold(f64::MAX, f64::min);
    if chosen == max {
        Some("the largest rate tried: a larger one, not tried, might train better")
    } else if chosen == min {
        Some("the smallest rate tried: a smaller one, not tried, might train better")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_choice_at_either_end_of_the_grid_is_named() {
        let sel = |chosen: f64| json!({ "chosen": chosen, "trials": [{ "rate": 0.1 }, { "rate": 0.3 }, { "rate": 1.0 }] });
        assert!(grid_edge(&sel(1.0)).unwrap().starts_with("the largest"));
        assert!(grid_edge(&sel(0.1)).unwrap().starts_with("the smallest"));
        assert_eq!(grid_edge(&sel(0.3)), None);
    }
}
