//! When a stopping rule ends training: a pure function of the training log so far, kept
//! apart from the loop so that it can be tested on hand-made loss curves.

use super::settings::Stop;

/// Why training ended, as the training log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    pub epoch: usize,
    /// Whether the rule fired (false: the `max_epochs` cap ended training first).
    pub by_rule: bool,
    pub reason: String,
}

/// Whether `rule` ends training after `epoch`. `train_loss[e]` is epoch `e`'s mean
/// training loss (index 0: the initial network's), `best_epoch` the epoch with the
/// smallest validation error so far.
pub fn check(rule: &Stop, train_loss: &[f64], epoch: usize, best_epoch: usize) -> Option<Stopped> {
    let fired = |reason: String| {
        Some(Stopped {
            epoch,
            by_rule: true,
            reason,
        })
    };
    match *rule {
        Stop::Epochs => None,
        Stop::Patience { patience } => (epoch - best_epoch >= patience).then(|| Stopped {
            epoch,
            by_rule: true,
            reason: format!(
                "no better validation error for {patience} epochs (best at epoch {best_epoch})"
            ),
        }),
        Stop::Converged { window, tolerance } => {
            let fall = relative_fall(train_loss, epoch, window)?;
            // A rise is not convergence: a loss that climbs over the window (a step too
            // large, a divergence starting) must not stop training as "converged".
            if (0.0..tolerance).contains(&fall) {
                fired(format!(
                    "converged: the mean training loss of the last {window} epochs is {:.2}% below that of the {window} before (< {}%)",
                    100.0 * fall,
                    100.0 * tolerance
                ))
            } else {
                None
            }
        }
    }
}

/// Why training ended when the cap came first.
pub fn at_cap(rule: &Stop, train_loss: &[f64], max_epochs: usize) -> Stopped {
    let reason = match *rule {
        Stop::Epochs => format!("trained the fixed {max_epochs} epochs"),
        Stop::Patience { .. } => format!("reached max_epochs = {max_epochs}"),
        Stop::Converged { window, .. } => match relative_fall(train_loss, max_epochs, window) {
            Some(fall) if fall < 0.0 => format!(
                "unstable: not converged by max_epochs = {max_epochs}: the mean training loss of the last {window} epochs was {:.2}% above that of the {window} before",
                -100.0 * fall
            ),
            Some(fall) => format!(
                "not converged by max_epochs = {max_epochs}: the mean training loss of the last {window} epochs was still {:.2}% below that of the {window} before",
                100.0 * fall
            ),
            None => format!(
                "reached max_epochs = {max_epochs} before two full {window}-epoch windows"
            ),
        },
    };
    Stopped {
        epoch: max_epochs,
        by_rule: false,
        reason,
    }
}

/// How much the mean training loss of the `window` epochs up to `epoch` rose above that
/// of the `window` epochs before them (a fraction), under the convergence rule; None if
/// it did not rise or the rule is another.
pub fn rise(rule: &Stop, train_loss: &[f64], epoch: usize) -> Option<f64> {
    match *rule {
        Stop::Converged { window, .. } => {
            let fall = relative_fall(train_loss, epoch, window)?;
            (fall < 0.0).then_some(-fall)
        }
        _ => None,
    }
}

/// How much lower the mean training loss of the `window` epochs up to `epoch` is than
/// that of the `window` epochs before them, as a fraction of the earlier mean; None
/// before two full windows of trained epochs (epoch 0, the initial network, never
/// counts).
fn relative_fall(train_loss: &[f64], epoch: usize, window: usize) -> Option<f64> {
    if window == 0 || epoch < 2 * window || train_loss.len() <= epoch {
        return None;
    }
    let mean = |from: usize| train_loss[from..from + window].iter().sum::<f64>() / window as f64;
    let (earlier, recent) = (mean(epoch + 1 - 2 * window), mean(epoch + 1 - window));
    Some((earlier - recent) / earlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_compares_the_means_of_two_windows() {
        let rule = Stop::Converged {
            window: 2,
            tolerance: 0.05,
        };
        // Epoch 0 is the initial network and never counts. Windows of epochs (1,2) vs
        // (3,4): means 0.9 and 0.6, a fall of 33%; (2,3) vs (4,5): 0.75 and 0.56, 25%;
        // (3,4) vs (5,6): 0.6 and 0.58, 3.3%.
        let loss = [9.0, 1.0, 0.8, 0.7, 0.5, 0.6, 0.56];
        assert_eq!(check(&rule, &loss, 3, 3), None, "no two full windows yet");
        assert_eq!(check(&rule, &loss, 4, 4), None, "fell 33%");
        assert_eq!(check(&rule, &loss, 5, 5), None, "fell 25%");
        let stopped = check(&rule, &loss, 6, 4).expect("fell 3.3%, under 5%");
        assert_eq!((stopped.epoch, stopped.by_rule), (6, true));
        assert!(stopped.reason.contains("3.33%"), "{}", stopped.reason);
    }

    #[test]
    fn a_rising_loss_never_counts_as_converged_and_is_recorded() {
        let rule = Stop::Converged {
            window: 2,
            tolerance: 0.05,
        };
        // (3,4) vs (5,6): means 0.5 and 0.6, a rise of 20%: a smaller "fall" than the
        // tolerance, but not convergence.
        let loss = [9.0, 1.0, 0.8, 0.5, 0.5, 0.6, 0.6];
        assert_eq!(check(&rule, &loss, 6, 4), None);
        let r = rise(&rule, &loss, 6).unwrap();
        assert!((r - 0.2).abs() < 1e-12, "{r}");
        assert_eq!(rise(&rule, &[9.0, 1.0, 0.8, 0.7, 0.5], 4), None, "fell");
        assert_eq!(rise(&Stop::Epochs, &loss, 6), None);
        // At the cap, the reason says it was unstable.
        let capped = at_cap(&rule, &loss, 6);
        assert!(capped.reason.starts_with("unstable: "), "{}", capped.reason);
        assert!(capped.reason.contains("20.00% above"), "{}", capped.reason);
    }

    #[test]
    fn patience_counts_epochs_since_the_best() {
        let rule = Stop::Patience { patience: 3 };
        assert!(check(&rule, &[], 5, 3).is_none());
        assert_eq!(check(&rule, &[], 6, 3).unwrap().epoch, 6);
        assert!(check(&Stop::Epochs, &[1.0; 10], 9, 0).is_none());
    }

    #[test]
    fn the_cap_says_how_far_from_convergence_training_was() {
        let rule = Stop::Converged {
            window: 2,
            tolerance: 0.01,
        };
        // (1,2) vs (3,4): 0.45 vs 0.15, still 66.67% lower.
        let capped = at_cap(&rule, &[1.0, 0.5, 0.4, 0.2, 0.1], 4);
        assert!(!capped.by_rule);
        assert!(capped.reason.contains("66.67%"), "{}", capped.reason);
    }
}
