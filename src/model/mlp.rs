//! The multilayer perceptron. Its parameters are named as PyTorch names a module holding
//! an `nn.ModuleList` of `Linear` layers called `hidden` and a `Linear` called `output`
//! (`hidden.0.weight`, ..., `output.bias`), so saved snapshots load into such a module by
//! name.

use super::settings::Activation;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arch {
    pub inputs: usize,
    pub depth: usize,
    pub width: usize,
    pub classes: usize,
    pub activation: Activation,
}

pub struct Mlp {
    pub vs: nn::VarStore,
    pub arch: Arch,
    hidden: Vec<(Tensor, Tensor)>,
    output: (Tensor, Tensor),
}

/// Glorot/Xavier uniform ("normalised uniform", as in the paper): U(-b, b) with
/// b = sqrt(6 / (fan_in + fan_out)).
fn glorot(fan_in: usize, fan_out: usize) -> Init {
    let b = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

impl Mlp {
    /// A freshly initialised network; call `tch::manual_seed` first for reproducibility.
    pub fn new(arch: Arch, device: Device) -> Mlp {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut hidden = Vec::with_capacity(arch.depth);
        let mut fan_in = arch.inputs;
        for l in 0..arch.depth {
            let p = &root / "hidden" / l;
            let w = p.var(
                "weight",
                &[arch.width as i64, fan_in as i64],
                glorot(fan_in, arch.width),
            );
            let b = p.var("bias", &[arch.width as i64], Init::Const(0.0));
            hidden.push((w, b));
            fan_in = arch.width;
        }
        let p = &root / "output";
        let w = p.var(
            "weight",
            &[arch.classes as i64, fan_in as i64],
            glorot(fan_in, arch.classes),
        );
        let b = p.var("bias", &[arch.classes as i64], Init::Const(0.0));
        Mlp {
            vs,
            arch,
            hidden,
            output: (w, b),
        }
    }

    /// Each layer's (weight, bias): the hidden layers in order, then the output layer.
    pub fn layers(&self) -> impl Iterator<Item = (&Tensor, &Tensor)> {
        self.hidden
            .iter()
            .chain(std::iter::once(&self.output))
            .map(|(w, b)| (w, b))
    }

    /// Output pre-activations (logits).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut a = x.shallow_clone();
        for (w, b) in &self.hidden {
            a = activate(self.arch.activation, &a.linear(w, Some(b)));
        }
        a.linear(&self.output.0, Some(&self.output.1))
    }

    /// Every hidden layer's pre-activations and the output's, for the activation dumps.
    pub fn forward_all(&self, x: &Tensor) -> (Vec<Tensor>, Tensor) {
        let mut pre = Vec::with_capacity(self.hidden.len());
        let mut a = x.shallow_clone();
        for (w, b) in &self.hidden {
            let z = a.linear(w, Some(b));
            a = activate(self.arch.activation, &z);
            pre.push(z);
        }
        (pre, a.linear(&self.output.0, Some(&self.output.1)))
    }

    /// A detached copy of every parameter, by name, in a stable order.
    pub fn named_copy(&self) -> Vec<(String, Tensor)> {
        let mut vars: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.detach().to(Device::Cpu).copy()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    /// Overwrites the parameters with named tensors (e.g. a snapshot read back).
    pub fn load_named(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        let vars = self.vs.variables();
        if named.len() != vars.len() {
            return Err(format!(
                "{} tensors, the network has {}",
                named.len(),
                vars.len()
            ));
        }
        tch::no_grad(|| {
            for (name, t) in named {
                let v = vars
                    .get(name)
                    .ok_or_else(|| format!("unknown tensor `{name}`"))?;
                if v.size() != t.size() {
                    return Err(format!(
                        "`{name}` has shape {:?}, expected {:?}",
                        t.size(),
                        v.size()
                    ));
                }
                v.shallow_clone()
                    .copy_(&t.to_device(v.device()).to_kind(Kind::Float));
            }
            Ok(())
        })
    }

    pub fn save_safetensors(
        named: &[(String, Tensor)],
        path: &std::path::Path,
    ) -> Result<(), tch::TchError> {
        Tensor::write_safetensors(named, path)
    }

    pub fn load_safetensors(
        arch: Arch,
        device: Device,
        path: &std::path::Path,
    ) -> Result<Mlp, String> {
        let named =
            Tensor::read_safetensors(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut m = Mlp::new(arch, device);
        m.load_named(&named)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(m)
    }
}

/// The hidden layers' nonlinearity applied to pre-activations.
fn activate(activation: Activation, z: &Tensor) -> Tensor {
    match activation {
        Activation::Relu => z.relu(),
        Activation::Sigmoid => z.sigmoid(),
    }
}
