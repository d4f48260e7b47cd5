//! Beyond the paper: per network, the first layer whose perplexity falls below a
//! threshold, over the depth sweep and over the width sweep.

use super::figure::{both_sweeps, on_sweeps, sweep_panels, sweep_params, Built, Def, Inputs, Text};
use crate::engine::stage::UnitError;
use crate::plots::{Mark, Series};
use crate::results::derived::nets_of;
use crate::results::transition_layer;
use serde_json::Value;

pub(super) const DEF: Def = Def {
    id: "transition",
    params: sweep_params,
    reads: on_sweeps,
    build,
    text: |select| {
        Text {
        title: "Perplexity transition (beyond the paper)",
        caption: format!(
            "Per network of {}, the first hidden layer whose mean test perplexity is below {}.",
            both_sweeps(select),
            threshold(select)
        ),
        claim: "Not in the paper: where the sharp transition happens, as a function of depth and width.",
    }
    },
};

fn threshold(select: &Value) -> f64 {
    select["transition_perplexity"].as_f64().unwrap_or(2.0)
}

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Beyond the paper: the layer where perplexity first falls below the threshold";
    let rows = &inputs.rows;
    let threshold = threshold(inputs.select);
    let nets = nets_of(rows);
    if nets.is_empty() {
        return Ok(Built::no_data("transition", title));
    }
    let mut datasets: Vec<&str> = nets.iter().map(|n| n.dataset.as_str()).collect();
    datasets.dedup();
    let mut panels = sweep_panels(
        inputs.select,
        ["depth sweep", "width sweep"],
        &format!("first layer with perplexity < {threshold}"),
    );
    let mut findings = Vec::new();
    for (i, ds) in datasets.iter().enumerate() {
        for (sweep, panel) in &mut panels {
            let mut pts = Vec::new();
            for n in nets.iter().filter(|n| n.dataset == *ds && sweep.holds(n)) {
                match transition_layer(rows, n, threshold) {
                    Some(l) => pts.push((sweep.x(n) as f64, l)),
                    None => findings.push(format!(
                        "{ds} {}: perplexity never falls below {threshold}",
                        n.shape()
                    )),
                }
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            panel
                .series
                .push(Series::new(ds.to_string(), pts, Mark::Line, i));
        }
    }
    let panels = panels.into_iter().map(|(_, panel)| panel).collect();
    Ok(Built::lines("transition", title, panels, 2, findings))
}
