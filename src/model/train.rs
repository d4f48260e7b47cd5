//! The training loop (paper Sec. 3.1): mini-batch Adam (or SGD) on MSE against one-hot
//! targets (or softmax cross-entropy), a stopping rule ([`super::stopping`]), the
//! smallest-validation-error epoch kept as `best`, snapshots.

use super::backprop::Backprop;
use super::mlp::{Arch, Mlp};
use super::settings::{Loss, TrainSettings};
use super::shuffle::epoch_order;
use super::stopping::{self, Stopped};
use super::update::Update;
use serde::Serialize;
use std::time::Instant;
use tch::{Device, Kind, Reduction, Tensor};
use thiserror::Error;

/// Training data on the training device; labels are int64 class indices.
pub struct TrainData {
    pub x_train: Tensor,
    pub y_train: Tensor,
    pub x_val: Tensor,
    pub y_val: Tensor,
}

#[derive(Debug, Error)]
pub enum TrainError {
    #[error("the loss became {value} in epoch {epoch}")]
    NotFinite { epoch: usize, value: f64 },
    #[error("saving snapshot `{label}`: {message}")]
    Snapshot { label: String, message: String },
    #[error("the learning rate is still `select`: the lr stage's choice was not applied")]
    RateNotChosen,
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// One row of the training log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Optimiser updates done so far.
    pub step: usize,
    /// Mean batch loss over the epoch (epoch 0: the loss of the initial network on `train`).
    pub train_loss: f64,
    /// Accuracy on the epoch's batches as they were seen (epoch 0: of the initial network).
    pub train_acc: f64,
    pub val_acc: f64,
    pub seconds: f64,
}

pub struct TrainOutcome {
    pub log: Vec<EpochLog>,
    pub best_epoch: usize,
    pub best_step: usize,
    pub best_val_acc: f64,
    /// The network holding the best weights.
    pub best: Mlp,
    /// Epochs trained, including any after the stop that later snapshots asked for.
    pub epochs_run: usize,
    /// Epochs (before the stop) at which the convergence rule saw the training loss rise
    /// over its window: the run was unstable there, and did not stop.
    pub unstable_epochs: Vec<usize>,
    /// Where and why the stopping rule (or the cap) ended training: `best` is chosen
    /// from the epochs up to here, and the `final` snapshot is this epoch's network.
    pub stopped: Stopped,
}

/// A snapshot is handed to this as soon as it is taken: (label, epoch, step, tensors).
pub type SnapshotSink<'a> =
    dyn FnMut(&str, usize, usize, &[(String, Tensor)]) -> Result<(), String> + 'a;

/// Called after every epoch with (epoch, max_epochs, log row).
pub type EpochCallback<'a> = dyn FnMut(usize, usize, &EpochLog) + 'a;

fn loss_of(loss: Loss, logits: &Tensor, labels: &Tensor, classes: i64) -> Tensor {
    match loss {
        Loss::Mse => logits.mse_loss(
            &labels.onehot(classes).to_kind(Kind::Float),
            Reduction::Mean,
        ),
        Loss::Ce => logits.cross_entropy_for_logits(labels),
    }
}

/// Accuracy of `model` on a split, in batches, without gradients.
pub fn accuracy(model: &Mlp, x: &Tensor, y: &Tensor) -> f64 {
    let (correct, _) = correct_and_loss(model, x, y, None);
    correct as f64 / x.size()[0].max(1) as f64
}

fn correct_and_loss(model: &Mlp, x: &Tensor, y: &Tensor, loss: Option<Loss>) -> (i64, f64) {
    tch::no_grad(|| {
        let n = x.size()[0];
        let mut correct = 0i64;
        let mut loss_sum = 0.0;
        let chunk = 10_000;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let xb = x.narrow(0, start, len);
            let yb = y.narrow(0, start, len);
            let logits = model.forward(&xb);
            correct += logits
                .argmax(1, false)
                .eq_tensor(&yb)
                .sum(Kind::Int64)
                .int64_value(&[]);
            if let Some(l) = loss {
                loss_sum += loss_of(l, &logits, &yb, model.arch.classes as i64).double_value(&[])
                    * len as f64;
            }
            start += len;
        }
        (correct, loss_sum / n.max(1) as f64)
    })
}

