//! Where the network runs: the CPU through burn's `flex` backend (always built), a GPU
//! through burn-wgpu when ansel is built with the `wgpu` cargo feature, or the CPU through
//! libtorch when built with the `tch` feature (faster than `flex` for training on a CPU, at the
//! cost of a large PyTorch install; meant for long training runs only, never needed to encode
//! or decode).
//!
//! Only the encoder's transforms run on a selected GPU (`g_a`, `h_a`, and `g_s` when it
//! refines); on the CPU a plain encode runs `g_a` and `h_a` on the host kernels. Everything that decides how bits are read (the hyper-synthesis and
//! context model that predict the scales, their quantisation into table indices, the entropy
//! coder) and the decoder's synthesis run on the host in arithmetic that is the same on every
//! machine (`portable`), so a stream encoded on one device decodes on any other, to the
//! same pixels. Each stream also carries a checksum of the table indices, caught as
//! [`Error::IndexMismatch`] if they disagree anyway (say, a stream whose encoder took its
//! scales from a backend).
//!
//! ```
//! use ansel::backend::{DeviceChoice, SelectedDevice};
//! let cpu = SelectedDevice::select(DeviceChoice::Cpu)?;
//! assert!(!cpu.is_gpu());
//! // `Auto` takes a GPU when one is present and falls back to the CPU otherwise.
//! let auto = SelectedDevice::select(DeviceChoice::Auto)?;
//! println!("running on {}", auto.description());
//! # Ok::<(), ansel::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;

use crate::Error;

/// Which device the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (burn's `flex` backend).
    #[default]
    Cpu,
    /// A GPU through burn-wgpu; an error when there is none or the `wgpu` feature is off.
    Gpu,
    /// A GPU if one is found, else the CPU (with a note in [`SelectedDevice::fallback`]).
    Auto,
    /// The CPU through libtorch; an error unless ansel was built with the `tch` feature.
    Libtorch,
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            "auto" => Ok(Self::Auto),
            "libtorch" | "tch" => Ok(Self::Libtorch),
            _ => Err(Error::Device(format!(
                "unknown device {s:?}: use cpu, gpu, auto or libtorch"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::Auto => "auto",
            Self::Libtorch => "libtorch",
        })
    }
}

/// A device the network can run on, and how it was chosen.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    device: Device,
    gpu: bool,
    description: String,
    fallback: Option<String>,
}

impl SelectedDevice {
    /// The CPU device (burn's `flex` backend, using every core through rayon).
    pub fn cpu() -> Self {
        SelectedDevice {
            device: Device::flex(),
            gpu: false,
            description: "cpu (burn flex)".to_string(),
            fallback: None,
        }
    }

    /// Resolves a [`DeviceChoice`] to a device.
    ///
    /// `Gpu` fails with [`Error::Device`] when ansel was built without the `wgpu` feature or
    /// no GPU adapter is found; `Auto` then falls back to the CPU and says why in
    /// [`fallback`](Self::fallback). A software adapter (Mesa's lavapipe) is not taken as a GPU:
    /// it runs the network's convolutions far slower than the CPU backend, if at all.
    pub fn select(choice: DeviceChoice) -> Result<Self, Error> {
        match choice {
            DeviceChoice::Cpu => Ok(Self::cpu()),
            DeviceChoice::Gpu => gpu(),
            DeviceChoice::Auto => Ok(gpu().unwrap_or_else(|e| SelectedDevice {
                fallback: Some(e.to_string()),
                ..Self::cpu()
            })),
            DeviceChoice::Libtorch => libtorch(),
        }
    }

    /// A software Vulkan adapter (Mesa's lavapipe) through wgpu: runs the GPU code path on a
    /// machine without a GPU, for tests. [`DeviceChoice::Auto`] and [`DeviceChoice::Gpu`]
    /// never take it; without the `wgpu` feature, or with no such adapter, an [`Error::Device`].
    pub fn software_gpu() -> Result<Self, Error> {
        software_gpu()
    }

    /// The burn device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether the network runs on a GPU.
    pub fn is_gpu(&self) -> bool {
        self.gpu
    }

    /// A short human-readable name, e.g. `cpu (burn flex)` or `gpu (wgpu, discrete 0)`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Why `Auto` fell back to the CPU, if it did.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }
}

