//! The claim checks on synthetic metric tables ([`world`]): a world built to look like the
//! paper's findings on both datasets reproduces every claim; turning one knob of one
//! dataset so that one finding no longer holds fails that claim on that dataset, and
//! only the claims that necessarily go with it.

mod world;

use super::*;
use world::{data, paper_world, Knobs, DATASETS, FASHION};

fn thresholds() -> Thresholds {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let t: Thresholds = v["claims"].clone().try_into().unwrap();
    t.check().unwrap();
    t
}

fn claims(knobs: &[Knobs; 2]) -> Vec<Claim> {
    check_all(&data(knobs), &thresholds())
}

fn find<'a>(all: &'a [Claim], id: &str) -> &'a Claim {
    all.iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no claim {id}"))
}

#[test]
fn a_world_like_the_papers_reproduces_every_claim_on_both_datasets() {
    let all = claims(&paper_world());
    assert_eq!(all.len(), CLAIMS.len());
    let ids: std::collections::BTreeSet<&str> = all.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), CLAIMS.len(), "claim ids are unique");
    for c in &all {
        assert_eq!(c.verdict, Verdict::Reproduced, "{c:#?}");
        for r in &c.rows {
            assert_eq!(r.verdict, Verdict::Reproduced, "{}: {r:#?}", c.id);
            assert!(r.robustness.is_some(), "{}", c.id);
        }
    }
    // Per dataset: every claim but the four that compare datasets or name one.
    let per_dataset = all.iter().filter(|c| c.rows.len() == 2).count();
    assert_eq!(per_dataset, CLAIMS.len() - 4);
    assert!(per_dataset >= 28);
}

