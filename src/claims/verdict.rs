//! What a claim reports: a [`Claim`] with one [`Row`] per dataset (or per comparison),
//! each with its [`Verdict`] and, once assessed, its [`Robustness`].

use super::thresholds::Thresholds;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Reproduced,
    NotReproduced,
    NotMeasured,
}

impl Verdict {
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Reproduced
        } else {
            Verdict::NotReproduced
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// How much a verdict depends on the choices behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RobustClass {
    /// The same verdict across the whole range of every swept threshold and on every
    /// seed resample.
    Robust,
    /// The verdict flips somewhere in a threshold's range or on a resample.
    Fragile,
    /// Nothing to assess: the row is not measured, or there is a single seed and no
    /// threshold flips it.
    NotMeasured,
}

impl RobustClass {
    pub fn text(self) -> &'static str {
        match self {
            RobustClass::Robust => "robust",
            RobustClass::Fragile => "fragile",
            RobustClass::NotMeasured => "not measured",
        }
    }
}

/// The robustness of one row's verdict, and what it was tested against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robustness {
    pub class: RobustClass,
    pub class_text: &'static str,
    /// What the threshold sweep found ("same verdict for ... in [a, b]", or where it
    /// flips).
    pub thresholds: String,
    /// What the seed resampling found.
    pub seeds: String,
}

/// One claim's verdict on one dataset (or on a comparison of datasets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The dataset, or "mnist vs fashion-mnist" for a comparison.
    pub scope: String,
    pub measured: String,
    /// The statistic held to the claim's first swept threshold, in its units (the claims
    /// figure plots it against the threshold and its range). Infinite for a network that
    /// never gets there; JSON has no infinity, so it is written as "inf".
    #[serde(serialize_with = "finite_or_text")]
    pub value: Option<f64>,
    pub verdict: Verdict,
    pub verdict_text: &'static str,
    pub robustness: Option<Robustness>,
    /// The verdict under other protocols (the final snapshot instead of the best...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

/// A row's verdict under another protocol than the paper's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub protocol: String,
    pub verdict: Verdict,
    pub verdict_text: &'static str,
    pub measured: String,
    /// Whether it differs from the paper protocol's verdict.
    pub changes: bool,
}

impl Row {
    /// A measured row whose verdict is `ok`; `value` is the statistic compared with the
    /// claim's first swept threshold, if it has one.
    pub fn measured(scope: &str, measured: String, value: Option<f64>, ok: bool) -> Row {
        let verdict = Verdict::of(ok);
        Row {
            scope: scope.into(),
            measured,
            value,
            verdict,
            verdict_text: verdict.text(),
            robustness: None,
            variants: Vec::new(),
        }
    }

    /// Not measurable on this dataset, and why.
    pub fn not_measured(scope: &str, why: impl Into<String>) -> Row {
        Row {
            scope: scope.into(),
            measured: why.into(),
            value: None,
            verdict: Verdict::NotMeasured,
            verdict_text: Verdict::NotMeasured.text(),
            robustness: None,
            variants: Vec::new(),
        }
    }
}

fn finite_or_text<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.is_infinite() => s.serialize_str(if *x > 0.0 { "inf" } else { "-inf" }),
        Some(x) => s.serialize_f64(*x),
        None => s.serialize_none(),
    }
}

/// A threshold a claim is held to, with the range its robustness is assessed over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swept {
    /// The key in `[claims]`.
    pub key: &'static str,
    pub value: f64,
    pub range: [f64; 2],
}

/// One of the paper's findings: what it says (in this project's words), where, the
/// threshold, and a verdict per dataset. The claim is reproduced only if every dataset
/// that measures it reproduces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub id: &'static str,
    pub statement: String,
    /// Where the paper says it: section and figure.
    pub cite: &'static str,
    /// Exactly what is measured and what it is held to.
    pub threshold: String,
    /// The thresholds whose ranges the robustness assessment sweeps (empty for a plain
    /// comparison, which has none).
    pub swept: Vec<Swept>,
    pub rows: Vec<Row>,
    pub verdict: Verdict,
    pub verdict_text: &'static str,
}

/// A claim's verdict from its rows: not reproduced if any row is not, reproduced if any
/// row is (and none is not), otherwise not measured.
fn overall(rows: &[Row]) -> Verdict {
    if rows.iter().any(|r| r.verdict == Verdict::NotReproduced) {
        Verdict::NotReproduced
    } else if rows.iter().any(|r| r.verdict == Verdict::Reproduced) {
        Verdict::Reproduced
    } else {
        Verdict::NotMeasured
    }
}

impl Claim {
    /// Replaces row `index` with a not-measured row saying why, and settles the claim's
    /// verdict again.
    pub fn withhold_row(&mut self, index: usize, why: String) {
        let scope = self.rows[index].scope.clone();
        self.rows[index] = Row::not_measured(&scope, why);
        self.verdict = overall(&self.rows);
        self.verdict_text = self.verdict.text();
    }

    pub fn new(
        id: &'static str,
        cite: &'static str,
        statement: impl Into<String>,
        threshold: impl Into<String>,
        rows: Vec<Row>,
    ) -> Claim {
        let verdict = overall(&rows);
        Claim {
            id,
            statement: statement.into(),
            cite,
            threshold: threshold.into(),
            swept: Vec::new(),
            rows,
            verdict,
            verdict_text: verdict.text(),
        }
    }

    /// Names the `[claims]` keys this claim's verdict depends on, the first being the one
    /// its rows' values are compared with.
    pub fn sweeping(mut self, t: &Thresholds, keys: &[&'static str]) -> Claim {
        self.swept = keys
            .iter()
            .map(|&key| {
                let th = t.get(key).unwrap_or_else(|| panic!("no threshold {key}"));
                Swept {
                    key,
                    value: th.value,
                    range: th.range,
                }
            })
            .collect();
        self
    }
}
