//! One training step of the plain MLP by hand: the forward pass keeps every layer's
//! pre-activations and outputs in buffers allocated once, the backward pass applies the
//! chain rule layer by layer into one flat gradient buffer, and no autograd graph is built.
//!
//! Why not autograd: for networks this small (100-node layers, batches of 128) the cost of
//! a step is dominated by per-operation overhead (graph nodes, fresh allocations, one
//! optimiser call per parameter tensor), not by the matrix products. Doing the arithmetic
//! by hand into preallocated buffers leaves little but the products.
//!
//! The parameters live in one flat buffer (`params`), laid out as the network names them
//! (`hidden.0.weight`, `hidden.0.bias`, ..., `output.weight`, `output.bias`), with the
//! gradients in a second buffer of the same layout, so that the optimiser
//! ([`super::update`]) updates all of them in one pass.
//!
//! The arithmetic is that of autograd on `Mlp::forward` followed by the loss:
//!
//! | quantity | formula |
//! |---|---|
//! | `z_l` | `a_{l-1} W_lᵀ + b_l` (`a_0` is the batch) |
//! | `a_l` | `relu(z_l)` or `sigmoid(z_l)` |
//! | MSE loss, its gradient | `mean((y - t)²)` over batch and classes; `2 (y - t) / (B C)` |
//! | CE loss, its gradient | `-mean(Σ t log softmax(y))` over the batch; `(softmax(y) - t) / B` |
//! | `∂W_l`, `∂b_l` | `δ_lᵀ a_{l-1}`, column sums of `δ_l` |
//! | `δ_{l-1}` | `(δ_l W_l) ⊙ f'(z_{l-1})`; relu' is 1 where `z > 0`, sigmoid' is `a (1 - a)` |

use super::mlp::{Arch, Mlp};
use super::settings::{Activation, Loss};
use tch::{Device, Kind, Tensor};

/// One layer's weight and bias as views into a flat buffer.
struct LayerViews {
    weight: Tensor,
    bias: Tensor,
}

/// Per-batch buffers for one batch size (the last batch of an epoch is usually smaller).
struct Buffers {
    rows: i64,
    x: Tensor,
    targets: Tensor,
    labels: Tensor,
    /// Pre-activations and outputs of each hidden layer, `[rows, width]`.
    z: Vec<Tensor>,
    a: Vec<Tensor>,
    /// Gradients of the loss with respect to each hidden layer's outputs and
    /// pre-activations.
    da: Vec<Tensor>,
    dz: Vec<Tensor>,
    logits: Tensor,
    dlogits: Tensor,
}

impl Buffers {
    fn new(arch: &Arch, rows: i64, device: Device) -> Buffers {
        let f = (Kind::Float, device);
        let hidden = |_| Tensor::zeros([rows, arch.width as i64], f);
        Buffers {
            rows,
            x: Tensor::zeros([rows, arch.inputs as i64], f),
            targets: Tensor::zeros([rows, arch.classes as i64], f),
            labels: Tensor::zeros([rows], (Kind::Int64, device)),
            z: (0..arch.depth).map(hidden).collect(),
            a: (0..arch.depth).map(hidden).collect(),
            da: (0..arch.depth).map(hidden).collect(),
            dz: (0..arch.depth).map(hidden).collect(),
            logits: Tensor::zeros([rows, arch.classes as i64], f),
            dlogits: Tensor::zeros([rows, arch.classes as i64], f),
        }
    }
}

/// The state of hand-written training: flat parameters and gradients and the buffers.
pub struct Backprop {
    arch: Arch,
    loss: Loss,
    /// Every parameter, in the network's naming order.
    pub params: Tensor,
    /// The gradient of the last step's mean batch loss, same layout as `params`.
    pub grads: Tensor,
    weights: Vec<LayerViews>,
    gradients: Vec<LayerViews>,
    /// One-hot targets of the whole training split, gathered per batch like the images.
    onehot: Tensor,
    buffers: Vec<Buffers>,
}

/// Views of consecutive `[out, in]` weights and `[out]` biases in a flat buffer, in the
/// order of `shapes`.
fn views(flat: &Tensor, shapes: &[(i64, i64)]) -> Vec<LayerViews> {
    let mut offset = 0;
    shapes
        .iter()
        .map(|&(out, inp)| {
            let weight = flat.narrow(0, offset, out * inp).view([out, inp]);
            offset += out * inp;
            let bias = flat.narrow(0, offset, out);
            offset += out;
            LayerViews { weight, bias }
        })
        .collect()
}

/// `(out, in)` of every layer, the output layer last.
fn layer_shapes(arch: &Arch) -> Vec<(i64, i64)> {
    let mut shapes = Vec::with_capacity(arch.depth + 1);
    let mut fan_in = arch.inputs as i64;
    for _ in 0..arch.depth {
        shapes.push((arch.width as i64, fan_in));
        fan_in = arch.width as i64;
    }
    shapes.push((arch.classes as i64, fan_in));
    shapes
}