/// A claim, the change of knobs that breaks it, and the claims that fail with it.
type Breaker = (&'static str, fn(&mut Knobs), &'static [&'static str]);

/// Every per-dataset claim and the knob that breaks it on Fashion-MNIST, with the claims
/// that necessarily fail with it.
fn breakers() -> Vec<Breaker> {
    vec![
        ("late-nodes-selective", |k| k.late_selective = 0.3, &[]),
        ("early-nodes-mixed", |k| k.mixed = 0.3, &[]),
        ("init-not-selective", |k| k.init_selective = 0.5, &[]),
        ("selectivity-needs-size", |k| k.small_selective = 0.95, &[]),
        (
            "error-falls-with-depth",
            |k| k.shallow_error = Some(0.0205),
            &[],
        ),
        ("saturation-depth", |k| k.accelerating = true, &[]),
        ("depth-does-not-degrade", |k| k.deep_error_factor = 2.0, &[]),
        (
            "error-falls-with-width",
            |k| k.width_terms = [0.005, 0.02, 0.01],
            &[],
        ),
        (
            "saturation-width",
            |k| k.width_terms = [0.0301, 0.03, 0.01],
            &[],
        ),
        ("first-layers-near-class-size", |k| k.high = 800.0, &[]),
        ("last-layer-near-one", |k| k.last = 3.0, &[]),
        // An even fall is not early, and its span grows with depth (its median, 3 layers,
        // is still within the sharp-transition threshold).
        (
            "transition-uneven",
            |k| k.even_fall = true,
            &["early-compression", "transition-similar"],
        ),
        // A slow fall never ends in the shallower networks, and late in the others.
        (
            "sharp-transition",
            |k| k.slow_fall = true,
            &["transition-similar", "early-compression"],
        ),
        ("transition-similar", |k| k.slow_net_depth = Some(10), &[]),
        ("stays-low-after-transition", |k| k.bump = true, &[]),
        ("monotone-transition", |k| k.rise = Some(5.0), &[]),
        ("early-compression", |k| k.late_transition = true, &[]),
        ("sharper-when-wider", |k| k.low_exp = 1.0, &[]),
        ("narrow-lower-early", |k| k.layer1_exp = Some(-0.5), &[]),
        ("systems-agree-later-layers", |k| k.later_spread = 0.05, &[]),
        ("spread-shrinks-with-layer", |k| k.layer1_equal = true, &[]),
        ("combined-best-first", |k| k.combined_margin = -0.01, &[]),
        ("systems-reach-network", |k| k.systems_gap = 0.02, &[]),
        ("layers-solve-task", |k| k.layer1_level = 0.6, &[]),
        ("late-layers-improve-more", |k| k.early_gain = 0.2, &[]),
        ("first-epoch-does-most", |k| k.epoch1_share = 0.4, &[]),
        ("continuous-poor-initially", |k| k.step_gap = 0.05, &[]),
        ("overlap-with-depth", |k| k.rising_spread = true, &[]),
        ("narrow-early-underperform", |k| k.discrete_slope = 0.0, &[]),
        (
            "later-accuracy-rises-with-width",
            |k| k.sys_width_slope = -1.0,
            &[],
        ),
        (
            "continuous-falls-with-width",
            |k| k.continuous_slope = -1.0,
            &[],
        ),
        (
            "later-layers-classify-better",
            |k| k.combined_margin = 0.1,
            &[],
        ),
        ("sigmoid-continuous-ahead", |k| k.sigmoid_gap = 0.05, &[]),
        ("sigmoid-discrete-emerges", |k| k.sigmoid_level = 0.5, &[]),
        ("noise-raises-perplexity", |k| k.sgd_factor = 0.5, &[]),
        (
            "noise-reduces-saturation",
            |k| k.sgd_selective_factor = 1.1,
            &[],
        ),
    ]
}

/// Changes one dataset's knobs; expects `id` (and `with`) to fail there, every other
/// claim to stay reproduced, and the other dataset to stay reproduced.
fn fails_only(dataset: usize, id: &str, change: impl Fn(&mut Knobs), with: &[&str]) {
    let mut knobs = paper_world();
    change(&mut knobs[dataset]);
    let all = claims(&knobs);
    for c in &all {
        if c.id == id || with.contains(&c.id) {
            assert_eq!(c.verdict, Verdict::NotReproduced, "{id}: {c:#?}");
            if c.rows.len() == 2 {
                assert_eq!(
                    c.rows[1 - dataset].verdict,
                    Verdict::Reproduced,
                    "{id}, other dataset: {c:#?}"
                );
                assert_eq!(
                    c.rows[dataset].verdict,
                    Verdict::NotReproduced,
                    "{id}: {c:#?}"
                );
            }
        } else {
            assert_eq!(
                c.verdict,
                Verdict::Reproduced,
                "only {id} should fail: {c:#?}"
            );
        }
    }
}

#[test]
fn each_per_dataset_claim_fails_when_its_finding_is_broken_on_one_dataset() {
    let breakers = breakers();
    for (id, change, with) in &breakers {
        fails_only(FASHION, id, change, with);
    }
    // Every per-dataset claim has its breaker.
    let all = claims(&paper_world());
    for c in all.iter().filter(|c| c.rows.len() == 2) {
        assert!(
            breakers.iter().any(|b| b.0 == c.id || b.2.contains(&c.id)),
            "{} has no test that fails it",
            c.id
        );
    }
}

#[test]
fn each_comparison_fails_when_its_finding_is_broken() {
    fails_only(FASHION, "gradual-for-fashion", |k| k.low = 10.0, &[]);
    fails_only(
        FASHION,
        "mnist-converges-earlier",
        |k| k.diverge_up_to = 0,
        &[],
    );
    fails_only(
        FASHION,
        "mnist-higher-accuracy",
        |k| k.acc_offset = 0.02,
        &[],
    );
    fails_only(0, "mnist-narrow-discrete-anomaly", |k| k.anomaly = 0.0, &[]);
}

#[test]
fn signed_claims_fail_in_the_wrong_direction() {
    // The sigmoid network's discrete system ahead of the continuous one: the gap is
    // small in absolute value, but in the wrong direction.
    fails_only(
        FASHION,
        "sigmoid-continuous-ahead",
        |k| k.sigmoid_gap = -0.005,
        &[],
    );
    // Systems above the network by more than the tolerance are fine ("or slightly
    // better"); below it by as much are not.
    let mut knobs = paper_world();
    knobs[FASHION].systems_gap = -0.02;
    let c = claims(&knobs);
    assert_eq!(
        find(&c, "systems-reach-network").verdict,
        Verdict::Reproduced
    );
}

#[test]
fn a_network_that_never_transitions_fails_the_transition_claims() {
    // Fashion-MNIST never gets below 5% of the class size (50): its fall ends at 60.
    let mut knobs = paper_world();
    knobs[FASHION].low = 60.0;
    knobs[FASHION].last = 55.0;
    let all = claims(&knobs);
    let transition = find(&all, "sharp-transition");
    assert_eq!(transition.rows[0].verdict, Verdict::Reproduced);
    assert_eq!(transition.rows[FASHION].verdict, Verdict::NotReproduced);
    assert!(
        transition.rows[FASHION]
            .measured
            .contains("infinitely many")
            && transition.rows[FASHION].measured.contains("never falls"),
        "{transition:#?}"
    );
    assert_eq!(transition.rows[FASHION].value, Some(f64::INFINITY));
}

#[test]
fn a_verdict_that_hinges_on_one_seed_or_a_threshold_is_fragile_and_says_where() {
    // Seed 1 ends at 1.2, seed 2 at 2.6: the mean, 1.9, passes the threshold of 2; without
    // seed 1 it would not.
    let mut knobs = paper_world();
    knobs[FASHION].last_seed2 = Some(2.6);
    let all = claims(&knobs);
    let c = find(&all, "last-layer-near-one");
    let fashion = &c.rows[FASHION];
    assert_eq!(fashion.verdict, Verdict::Reproduced);
    assert!((fashion.value.unwrap() - 1.9).abs() < 1e-9);
    let r = fashion.robustness.as_ref().unwrap();
    assert_eq!(r.class, RobustClass::Fragile, "{r:#?}");
    assert_eq!(r.seeds, "not reproduced without seed 1");
    // 1.9 lies inside the range [1.5, 3]: the grid's values 1.5 to 1.8 flip it.
    assert_eq!(
        r.thresholds,
        "flips for last_layer_perplexity_max from 1.5 to 1.8 (range [1.5, 3])"
    );
    // MNIST's 1.2 is below the whole range, with identical seeds: robust.
    let mnist = c.rows[0].robustness.as_ref().unwrap();
    assert_eq!(mnist.class, RobustClass::Robust, "{mnist:#?}");
    assert_eq!(mnist.seeds, "same verdict leaving out each of seeds 1, 2");
}

#[test]
fn without_networks_every_claim_is_not_measured_with_a_reason() {
    let data = ClaimData::new(
        &[],
        &[],
        DATASETS.iter().map(|d| d.to_string()).collect(),
        Default::default(),
    );
    for c in check_all(&data, &thresholds()) {
        assert_eq!(c.verdict, Verdict::NotMeasured, "{c:#?}");
        for r in &c.rows {
            assert!(!r.measured.is_empty());
            assert_eq!(
                r.robustness.as_ref().unwrap().class,
                RobustClass::NotMeasured
            );
        }
    }
}

#[test]
fn every_swept_threshold_is_a_configured_key_and_values_match_their_units() {
    let t = thresholds();
    for c in claims(&paper_world()) {
        for s in &c.swept {
            let th = t.get(s.key).unwrap();
            assert_eq!((s.value, s.range), (th.value, th.range), "{}", c.id);
        }
        // A row with a value is compared with the first swept threshold: the claim must
        // have one.
        if c.rows.iter().any(|r| r.value.is_some()) {
            assert!(!c.swept.is_empty(), "{} has values but no threshold", c.id);
        }
    }
}

#[test]
fn the_final_snapshot_variant_names_the_rows_it_changes() {
    // The final snapshots: the best ones, except that Fashion-MNIST's last layers have not
    // collapsed (perplexity 3 instead of 1.2).
    let (mut rows, mut fractions) = world::world(&paper_world());
    let finals: Vec<_> = rows
        .iter()
        .filter(|r| r.snapshot == "best")
        .map(|r| {
            let mut f = r.clone();
            f.snapshot = "final".into();
            if f.net.dataset == "fashion-mnist"
                && f.metric == "mean_perplexity"
                && f.layer == f.net.depth
                && f.net.depth >= 4
            {
                f.value = 3.0;
            }
            f
        })
        .collect();
    rows.extend(finals);
    let final_fractions: Vec<_> = fractions
        .iter()
        .filter(|f| f.snapshot == "best")
        .map(|f| {
            let mut f = f.clone();
            f.snapshot = "final".into();
            f
        })
        .collect();
    fractions.extend(final_fractions);
    let data = ClaimData::new(
        &rows,
        &fractions,
        DATASETS.iter().map(|d| d.to_string()).collect(),
        DATASETS.iter().map(|d| (d.to_string(), 1000.0)).collect(),
    );
    let mut paper = check_all(&data, &thresholds());
    let fin = check_all_kept(&data, &thresholds(), "final");
    add_variant(&mut paper, &fin, "final snapshot");
    let last = find(&paper, "last-layer-near-one");
    assert_eq!(
        last.rows[FASHION].verdict,
        Verdict::Reproduced,
        "the paper's protocol"
    );
    let v = &last.rows[FASHION].variants[0];
    assert_eq!(
        (v.protocol.as_str(), v.verdict, v.changes),
        ("final snapshot", Verdict::NotReproduced, true)
    );
    assert!(
        !last.rows[0].variants[0].changes,
        "MNIST's final snapshots are its best"
    );
    // Every row has its variant; only the rows that read the last layer's perplexity
    // change.
    let changed: Vec<&str> = paper
        .iter()
        .filter(|c| c.rows.iter().any(|r| r.variants.iter().any(|v| v.changes)))
        .map(|c| c.id)
        .collect();
    assert!(changed.contains(&"last-layer-near-one"), "{changed:?}");
    assert!(!changed.contains(&"combined-best-first"), "{changed:?}");
    assert!(paper
        .iter()
        .flat_map(|c| &c.rows)
        .all(|r| r.variants.len() == 1));
}

#[test]
fn a_twin_that_never_converged_is_named_in_the_sec6_rows() {
    let mut data = data(&paper_world());
    let sgd = crate::results::NetKey {
        optimizer: crate::model::settings::Optimizer::Sgd,
        ..crate::results::NetKey::new("fashion-mnist", 4, 100)
    };
    data.capped.insert(sgd, vec![1, 2]);
    let all = check_all(&data, &thresholds());
    for id in ["noise-raises-perplexity", "noise-reduces-saturation"] {
        let c = find(&all, id);
        assert!(
            c.rows[FASHION]
                .measured
                .contains("(sgd reached the epoch cap unconverged, seed 1, 2)"),
            "{c:#?}"
        );
        assert!(
            !c.rows[0].measured.contains("unconverged"),
            "MNIST's twin converged"
        );
    }
}
