//! The optimisers, over one flat parameter buffer and its gradient ([`super::backprop`]).
//!
//! Adam is PyTorch's (`torch.optim.Adam`, no weight decay, no AMSGrad), element by element:
//!
//! ```text
//! m ← m + (1 - β1) (g - m)          v ← β2 v + (1 - β2) g²
//! p ← p - (lr / (1 - β1^t)) · m / (√v / √(1 - β2^t) + ε)
//! ```
//!
//! with β1 = 0.9, β2 = 0.999, ε = 1e-8 and t the step count. SGD is `p ← p - lr g`.
//!
//! On the CPU one loop does Adam's whole update in a single pass over the buffers, where a
//! sequence of tensor operations would make seven or more passes and dispatches per step;
//! on other devices the same formula runs as tensor operations.

use super::settings::Optimizer;
use tch::{Device, Kind, Tensor};

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

/// An optimiser's state for one flat buffer.
pub enum Update {
    Adam {
        lr: f64,
        step: i32,
        /// First and second moment estimates, same layout as the parameters.
        m: Tensor,
        v: Tensor,
    },
    Sgd {
        lr: f64,
    },
}

impl Update {
    pub fn new(optimizer: Optimizer, lr: f64, params: &Tensor) -> Update {
        match optimizer {
            Optimizer::Adam => Update::Adam {
                lr,
                step: 0,
                m: params.zeros_like(),
                v: params.zeros_like(),
            },
            Optimizer::Sgd => Update::Sgd { lr },
        }
    }

    /// One update of `params` (a flat float tensor) along `grads`.
    pub fn apply(&mut self, params: &mut Tensor, grads: &Tensor) {
        match self {
            Update::Sgd { lr } => {
                let _ = params.shallow_clone().g_add_(&(grads * -*lr));
            }
            Update::Adam { lr, step, m, v } => {
                *step += 1;
                let step_size = *lr as f32 / (1.0 - BETA1.powi(*step));
                let bias2_sqrt = (1.0 - BETA2.powi(*step)).sqrt();
                if params.device() == Device::Cpu {
                    adam_cpu(params, grads, m, v, step_size, bias2_sqrt);
                } else {
                    adam_tensors(params, grads, m, v, step_size, bias2_sqrt);
                }
            }
        }
    }
}

/// Adam's update as tensor operations (for devices other than the CPU).
fn adam_tensors(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, step_size: f32, bias2_sqrt: f32) {
    let _ = m.shallow_clone().lerp_(g, 1.0 - BETA1 as f64);
    let _ = v.shallow_clone().g_mul_scalar_(BETA2 as f64);
    let _ = v.shallow_clone().g_add_(&(g * g * (1.0 - BETA2 as f64)));
    let denom = v.sqrt() / bias2_sqrt as f64 + EPS as f64;
    let _ = p.shallow_clone().g_sub_(&((m / denom) * step_size as f64));
}

/// Checks what the slices below rely on: a contiguous float tensor on the CPU.
fn check_cpu_floats(t: &Tensor) {
    assert!(
        t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous(),
        "the optimiser's buffers are contiguous float tensors on the CPU"
    );
}

fn floats(t: &Tensor) -> &[f32] {
    check_cpu_floats(t);
    // SAFETY: a contiguous float buffer of `numel` elements on the CPU (checked above),
    // alive for the borrow of `t`; nothing writes to it while the slice exists.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) }
}

fn floats_mut(t: &mut Tensor) -> &mut [f32] {
    check_cpu_floats(t);
    // SAFETY: as in `floats`; the exclusive borrow of `t` keeps other Rust code from
    // reaching this buffer, and the optimiser's buffers are distinct allocations.
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) }
}

fn adam_cpu(
    p: &mut Tensor,
    g: &Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    step_size: f32,
    bias2_sqrt: f32,
) {
    let (p, g, m, v) = (floats_mut(p), floats(g), floats_mut(m), floats_mut(v));
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m += (1.0 - BETA1) * (g - *m);
        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
        *p -= step_size * *m / (v.sqrt() / bias2_sqrt + EPS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};

    /// Adam over a flat buffer follows libtorch's own `Adam` on the same parameters and
    /// gradients, step after step (to float rounding), and SGD is `p - lr g` exactly.
    #[test]
    fn follows_libtorchs_optimisers() {
        for optimizer in Optimizer::ALL {
            tch::manual_seed(11);
            let vs = nn::VarStore::new(Device::Cpu);
            let reference = vs.root().randn("p", &[300], 0.0, 1.0);
            let mut opt = match optimizer {
                Optimizer::Adam => nn::Adam::default().build(&vs, 0.01).unwrap(),
                Optimizer::Sgd => nn::Sgd::default().build(&vs, 0.01).unwrap(),
            };
            let mut params = reference.detach().copy();
            let mut update = Update::new(optimizer, 0.01, &params);
            for step in 0..25 {
                // A gradient that changes from step to step: that of sum(p³) / 3 + step p.
                let grad = |p: &Tensor| p * p + p * step as f64;
                let loss = (&reference * &reference * &reference / 3.0
                    + &reference * &reference * (step as f64 / 2.0))
                    .sum(Kind::Float);
                opt.zero_grad();
                loss.backward();
                opt.step();
                let g = tch::no_grad(|| grad(&params));
                update.apply(&mut params, &g);
                let gap = tch::no_grad(|| (&params - &reference).abs().max().double_value(&[]));
                assert!(gap < 1e-5, "{optimizer:?}, step {step}: {gap}");
            }
        }
    }

    /// One Adam step by hand: with m = v = 0, the first update of every element is
    /// lr · g / (|g| + ε·√(1-β2)) ≈ lr · sign(g).
    #[test]
    fn first_adam_step_moves_each_element_by_the_learning_rate() {
        let mut params = Tensor::from_slice(&[1.0f32, -2.0, 0.5]);
        let grads = Tensor::from_slice(&[0.3f32, -4.0, 1e-3]);
        let mut update = Update::new(Optimizer::Adam, 0.1, &params);
        update.apply(&mut params, &grads);
        let got = Vec::<f32>::try_from(&params).unwrap();
        for (g, e) in got.iter().zip([0.9f32, -1.9, 0.4]) {
            assert!((g - e).abs() < 1e-5, "{got:?}");
        }
    }
}
