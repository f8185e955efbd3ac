//! Reading a package's weights (safetensors) as f32, without burn.

use safetensors::{Dtype, SafeTensors};

use super::{NetworkConfig, PackageError};

/// A package's weights, parsed and checked against the network they must fit.
pub(crate) struct Weights<'a> {
    tensors: SafeTensors<'a>,
}

impl<'a> Weights<'a> {
    /// Parses safetensors bytes holding the weights of a network of shape `config`.
    pub fn parse(bytes: &'a [u8], config: NetworkConfig) -> Result<Self, PackageError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(PackageError::Weights)?;
        let has_context = tensors.names().iter().any(|n| n.starts_with("context."));
        if has_context != config.context {
            return Err(PackageError::WrongNetwork {
                config,
                detail: format!(
                    "the weights {} a context model",
                    if has_context { "hold" } else { "lack" }
                ),
            });
        }
        Ok(Self { tensors })
    }

    /// Number of values in all the tensors: the network's learned parameters.
    #[cfg(feature = "encode")]
    pub fn parameter_count(&self) -> usize {
        self.tensors
            .iter()
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum()
    }

    /// The tensor `name`, which must have `shape`, widened to f32 (exactly) in its order.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, PackageError> {
        let view = self
            .tensors
            .tensor(name)
            .map_err(|_| PackageError::MissingTensor(name.into()))?;
        if view.shape() != shape {
            return Err(PackageError::TensorShape {
                name: name.into(),
                expected: shape.into(),
                found: view.shape().into(),
            });
        }
        let bytes = view.data();
        let values = match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(PackageError::TensorType {
                    name: name.into(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        Ok(values)
    }
}
