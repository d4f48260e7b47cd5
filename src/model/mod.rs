//! The paper's networks (Sec. 3.1): fully connected, `depth` hidden layers of `width` nodes,
//! Glorot-uniform weights, zero biases; and their training loop.

pub mod backprop;
pub mod mlp;
pub mod settings;
pub mod shuffle;
pub mod stopping;
pub mod train;
pub mod update;

pub use mlp::{Arch, Mlp};
pub use settings::{Activation, Loss, NetworkParams, Optimizer, Rate, Stop, TrainSettings};
pub use train::{train, TrainData, TrainError};

use tch::Device;

/// Parses `--device`: `auto` picks CUDA when libtorch sees a GPU.
pub fn pick_device(choice: &str) -> Result<Device, String> {
    match choice {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(
            "--device cuda: libtorch sees no CUDA device (is this a CPU build of libtorch?)".into(),
        ),
        other => Err(format!("unknown device `{other}` (auto, cpu or cuda)")),
    }
}

pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
