//! Fig. 2: test error against depth and against width.

use super::figure::{
    both_sweeps, on_sweeps, series, sweep_panels, sweep_params, Built, Def, Inputs, Text,
};
use crate::engine::stage::UnitError;
use crate::plots::Mark;
use crate::results::derived::network_test_accuracy;

pub(super) const DEF: Def = Def {
    id: "fig2",
    params: sweep_params,
    reads: on_sweeps,
    build,
    text: |select| {
        Text {
        title: "Fig. 2: test error against depth and width",
        caption: format!(
            "Test error of the best snapshot over {}, per dataset; mean over seeds, band from min to max.",
            both_sweeps(select)
        ),
        claim: "Test error improves with depth and width and then saturates.",
    }
    },
};

fn build(inputs: &Inputs) -> Result<Built, UnitError> {
    let title = "Fig. 2: test error against depth and width";
    let rows = &inputs.rows;
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.net.dataset.as_str()).collect();
    datasets.sort();
    datasets.dedup();
    if datasets.is_empty() {
        return Ok(Built::no_data("fig2", title));
    }
    let mut panels = sweep_panels(
        inputs.select,
        ["against depth", "against width"],
        "test error (%)",
    );
    let mut findings = Vec::new();
    for (i, ds) in datasets.iter().enumerate() {
        for (sweep, panel) in &mut panels {
            let errors = network_test_accuracy(rows)
                .filter(|r| r.net.dataset == *ds && sweep.holds(&r.net))
                .map(|r| (sweep.x(&r.net) as f64, 100.0 * (1.0 - r.value)));
            let s = series(ds.to_string(), errors, Mark::Line, i);
            if let (Some(first), Some(last)) = (
                s.points.first(),
                s.points.last().filter(|_| s.points.len() > 1),
            ) {
                let axis = sweep.axis.name();
                findings.push(format!(
                    "{ds}: test error {:.2}% at {axis} {} and {:.2}% at {axis} {}",
                    first.1, first.0, last.1, last.0
                ));
            }
            panel.series.push(s);
        }
    }
    let panels = panels.into_iter().map(|(_, panel)| panel).collect();
    Ok(Built::lines("fig2", title, panels, 2, findings))
}