/// Trains a network from a fresh initialisation seeded by `settings.seed`. The same seed,
/// device and thread count give bit-identical weights.
pub fn train(
    arch: Arch,
    settings: &TrainSettings,
    data: &TrainData,
    device: Device,
    snapshot: &mut SnapshotSink,
    on_epoch: &mut EpochCallback,
) -> Result<TrainOutcome, TrainError> {
    tch::manual_seed(settings.seed as i64);
    let model = Mlp::new(arch, device);
    let mut backprop = Backprop::new(&model, settings.loss, &data.y_train, device);
    let lr = settings.lr.fixed().ok_or(TrainError::RateNotChosen)?;
    let mut update = Update::new(settings.optimizer, lr, &backprop.params);
    let n = data.x_train.size()[0] as usize;
    let batch = settings.batch_size.max(1);
    let save = |label: &str, epoch: usize, step: usize, model: &Mlp, sink: &mut SnapshotSink| {
        sink(label, epoch, step, &model.named_copy()).map_err(|message| TrainError::Snapshot {
            label: label.to_string(),
            message,
        })
    };

    let clock = Instant::now();
    save("init", 0, 0, &model, snapshot)?;
    let (correct0, loss0) =
        correct_and_loss(&model, &data.x_train, &data.y_train, Some(settings.loss));
    let mut log = vec![EpochLog {
        epoch: 0,
        step: 0,
        train_loss: loss0,
        train_acc: correct0 as f64 / n.max(1) as f64,
        val_acc: accuracy(&model, &data.x_val, &data.y_val),
        seconds: clock.elapsed().as_secs_f64(),
    }];
    on_epoch(0, settings.max_epochs, &log[0]);
    let mut best = (log[0].val_acc, 0usize, 0usize, model.named_copy());
    let mut step = 0usize;
    let mut epochs_run = 0;
    let mut stopped: Option<Stopped> = None;
    let mut unstable_epochs = Vec::new();
    let last_snapshot = settings.snapshot_epochs.iter().copied().max().unwrap_or(0);

    for epoch in 1..=settings.max_epochs {
        let clock = Instant::now();
        let order = Tensor::from_slice(&epoch_order(n, settings.seed, epoch)).to_device(device);
        // Sums stay on the device: reading them every step would synchronise a GPU.
        let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
        let mut correct = Tensor::zeros([], (Kind::Int64, device));
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let idx = order.narrow(0, start as i64, len as i64);
            tch::no_grad(|| {
                backprop.step(
                    &data.x_train,
                    &data.y_train,
                    &idx,
                    &mut loss_sum,
                    &mut correct,
                );
                update.apply(&mut backprop.params, &backprop.grads);
            });
            step += 1;
            if epoch == 1 && settings.snapshot_steps.contains(&step) {
                backprop.write_to(&model);
                save(&format!("step-{step}"), 0, step, &model, snapshot)?;
            }
            start += len;
        }
        backprop.write_to(&model);
        let train_loss = loss_sum.double_value(&[]) / n as f64;
        if !train_loss.is_finite() {
            return Err(TrainError::NotFinite {
                epoch,
                value: train_loss,
            });
        }
        let val_acc = accuracy(&model, &data.x_val, &data.y_val);
        let row = EpochLog {
            epoch,
            step,
            train_loss,
            train_acc: correct.int64_value(&[]) as f64 / n as f64,
            val_acc,
            seconds: clock.elapsed().as_secs_f64(),
        };
        on_epoch(epoch, settings.max_epochs, &row);
        log.push(row);
        epochs_run = epoch;
        if settings.snapshot_epochs.contains(&epoch) {
            save(&format!("epoch-{epoch}"), epoch, step, &model, snapshot)?;
        }
        if stopped.is_none() {
            // Lowest validation error wins; ties go to the earliest epoch.
            if val_acc > best.0 {
                best = (val_acc, epoch, step, model.named_copy());
            }
            let losses: Vec<f64> = log.iter().map(|r| r.train_loss).collect();
            if stopping::rise(&settings.stop, &losses, epoch).is_some() {
                unstable_epochs.push(epoch);
            }
            stopped = stopping::check(&settings.stop, &losses, epoch, best.1);
            if stopped.is_none() && epoch == settings.max_epochs {
                stopped = Some(stopping::at_cap(&settings.stop, &losses, epoch));
            }
            if stopped.is_some() {
                save("final", epoch, step, &model, snapshot)?;
            }
        }
        // Epochs after the stop only serve snapshots asked for beyond it: they never
        // change `best` or `final`, so the same rule gives the same networks whatever
        // the snapshot schedule.
        if stopped.is_some() && epoch >= last_snapshot {
            break;
        }
    }
    let (best_val_acc, best_epoch, best_step, weights) = best;
    let mut best_model = Mlp::new(arch, device);
    best_model
        .load_named(&weights)
        .expect("best weights come from the same architecture");
    snapshot("best", best_epoch, best_step, &weights).map_err(|message| TrainError::Snapshot {
        label: "best".into(),
        message,
    })?;
    Ok(TrainOutcome {
        log,
        best_epoch,
        best_step,
        best_val_acc,
        best: best_model,
        epochs_run,
        unstable_epochs,
        // The loop sets it by `max_epochs` at the latest; only `max_epochs = 0` gets here
        // without it.
        stopped: stopped.unwrap_or_else(|| stopping::at_cap(&settings.stop, &[], 0)),
    })
}
