//! The timeline beside a published report: one bar per unit that went into it, from its
//! manifest's start and duration, in lanes per machine, coloured by what this run did with
//! it (ran it, reused it, reused it by early cutoff, pulled it from a remote).
//!
//! Manifests record where a unit ran (the machine, for Slurm the node) but not which worker
//! or task slot, so the lanes are rebuilt: units of a machine are packed, by start time,
//! into the first lane free at their start. With `--jobs N` that gives at most N lanes per
//! run on a machine, one per worker as they were.
//!
//! Units reused from earlier runs can lie hours or days before this run. Idle gaps longer
//! than [`LONG_GAP_S`] are therefore cut out of the time axis and drawn as a break labelled
//! with the time left out, so every run's units stay readable on one axis.

use super::changes::escape;
use super::provenance::human_seconds;
use std::fmt::Write as _;

/// What this run did with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Computed by this run.
    Ran,
    /// Fresh when the run was planned, taken from the cache.
    Reused,
    /// Planned to run, but once its rebuilt inputs wrote the bytes they wrote before, its
    /// key was already cached (early cutoff).
    CutOff,
    /// Downloaded from a remote cache.
    Pulled,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ran => "run",
            Outcome::Reused => "reused",
            Outcome::CutOff => "cut off",
            Outcome::Pulled => "pulled",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Outcome::Ran => "run",
            Outcome::Reused => "reused",
            Outcome::CutOff => "cutoff",
            Outcome::Pulled => "pulled",
        }
    }
    fn colour(self) -> &'static str {
        match self {
            Outcome::Ran => "#1f77b4",
            Outcome::Reused => "#c7c7c7",
            Outcome::CutOff => "#2ca02c",
            Outcome::Pulled => "#9467bd",
        }
    }
    const ALL: [Outcome; 4] = [
        Outcome::Ran,
        Outcome::Reused,
        Outcome::CutOff,
        Outcome::Pulled,
    ];
}

/// How many of `bars` had outcome `o`.
pub fn count(bars: &[Bar], o: Outcome) -> usize {
    bars.iter().filter(|b| b.outcome == o).count()
}

/// One unit on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `stage/unit`.
    pub unit: String,
    pub machine: String,
    /// Seconds since the epoch.
    pub start: f64,
    pub seconds: f64,
    pub outcome: Outcome,
}

/// Idle time longer than this is cut out of the axis.
pub const LONG_GAP_S: f64 = 600.0;
/// Manifests give start times to the second: a unit may appear to start up to a second
/// before the one before it in its lane ended.
const CLOCK_SLACK_S: f64 = 1.0;

/// The lane of each bar (indexed like `bars`) and the lanes as (machine, number within
/// the machine), in the order they are drawn: machines alphabetically, lanes in order.
pub fn pack_lanes(bars: &[Bar]) -> (Vec<usize>, Vec<(String, usize)>) {
    let mut machines: Vec<&str> = bars.iter().map(|b| b.machine.as_str()).collect();
    machines.sort_unstable();
    machines.dedup();
    let mut lane_of = vec![0; bars.len()];
    let mut lanes = Vec::new();
    for machine in machines {
        let mut order: Vec<usize> = (0..bars.len())
            .filter(|&i| bars[i].machine == machine)
            .collect();
        order.sort_by(|&a, &b| bars[a].start.total_cmp(&bars[b].start));
        // The end of the last bar in each of this machine's lanes.
        let mut ends: Vec<f64> = Vec::new();
        for i in order {
            let end = bars[i].start + bars[i].seconds;
            let free = ends
                .iter()
                .position(|&e| e <= bars[i].start + CLOCK_SLACK_S);
            let local = match free {
                Some(l) => {
                    ends[l] = end;
                    l
                }
                None => {
                    ends.push(end);
                    ends.len() - 1
                }
            };
            // This machine's lanes come after those of the machines before it.
            lane_of[i] = lanes.len() + local;
        }
        lanes.extend((0..ends.len()).map(|n| (machine.to_string(), n)));
    }
    (lane_of, lanes)
}

