//! Claims of a partial report (`--keep-going` after a failure): a row whose dataset lost a
//! unit (its data, a training, an analysis) is not measured, and says which unit failed
//! and where its log is, rather than a verdict over fewer networks than the text asks for.

use super::verdict::Claim;
use std::collections::BTreeMap;

/// The datasets a row's scope names: the dataset itself, or both sides of a comparison
/// ("mnist vs fashion-mnist").
fn scope_datasets(scope: &str) -> Vec<&str> {
    scope.split(" vs ").map(str::trim).collect()
}

/// Withholds the verdict of every row whose scope names a dataset in `lost` (dataset ->
/// why: the first failed unit and its log); returns how many rows it withheld.
pub fn withhold(claims: &mut [Claim], lost: &BTreeMap<String, String>) -> usize {
    let mut withheld = 0;
    for c in claims.iter_mut() {
        for i in 0..c.rows.len() {
            let why = scope_datasets(&c.rows[i].scope)
                .into_iter()
                .find_map(|d| lost.get(d));
            if let Some(why) = why {
                let why = format!("not measured: {why}");
                c.withhold_row(i, why);
                withheld += 1;
            }
        }
    }
    withheld
}

/// The dataset a unit id belongs to: the longest dataset name it starts with (`mnist-…`
/// and `fashion-mnist-…` are told apart), or the id itself if it is a dataset's.
pub fn dataset_of<'a>(id: &str, datasets: &'a [String]) -> Option<&'a str> {
    datasets
        .iter()
        .filter(|d| id == d.as_str() || id.starts_with(&format!("{d}-")))
        .max_by_key(|d| d.len())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{Row, Verdict};

    #[test]
    fn rows_of_a_lost_dataset_and_comparisons_with_it_are_withheld() {
        let mut claims = vec![
            Claim::new(
                "a",
                "Sec. 1",
                "s",
                "t",
                vec![
                    Row::measured("mnist", "m".into(), Some(1.0), false),
                    Row::measured("fashion-mnist", "f".into(), Some(1.0), true),
                ],
            ),
            Claim::new(
                "b",
                "Sec. 2",
                "s",
                "t",
                vec![Row::measured(
                    "mnist vs fashion-mnist",
                    "c".into(),
                    None,
                    true,
                )],
            ),
        ];
        assert_eq!(claims[0].verdict, Verdict::NotReproduced);
        let lost = BTreeMap::from([(
            "mnist".to_string(),
            "train/mnist-3x100-s1 failed (log: x.log)".to_string(),
        )]);
        assert_eq!(withhold(&mut claims, &lost), 2);
        assert_eq!(claims[0].rows[0].verdict, Verdict::NotMeasured);
        assert!(claims[0].rows[0].measured.contains("x.log"));
        // The remaining row decides the claim now.
        assert_eq!(claims[0].verdict, Verdict::Reproduced);
        assert_eq!(claims[0].rows[1].verdict, Verdict::Reproduced);
        assert_eq!(claims[1].verdict, Verdict::NotMeasured);
    }

    #[test]
    fn unit_ids_map_to_the_longest_dataset_name() {
        let ds = vec!["mnist".to_string(), "fashion-mnist".to_string()];
        assert_eq!(
            dataset_of("fashion-mnist-6x100-relu-mse-s1", &ds),
            Some("fashion-mnist")
        );
        assert_eq!(
            dataset_of("mnist-6x100-relu-mse-s1@best", &ds),
            Some("mnist")
        );
        assert_eq!(dataset_of("mnist", &ds), Some("mnist"));
        assert_eq!(dataset_of("fig7", &ds), None);
    }
}