impl Backprop {
    /// Starts from `model`'s parameters; `train_labels` are the whole training split's
    /// class indices (int64).
    pub fn new(model: &Mlp, loss: Loss, train_labels: &Tensor, device: Device) -> Backprop {
        let arch = model.arch;
        let shapes = layer_shapes(&arch);
        let count: i64 = shapes.iter().map(|(o, i)| o * i + o).sum();
        let params = Tensor::zeros([count], (Kind::Float, device));
        let grads = Tensor::zeros([count], (Kind::Float, device));
        let weights = views(&params, &shapes);
        let gradients = views(&grads, &shapes);
        tch::no_grad(|| {
            for (view, (w, b)) in weights.iter().zip(model.layers()) {
                view.weight.shallow_clone().copy_(w);
                view.bias.shallow_clone().copy_(b);
            }
        });
        let onehot = train_labels
            .to_device(device)
            .onehot(arch.classes as i64)
            .to_kind(Kind::Float);
        Backprop {
            arch,
            loss,
            params,
            grads,
            weights,
            gradients,
            onehot,
            buffers: Vec::new(),
        }
    }

    /// Copies the current parameters into `model` (for evaluation and snapshots).
    pub fn write_to(&self, model: &Mlp) {
        tch::no_grad(|| {
            for (view, (w, b)) in self.weights.iter().zip(model.layers()) {
                w.shallow_clone().copy_(&view.weight);
                b.shallow_clone().copy_(&view.bias);
            }
        });
    }

