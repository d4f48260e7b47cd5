//! Fig. 3: mean test perplexity per layer, one line per network of each sweep.

use super::figure::{
    both_sweeps, on_sweeps, perplexity_levels, series, sweep_params, sweeps, Built, Def, Inputs,
    Text,
};
use crate::engine::stage::UnitError;
use crate::plots::{Mark, Panel, Series};
use crate::results::derived::{mean_perplexity, nets_of};
use crate::results::NetKey;

pub(super) const DEF: Def = Def {
    id: "fig3",
    params: sweep_params,
    reads: on_sweeps,
    build,
    text: |select| {
        Text {
        title: "Fig. 3: layer perplexity",
        caption: format!(
            "Mean test perplexity per layer (log scale), one line per network of {}, per dataset.",
            both_sweeps(select)
        ),
        claim: "Perplexity is close to the class size in the first layers of wide networks, falls sharply over a few layers, and is close to 1 in the last layers.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 3: mean test perplexity per layer";
    let rows = &inputs.rows;
    let nets = nets_of(rows);
    if nets.is_empty() {
        return Ok(Built::no_data("fig3", title));
    }
    let mut datasets: Vec<&str> = nets.iter().map(|n| n.dataset.as_str()).collect();
    datasets.dedup();
    let (by_depth, by_width) = sweeps(inputs.select);
    let mut panels = Vec::new();
    let mut findings = Vec::new();
    for ds in datasets {
        for sweep in [by_depth, by_width] {
            let chosen: Vec<&NetKey> = nets
                .iter()
                .filter(|n| n.dataset == ds && sweep.holds(n))
                .collect();
            let lines: Vec<Series> = chosen
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    series(
                        sweep.label(n),
                        mean_perplexity(rows, "test")
                            .filter(|r| &r.net == *n)
                            .map(|r| (r.layer as f64, r.value)),
                        Mark::Line,
                        i,
                    )
                })
                .collect();
            for (n, s) in chosen.iter().zip(&lines) {
                if n.depth >= 2 {
                    if let (Some(first), Some(last)) = (s.points.first(), s.points.last()) {
                        let finding = format!(
                            "{ds} {}: {:.1} in layer 1, {:.2} in layer {}",
                            n.shape(),
                            first.1,
                            last.1,
                            last.0
                        );
                        // A network on both sweeps (10x100) is noted once.
                        if !findings.contains(&finding) {
                            findings.push(finding);
                        }
                    }
                }
            }
            let axis = sweep.axis.name();
            panels.push(
                Panel::new(
                    format!("{ds}, {axis} sweep"),
                    "layer",
                    "mean test perplexity",
                )
                .with_integer_x()
                .with_log_y()
                .with_reference_y(&perplexity_levels(inputs, ds, "test"))
                .with_series(lines)
                .with_empty_note(format!("no {axis} sweep in this profile")),
            );
        }
    }
    Ok(Built::lines("fig3", title, panels, 2, findings))
}