#[cfg(not(feature = "tch"))]
fn libtorch() -> Result<SelectedDevice, Error> {
    Err(Error::Device(
        "this ansel was built without libtorch support (rebuild with `--features tch`)".to_string(),
    ))
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn marks its libtorch backend deprecated in favour of CubeCL ones
fn libtorch() -> Result<SelectedDevice, Error> {
    Ok(SelectedDevice {
        device: Device::libtorch(),
        gpu: false,
        description: "cpu (libtorch)".to_string(),
        fallback: None,
    })
}

#[cfg(not(feature = "wgpu"))]
fn gpu() -> Result<SelectedDevice, Error> {
    Err(Error::Device(
        "this ansel was built without GPU support (rebuild with `--features wgpu`)".to_string(),
    ))
}

#[cfg(not(feature = "wgpu"))]
fn software_gpu() -> Result<SelectedDevice, Error> {
    gpu()
}

/// Initialises the wgpu adapter of `kind`; no adapter of that kind is an error (wgpu reports it
/// by an error or, in some versions, a panic).
#[cfg(feature = "wgpu")]
fn wgpu_device(kind: burn::tensor::DeviceKind, name: &str) -> Result<SelectedDevice, String> {
    match std::panic::catch_unwind(|| Device::wgpu_options().device_kind(kind).init()) {
        Ok(Ok(device)) => Ok(SelectedDevice {
            device,
            gpu: true,
            description: format!("gpu (wgpu, {name})"),
            fallback: None,
        }),
        Ok(Err(e)) => Err(format!("{name}: {e}")),
        Err(_) => Err(format!("{name}: not found")),
    }
}

// wgpu registers an adapter's runtime once per process (a second `init` of the same kind
// fails), so each selection is made once and remembered.
#[cfg(feature = "wgpu")]
fn software_gpu() -> Result<SelectedDevice, Error> {
    static SELECTED: std::sync::OnceLock<Result<SelectedDevice, String>> =
        std::sync::OnceLock::new();
    SELECTED
        .get_or_init(|| wgpu_device(burn::tensor::DeviceKind::Cpu, "software adapter"))
        .clone()
        .map_err(|e| Error::Device(format!("no software wgpu adapter ({e})")))
}

#[cfg(feature = "wgpu")]
fn gpu() -> Result<SelectedDevice, Error> {
    static SELECTED: std::sync::OnceLock<Result<SelectedDevice, String>> =
        std::sync::OnceLock::new();
    SELECTED
        .get_or_init(hardware_gpu)
        .clone()
        .map_err(Error::Device)
}

#[cfg(feature = "wgpu")]
fn hardware_gpu() -> Result<SelectedDevice, String> {
    use burn::tensor::DeviceKind;
    // Hardware adapters only, best first.
    let kinds = [
        (DeviceKind::DiscreteGpu(0), "discrete 0"),
        (DeviceKind::IntegratedGpu(0), "integrated 0"),
        (DeviceKind::VirtualGpu(0), "virtual 0"),
    ];
    let mut tried = Vec::new();
    for (kind, name) in kinds {
        match wgpu_device(kind, name) {
            Ok(device) => return Ok(device),
            Err(e) => tried.push(e),
        }
    }
    Err(format!("no GPU adapter found ({})", tried.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_print() {
        for c in [
            DeviceChoice::Cpu,
            DeviceChoice::Gpu,
            DeviceChoice::Auto,
            DeviceChoice::Libtorch,
        ] {
            assert_eq!(c.to_string().parse::<DeviceChoice>().unwrap(), c);
        }
        assert_eq!("GPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Gpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn auto_always_yields_a_device() {
        let d = SelectedDevice::select(DeviceChoice::Auto).unwrap();
        assert_eq!(d.is_gpu(), d.fallback().is_none());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn gpu_without_the_feature_is_a_clear_error() {
        let e = SelectedDevice::select(DeviceChoice::Gpu).unwrap_err();
        assert!(e.to_string().contains("--features wgpu"), "{e}");
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn libtorch_without_the_feature_is_a_clear_error() {
        let e = SelectedDevice::select(DeviceChoice::Libtorch).unwrap_err();
        assert!(e.to_string().contains("--features tch"), "{e}");
    }
}
