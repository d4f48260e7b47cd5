//! The claims on real data: the quick profile of the repository's pipeline.toml, run end
//! to end on the mirrored MNIST and Fashion-MNIST, must give every claim row a verdict
//! and a robustness class, the verdicts named below, and per-seed tables from which a
//! verdict's value can be recomputed independently.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The repository's pipeline.toml, its folders pointed back at the repository.
fn quick_project() -> TestProject {
    let p = TestProject::new("");
    let text = std::fs::read_to_string(repo_root().join("pipeline.toml")).unwrap();
    let root = repo_root();
    let text = text
        .replacen(
            "stages = \"stages\"",
            &format!("stages = {:?}", root.join("stages").display().to_string()),
            1,
        )
        .replacen(
            "templates = \"report\"",
            &format!(
                "templates = {:?}",
                root.join("report").display().to_string()
            ),
            1,
        );
    std::fs::write(p.path().join("pipeline.toml"), text).unwrap();
    p
}

fn row<'a>(claims: &'a [Value], id: &str, scope: &str) -> &'a Value {
    claims
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no claim {id}"))["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scope"] == scope)
        .unwrap_or_else(|| panic!("{id} has no row for {scope}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// (dataset, depth, width) of a paper-default network label, "mnist 4x100 relu-mse adam".
fn paper_net(label: &str) -> Option<(String, usize, usize)> {
    let parts: Vec<&str> = label.split(' ').collect();
    if parts.get(2) != Some(&"relu-mse") || parts.get(3) != Some(&"adam") {
        return None;
    }
    let (d, w) = parts[1].split_once('x')?;
    Some((parts[0].to_string(), d.parse().ok()?, w.parse().ok()?))
}

#[test]
fn the_quick_profile_gives_every_claim_row_a_verdict_and_a_robustness_class() {
    let p = quick_project();
    p.repro()
        .args(["run", "all", "--profile", "quick", "--data-mirror"])
        .arg(shared_datasets())
        .assert()
        .success();
    let out = p.path().join("report/out");
    let claims: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("results/claims.json")).unwrap())
            .unwrap();
    // At least 28 rows per dataset, each with a robustness class; one seed leaves
    // nothing to resample, so no row can be robust.
    for ds in ["mnist", "fashion-mnist"] {
        let rows: Vec<&Value> = claims
            .iter()
            .flat_map(|c| c["rows"].as_array().unwrap())
            .filter(|r| r["scope"] == ds)
            .collect();
        assert!(rows.len() >= 28, "{ds}: {} rows", rows.len());
        for r in rows {
            let class = r["robustness"]["class"].as_str().unwrap();
            assert!(["fragile", "not-measured"].contains(&class), "{r:#}");
            if class == "not-measured" && r["verdict"] != "not-measured" {
                assert!(r["robustness"]["seeds"]
                    .as_str()
                    .unwrap()
                    .starts_with("one seed"));
            }
        }
    }
    // Verdicts far from their thresholds after 5 epochs on 20,000 samples (the rate the
    // lr stage chooses from the quick grid is 0.003).
    let verdict = |id: &str, scope: &str| {
        row(&claims, id, scope)["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for ds in ["mnist", "fashion-mnist"] {
        assert_eq!(verdict("init-not-selective", ds), "reproduced");
        assert_eq!(verdict("error-falls-with-depth", ds), "reproduced");
        assert_eq!(verdict("narrow-lower-early", ds), "reproduced");
        // Five epochs are far from a collapse onto one pattern per class.
        assert_eq!(verdict("last-layer-near-one", ds), "not-reproduced");
    }
    assert_eq!(verdict("early-nodes-mixed", "mnist"), "reproduced");
    assert_eq!(
        verdict("later-accuracy-rises-with-width", "mnist"),
        "reproduced"
    );
    // Fashion-MNIST's deep networks never fall to 5% of the class size in five epochs.
    assert_eq!(
        verdict("sharp-transition", "fashion-mnist"),
        "not-reproduced"
    );
    assert_eq!(
        verdict("mnist-higher-accuracy", "mnist vs fashion-mnist"),
        "reproduced"
    );
    // Only Fashion-MNIST trains a sigmoid network and an SGD twin in this profile.
    // The final snapshots are analysed too: every row has its verdict under that protocol.
    for c in &claims {
        for r in c["rows"].as_array().unwrap() {
            assert_eq!(r["variants"][0]["protocol"], "final snapshot", "{r:#}");
        }
    }
    assert_eq!(verdict("sigmoid-discrete-emerges", "mnist"), "not-measured");
    assert_eq!(
        verdict("noise-raises-perplexity", "fashion-mnist"),
        "reproduced"
    );

    // last-layer-near-one recomputed from metrics_per_seed.csv: the median over the
    // paper-default networks at least 4 deep and 100 wide of the last hidden layer's
    // best test perplexity, mean over seeds.
    let csv = std::fs::read_to_string(out.join("results/metrics_per_seed.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "network,training,seed,snapshot,layer,system,split,metric,value"
    );
    let mut per_net: BTreeMap<(String, usize, usize), Vec<f64>> = BTreeMap::new();
    for line in lines {
        // The training label is quoted and holds commas: split around it.
        let (net, rest) = line.split_once(",\"").unwrap();
        let rest = &rest[rest.find("\",").unwrap() + 2..];
        let f: Vec<&str> = rest.split(',').collect();
        let Some((ds, depth, width)) = paper_net(net) else {
            continue;
        };
        if f[1] == "best"
            && f[2] == depth.to_string()
            && f[3] == "patterns"
            && f[4] == "test"
            && f[5] == "mean_perplexity"
            && depth >= 4
            && width >= 100
        {
            per_net
                .entry((ds, depth, width))
                .or_default()
                .push(f[6].parse().unwrap());
        }
    }
    for ds in ["mnist", "fashion-mnist"] {
        let values: Vec<f64> = per_net
            .iter()
            .filter(|(k, _)| k.0 == ds)
            .map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64)
            .collect();
        assert!(!values.is_empty());
        let claimed = row(&claims, "last-layer-near-one", ds)["value"]
            .as_f64()
            .unwrap();
        assert!((median(values) - claimed).abs() < 1e-9 * claimed, "{ds}");
    }

    // The node shares per seed say which level they were computed at.
    let nodes = std::fs::read_to_string(out.join("results/node_shares_per_seed.csv")).unwrap();
    assert!(nodes.starts_with("network,training,seed,snapshot,layer,nodes,selective_share,mixed_share,selective_fraction\n"));
    assert!(nodes.lines().count() > 10);

    // The figure has one mark per row with a value; the report lists what it leaves out.
    let with_value = claims
        .iter()
        .filter(|c| !c["swept"].as_array().unwrap().is_empty())
        .flat_map(|c| c["rows"].as_array().unwrap())
        .filter(|r| r["value"].is_number() || r["value"].is_string())
        .count();
    let svg = std::fs::read_to_string(out.join("figures/claims.svg")).unwrap();
    assert_eq!(
        svg.matches("<circle").count() + svg.matches("<path").count(),
        with_value
    );
    // Every figure of the real quick run keeps its points inside and its legends outside.
    for id in repro::stages::figures::FIGURES {
        let problems = layout_problems(&out.join("figures"), id);
        assert!(problems.is_empty(), "{id}: {problems:#?}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("### Statements considered but not measured"));
    assert!(md.contains("| `last-layer-near-one`: "));

    // Another run's claims as a protocol variant ([report] variants): a copy of this run's
    // claims.json with one verdict flipped stands for a run made another way. Only the
    // report reruns, and exactly the flipped row is marked as changing.
    let mut other = claims.clone();
    let flipped = other
        .iter_mut()
        .find(|c| c["id"] == "last-layer-near-one")
        .unwrap()["rows"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["scope"] == "mnist")
        .unwrap();
    let was = flipped["verdict"].as_str().unwrap().to_string();
    let now = if was == "reproduced" {
        "not-reproduced"
    } else {
        "reproduced"
    };
    flipped["verdict"] = Value::from(now);
    flipped["measured"] = Value::from("as the other run measured it");
    std::fs::write(
        p.path().join("other-claims.json"),
        serde_json::to_string(&other).unwrap(),
    )
    .unwrap();
    let config = p.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let none = "[profiles.quick.report]\nvariants = []\n";
    assert!(text.contains(none), "the quick profile sets no variants");
    std::fs::write(
        &config,
        text.replacen(none, "[profiles.quick.report]\nvariants = [{ protocol = \"other run\", description = \"the same claims from another run\", claims = \"other-claims.json\" }]\n", 1),
    )
    .unwrap();
    p.repro()
        .args(["run", "all", "--profile", "quick", "--data-mirror"])
        .arg(shared_datasets())
        .assert()
        .success()
        .stderr(predicates::str::contains("1 unit(s) run"));
    let with_variant: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("results/claims.json")).unwrap())
            .unwrap();
    let changing: Vec<(String, String)> = with_variant
        .iter()
        .flat_map(|c| {
            c["rows"].as_array().unwrap().iter().filter_map(move |r| {
                let v = r["variants"]
                    .as_array()?
                    .iter()
                    .find(|v| v["protocol"] == "other run")?;
                (v["changes"] == true).then(|| {
                    (
                        c["id"].as_str().unwrap().to_string(),
                        r["scope"].as_str().unwrap().to_string(),
                    )
                })
            })
        })
        .collect();
    assert_eq!(
        changing,
        [("last-layer-near-one".to_string(), "mnist".to_string())]
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("*other run*: the same claims from another run"));
    // A variant file that is not a claims table stops the run before anything runs.
    std::fs::write(p.path().join("other-claims.json"), "{}").unwrap();
    p.repro()
        .args(["run", "all", "--profile", "quick", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("report.variants[0].claims"));
}