/// Maps time onto a compressed axis: busy stretches keep their length, each idle gap longer
/// than [`LONG_GAP_S`] shrinks to `break_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// (start, end) of each stretch kept, in time order.
    pub stretches: Vec<(f64, f64)>,
    pub break_s: f64,
}

impl Axis {
    pub fn new(bars: &[Bar]) -> Axis {
        let mut spans: Vec<(f64, f64)> = bars
            .iter()
            .map(|b| (b.start, b.start + b.seconds))
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut stretches: Vec<(f64, f64)> = Vec::new();
        for (s, e) in spans {
            match stretches.last_mut() {
                Some(last) if s <= last.1 + LONG_GAP_S => last.1 = last.1.max(e),
                _ => stretches.push((s, e)),
            }
        }
        let busy: f64 = stretches.iter().map(|(s, e)| e - s).sum();
        Axis {
            stretches,
            // A break is drawn as wide as 3% of the busy time (at least a second).
            break_s: (busy * 0.03).max(1.0),
        }
    }

    /// The axis length in (compressed) seconds.
    pub fn length(&self) -> f64 {
        let busy: f64 = self.stretches.iter().map(|(s, e)| e - s).sum();
        busy + self.break_s * self.stretches.len().saturating_sub(1) as f64
    }

    /// Where time `t` lies on the axis, in compressed seconds from its start.
    pub fn position(&self, t: f64) -> f64 {
        let mut offset = 0.0;
        for (s, e) in &self.stretches {
            if t <= *e {
                return offset + (t - s).max(0.0);
            }
            offset += e - s + self.break_s;
        }
        self.length()
    }