    /// Forward and backward for the training rows `index` of `x_train` and `y_train`:
    /// leaves the gradient of the mean batch loss in `grads`, and adds the batch's summed
    /// loss (mean loss times rows) to `loss_sum` and its correct predictions to `correct`.
    pub fn step(
        &mut self,
        x_train: &Tensor,
        y_train: &Tensor,
        index: &Tensor,
        loss_sum: &mut Tensor,
        correct: &mut Tensor,
    ) {
        let rows = index.size()[0];
        let slot = match self.buffers.iter().position(|b| b.rows == rows) {
            Some(i) => i,
            None => {
                let device = self.params.device();
                self.buffers.push(Buffers::new(&self.arch, rows, device));
                self.buffers.len() - 1
            }
        };
        let buf = &self.buffers[slot];
        let _ = x_train.index_select_out(&buf.x, 0, index);
        let _ = self.onehot.index_select_out(&buf.targets, 0, index);
        let _ = y_train.index_select_out(&buf.labels, 0, index);
        let depth = self.arch.depth;

        // Forward.
        for l in 0..depth {
            let input = if l == 0 { &buf.x } else { &buf.a[l - 1] };
            let layer = &self.weights[l];
            let _ = layer.bias.addmm_out(&buf.z[l], input, &layer.weight.tr());
            let _ = match self.arch.activation {
                Activation::Relu => buf.z[l].clamp_min_out(&buf.a[l], 0.0),
                Activation::Sigmoid => buf.z[l].sigmoid_out(&buf.a[l]),
            };
        }
        let last = if depth == 0 {
            &buf.x
        } else {
            &buf.a[depth - 1]
        };
        let out = &self.weights[depth];
        let _ = out.bias.addmm_out(&buf.logits, last, &out.weight.tr());

        // The loss and its gradient with respect to the logits.
        let classes = self.arch.classes as f64;
        match self.loss {
            Loss::Mse => {
                let _ = buf.logits.sub_out(&buf.dlogits, &buf.targets);
                let flat = buf.dlogits.view([-1]);
                // Mean over rows and classes, times rows: the sum over classes' mean.
                *loss_sum += flat.dot(&flat) / classes;
                let _ = buf
                    .dlogits
                    .shallow_clone()
                    .g_mul_scalar_(2.0 / (rows as f64 * classes));
            }
            Loss::Ce => {
                let log_p = buf.logits.log_softmax(1, Kind::Float);
                *loss_sum -= (&log_p * &buf.targets).sum(Kind::Float);
                let p = log_p.exp();
                let _ = p.sub_out(&buf.dlogits, &buf.targets);
                let _ = buf.dlogits.shallow_clone().g_mul_scalar_(1.0 / rows as f64);
            }
        }
        *correct += buf
            .logits
            .argmax(1, false)
            .eq_tensor(&buf.labels)
            .sum(Kind::Int64);

        // Backward, from the output layer down.
        for l in (0..=depth).rev() {
            let delta = if l == depth { &buf.dlogits } else { &buf.dz[l] };
            let input = if l == 0 { &buf.x } else { &buf.a[l - 1] };
            let grad = &self.gradients[l];
            let _ = delta.tr().mm_out(&grad.weight, input);
            let _ = delta.sum_intlist_out(&grad.bias, [0i64].as_slice(), false, Kind::Float);
            if l == 0 {
                break;
            }
            let _ = delta.mm_out(&buf.da[l - 1], &self.weights[l].weight);
            let _ = match self.arch.activation {
                Activation::Relu => {
                    buf.z[l - 1].threshold_backward_grad_input(&buf.dz[l - 1], &buf.da[l - 1], 0.0)
                }
                Activation::Sigmoid => Tensor::sigmoid_backward_grad_input(
                    &buf.dz[l - 1],
                    &buf.da[l - 1],
                    &buf.a[l - 1],
                ),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::Activation;

    fn arch(depth: usize, activation: Activation) -> Arch {
        Arch {
            inputs: 7,
            depth,
            width: 5,
            classes: 3,
            activation,
        }
    }

    /// The loss autograd differentiates, written from the definitions with libtorch's
    /// own loss functions.
    fn reference_loss(loss: Loss, logits: &Tensor, labels: &Tensor, classes: i64) -> Tensor {
        match loss {
            Loss::Mse => logits.mse_loss(
                &labels.onehot(classes).to_kind(Kind::Float),
                tch::Reduction::Mean,
            ),
            Loss::Ce => logits.cross_entropy_for_logits(labels),
        }
    }

    /// Every combination of activation and loss, at depths 1 and 3: the hand-written
    /// gradient equals autograd's on the same network and batch, the summed loss is the
    /// mean loss times the rows, and the correct count is that of the logits.
    #[test]
    fn gradients_match_autograd() {
        for depth in [1, 3] {
            for activation in Activation::ALL {
                for loss in [Loss::Mse, Loss::Ce] {
                    tch::manual_seed(7);
                    let arch = arch(depth, activation);
                    let model = Mlp::new(arch, Device::Cpu);
                    let x = Tensor::randn([20, 7], (Kind::Float, Device::Cpu));
                    let y = Tensor::randint(3, [20], (Kind::Int64, Device::Cpu));
                    let index = Tensor::from_slice(&[3i64, 0, 19, 7, 7, 12]);

                    let xb = x.index_select(0, &index);
                    let yb = y.index_select(0, &index);
                    let logits = model.forward(&xb);
                    let expected_loss = reference_loss(loss, &logits, &yb, 3);
                    expected_loss.backward();
                    let expected_grads: Vec<f32> = model
                        .layers()
                        .flat_map(|(w, b)| {
                            let mut g = Vec::<f32>::try_from(w.grad().view([-1])).unwrap();
                            g.extend(Vec::<f32>::try_from(b.grad()).unwrap());
                            g
                        })
                        .collect();
                    let expected_correct = logits
                        .argmax(1, false)
                        .eq_tensor(&yb)
                        .sum(Kind::Int64)
                        .int64_value(&[]);

                    let mut backprop = Backprop::new(&model, loss, &y, Device::Cpu);
                    let mut loss_sum = Tensor::zeros([], (Kind::Float, Device::Cpu));
                    let mut correct = Tensor::zeros([], (Kind::Int64, Device::Cpu));
                    tch::no_grad(|| {
                        backprop.step(&x, &y, &index, &mut loss_sum, &mut correct);
                    });
                    let grads = Vec::<f32>::try_from(&backprop.grads).unwrap();
                    assert_eq!(grads.len(), expected_grads.len());
                    for (i, (g, e)) in grads.iter().zip(&expected_grads).enumerate() {
                        assert!(
                            (g - e).abs() <= 1e-6 + 1e-5 * e.abs(),
                            "{activation:?} {loss:?} depth {depth}: gradient {i} is {g}, autograd {e}"
                        );
                    }
                    let mean = expected_loss.double_value(&[]);
                    assert!((loss_sum.double_value(&[]) - 6.0 * mean).abs() < 1e-5 * mean.max(1.0));
                    assert_eq!(correct.int64_value(&[]), expected_correct);
                }
            }
        }
    }

    /// A second batch size gets its own buffers, and parameters written back land in
    /// the network under their names.
    #[test]
    fn parameters_round_trip_through_the_flat_buffer() {
        tch::manual_seed(3);
        let arch = arch(2, Activation::Relu);
        let model = Mlp::new(arch, Device::Cpu);
        let before = model.named_copy();
        let y = Tensor::from_slice(&[0i64, 1, 2]);
        let backprop = Backprop::new(&model, Loss::Mse, &y, Device::Cpu);
        // 7*5+5 + 5*5+5 + 5*3+3 parameters, in the network's naming order.
        assert_eq!(backprop.params.size(), vec![88]);
        let _ = backprop.params.shallow_clone().g_add_scalar_(1.0);
        backprop.write_to(&model);
        for ((name, old), (_, new)) in before.iter().zip(model.named_copy()) {
            let diff = (&new - old - 1.0).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "{name} moved by other than 1");
        }
    }
}
