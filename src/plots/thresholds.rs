//! The claims' robustness figure: one line per measured claim row, drawn by hand as SVG
//! (plotters has no per-row axes). Each line has its own scale, spanning the threshold's
//! declared range and the measured value: the range is a grey bar, the threshold a black
//! tick, and the measured value a dot, green where the row reproduces and red where it
//! does not; a value off the scale (an infinite span) sits at the edge as an arrow.

use super::style::FONT_NAME;

/// One line of the figure.
#[derive(Debug, Clone)]
pub struct ThresholdLine {
    pub label: String,
    pub key: String,
    pub value: f64,
    pub threshold: f64,
    pub range: [f64; 2],
    pub reproduced: bool,
    pub robustness: String,
}

const WIDTH: f64 = 1040.0;
const ROW: f64 = 22.0;
const TOP: f64 = 46.0;
const LABEL_END: f64 = 360.0;
const TRACK: (f64, f64) = (380.0, 700.0);

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A line's scale: linear, or logarithmic where every value is positive and they span
/// more than a factor 20 (a perplexity of 350 against a threshold of 2).
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn of(values: impl Iterator<Item = f64> + Clone) -> Scale {
        let lo = values.clone().fold(f64::INFINITY, f64::min);
        let hi = values.fold(f64::NEG_INFINITY, f64::max);
        let log = lo > 0.0 && hi / lo > 20.0;
        let (lo, hi) = if log { (lo.ln(), hi.ln()) } else { (lo, hi) };
        let pad = ((hi - lo) * 0.05).max(1e-9);
        Scale {
            lo: lo - pad,
            hi: hi + pad,
            log,
        }
    }

    /// Where `v` lies on the track, clamped to it.
    fn x(&self, v: f64) -> f64 {
        let v = if self.log { v.ln() } else { v };
        let t = if self.hi > self.lo {
            (v - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        TRACK.0 + t.clamp(0.0, 1.0) * (TRACK.1 - TRACK.0)
    }
}

/// The figure's SVG; its height grows with the number of lines.
pub fn svg(lines: &[ThresholdLine]) -> String {
    let height = TOP + ROW * lines.len().max(1) as f64 + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"{FONT_NAME}\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    s.push_str(
        "<text x=\"10\" y=\"18\" font-size=\"14\">Measured value against threshold and its declared range, per claim row</text>\n<text x=\"10\" y=\"36\" fill=\"#555\">grey: range; black tick: threshold; dot: measured (green reproduced, red not); each line has its own scale</text>\n");
    if lines.is_empty() {
        s.push_str(&format!(
            "<text x=\"10\" y=\"{}\">No claim row with a measured value against a threshold.</text>\n",
            TOP + 14.0
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        let y = TOP + ROW * i as f64 + ROW / 2.0;
        let scale = Scale::of(
            [l.range[0], l.range[1], l.threshold]
                .into_iter()
                .chain(l.value.is_finite().then_some(l.value)),
        );
        if i % 2 == 0 {
            s.push_str(&format!(
                "<rect x=\"0\" y=\"{}\" width=\"{WIDTH}\" height=\"{ROW}\" fill=\"#f6f6f6\"/>\n",
                y - ROW / 2.0
            ));
        }
        s.push_str(&format!(
            "<text x=\"{LABEL_END}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            y + 4.0,
            escape(&l.label)
        ));
        let (r0, r1) = (scale.x(l.range[0]), scale.x(l.range[1]));
        s.push_str(&format!(
            "<rect x=\"{r0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" fill=\"#c8c8c8\"/>\n",
            y - 4.0,
            (r1 - r0).max(1.0)
        ));
        let tx = scale.x(l.threshold);
        s.push_str(&format!(
            "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\" stroke-width=\"2\"/>\n",
            y - 8.0,
            y + 8.0
        ));
        let colour = if l.reproduced { "#1a7f37" } else { "#c62828" };
        let vx = scale.x(l.value);
        if l.value.is_finite() {
            s.push_str(&format!(
                "<circle cx=\"{vx:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{colour}\"/>\n"
            ));
        } else {
            let tip = if l.value > 0.0 {
                TRACK.1 + 8.0
            } else {
                TRACK.0 - 8.0
            };
            let back = if l.value > 0.0 { TRACK.1 } else { TRACK.0 };
            s.push_str(&format!(
                "<path d=\"M{back:.1},{:.1} L{tip:.1},{y:.1} L{back:.1},{:.1} Z\" fill=\"{colour}\"/>\n",
                y - 5.0,
                y + 5.0
            ));
        }
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{} vs {} in [{}, {}]{}: {}</text>\n",
            TRACK.1 + 16.0,
            y + 4.0,
            num(l.value),
            num(l.threshold),
            num(l.range[0]),
            num(l.range[1]),
            if scale.log { " (log)" } else { "" },
            escape(&l.robustness)
        ));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: f64, reproduced: bool) -> ThresholdLine {
        ThresholdLine {
            label: "last-layer-near-one (mnist)".into(),
            key: "last_layer_perplexity_max".into(),
            value,
            threshold: 2.0,
            range: [1.5, 3.0],
            reproduced,
            robustness: "fragile".into(),
        }
    }

    #[test]
    fn each_line_scales_the_range_threshold_and_value_to_the_track() {
        let svg = svg(&[line(2.34, false), line(f64::INFINITY, false)]);
        // Line 1 spans 1.5..3.0 padded by 5%: 1.425..3.075; the threshold 2.0 lies at
        // 380 + (0.575 / 1.65) * 320 = 491.5, the value 2.34 at 380 + (0.915 / 1.65) * 320.
        assert!(svg.contains("x1=\"491.5\""), "{svg}");
        let vx = 380.0 + 0.915 / 1.65 * 320.0;
        assert!(svg.contains(&format!("cx=\"{vx:.1}\"")), "{svg}");
        assert!(svg.contains("fill=\"#c62828\""), "not reproduced is red");
        // An infinite value is an arrow at the right edge, not a dot.
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("<path d=\"M700.0,"));
        assert!(svg.contains(">inf vs 2 in [1.5, 3]: fragile<"), "{svg}");
        // A value far off the range gets a log scale: ln 350 at the end of the padded axis,
        // 380 + (1.05 / 1.1) * 320.
        let svg = svg_of(350.0);
        assert!(
            svg.contains("(log)") && svg.contains("cx=\"685.5\""),
            "{svg}"
        );
    }

    fn svg_of(value: f64) -> String {
        svg(&[line(value, false)])
    }

    #[test]
    fn an_empty_figure_says_so() {
        assert!(svg(&[]).contains("No claim row with a measured value"));
    }
}