    /// Each break: its position on the axis (its middle) and the idle time it leaves out.
    pub fn breaks(&self) -> Vec<(f64, f64)> {
        self.stretches
            .windows(2)
            .map(|w| (self.position(w[0].1) + self.break_s / 2.0, w[1].0 - w[0].1))
            .collect()
    }
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 170.0;
const LANE_H: f64 = 14.0;
const TOP: f64 = 34.0;

/// The timeline as a standalone SVG document.
pub fn svg(bars: &[Bar]) -> String {
    let (lane_of, lanes) = pack_lanes(bars);
    let axis = Axis::new(bars);
    let plot_w = WIDTH - LEFT - 10.0;
    let scale = if axis.length() > 0.0 {
        plot_w / axis.length()
    } else {
        0.0
    };
    let height = TOP + LANE_H * lanes.len() as f64 + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n<style>.run{{fill:{}}} .reused{{fill:{}}} .cutoff{{fill:{}}} .pulled{{fill:{}}}</style>\n",
        Outcome::Ran.colour(),
        Outcome::Reused.colour(),
        Outcome::CutOff.colour(),
        Outcome::Pulled.colour()
    );
    // Legend: each outcome with how many units had it.
    let mut x = LEFT;
    for o in Outcome::ALL {
        let n = count(bars, o);
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"17\">{} ({n})</text>",
            o.colour(),
            x + 14.0,
            o.label()
        );
        x += 110.0;
    }
    for (i, (machine, n)) in lanes.iter().enumerate() {
        let y = TOP + LANE_H * i as f64;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} · {}</text>",
            LEFT - 6.0,
            y + LANE_H - 3.0,
            escape(machine),
            n + 1
        );
    }
    for (b, lane) in bars.iter().zip(&lane_of) {
        let x0 = LEFT + axis.position(b.start) * scale;
        let x1 = LEFT + axis.position(b.start + b.seconds) * scale;
        let _ = writeln!(
            s,
            "<rect class=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{}\"><title>{} · {} · {}</title></rect>",
            b.outcome.class(),
            TOP + LANE_H * *lane as f64 + 1.0,
            (x1 - x0).max(1.0),
            LANE_H - 2.0,
            escape(&b.unit),
            human_seconds(b.seconds),
            b.outcome.label()
        );
    }
    let bottom = TOP + LANE_H * lanes.len() as f64;
    for (at, idle) in axis.breaks() {
        let x = LEFT + at * scale;
        let _ = writeln!(
            s,
            "<line class=\"break\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#888\" stroke-dasharray=\"3,3\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{} idle</text>",
            bottom + 12.0,
            human_seconds(idle)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" fill=\"#555\">time, {} of units shown; idle gaps over {} cut out</text>\n</svg>",
        bottom + 26.0,
        human_seconds(axis.stretches.iter().map(|(a, b)| b - a).sum()),
        human_seconds(LONG_GAP_S)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(unit: &str, machine: &str, start: f64, seconds: f64) -> Bar {
        Bar {
            unit: unit.into(),
            machine: machine.into(),
            start,
            seconds,
            outcome: Outcome::Ran,
        }
    }

    #[test]
    fn two_workers_give_two_lanes_and_machines_keep_their_own() {
        // On "a": u1 0-10 and u2 2-6 overlap (two lanes); u3 starts at 6, when u2's lane is
        // free again, u4 at 10.5 (within a second of u1's end: the clock's slack). "b" has
        // one unit, in a lane of its own after a's two.
        let bars = [
            bar("u1", "a", 0.0, 10.0),
            bar("u2", "a", 2.0, 4.0),
            bar("u3", "a", 6.0, 5.0),
            bar("u4", "a", 10.5, 1.0),
            bar("u5", "b", 3.0, 1.0),
        ];
        let (lane_of, lanes) = pack_lanes(&bars);
        assert_eq!(lane_of, vec![0, 1, 1, 0, 2]);
        assert_eq!(
            lanes,
            vec![
                ("a".to_string(), 0),
                ("a".to_string(), 1),
                ("b".to_string(), 0)
            ]
        );
    }

    #[test]
    fn long_idle_gaps_are_cut_to_a_break() {
        // Busy 0-100 and 5000-5050: a gap of 4900 s (over ten minutes) becomes a break of 3%
        // of the 150 busy seconds, 4.5 s; a gap of 500 s would have stayed.
        let bars = [
            bar("a", "m", 0.0, 60.0),
            bar("b", "m", 40.0, 60.0),
            bar("c", "m", 5000.0, 50.0),
        ];
        let axis = Axis::new(&bars);
        assert_eq!(axis.stretches, vec![(0.0, 100.0), (5000.0, 5050.0)]);
        assert_eq!(axis.break_s, 4.5);
        assert_eq!(axis.length(), 154.5);
        assert_eq!(axis.position(100.0), 100.0);
        assert_eq!(axis.position(5010.0), 114.5);
        assert_eq!(axis.breaks(), vec![(102.25, 4900.0)]);
        let kept = Axis::new(&[bar("a", "m", 0.0, 10.0), bar("b", "m", 510.0, 10.0)]);
        assert_eq!(kept.stretches, vec![(0.0, 520.0)]);
    }

    #[test]
    fn the_svg_draws_every_unit_in_its_outcome_with_counts() {
        let mut bars = vec![
            bar("train/x", "m", 0.0, 100.0),
            bar("figures/<y>", "m", 100.0, 5.0),
        ];
        bars[1].outcome = Outcome::CutOff;
        bars.push(Bar {
            outcome: Outcome::Reused,
            ..bar("data/d", "m", -86400.0, 2.0)
        });
        let svg = svg(&bars);
        assert_eq!(svg.matches("<rect class=\"run\"").count(), 1);
        assert_eq!(svg.matches("<rect class=\"cutoff\"").count(), 1);
        assert_eq!(svg.matches("<rect class=\"reused\"").count(), 1);
        assert!(svg.contains(">run (1)<") && svg.contains(">cut off (1)<"));
        assert!(svg.contains("figures/&lt;y&gt;"), "unit names escaped");
        // The day less the data unit's 2 s between it and this run (86,398 s) is one break.
        assert_eq!(svg.matches("class=\"break\"").count(), 1);
        assert!(svg.contains(">23 h 59 min idle<"), "{svg}");
    }
}
