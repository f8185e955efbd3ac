//! Portable copies of the burn network's layers, for the tests that hold the two side by
//! side. (The codec builds its portable networks from a package's weights.)

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

use crate::portable::{self, Layer};

/// A tensor's elements, in its order.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("f32 weights")
}

fn bias(bias: &Option<burn::module::Param<Tensor<1>>>, cout: usize) -> Vec<f32> {
    bias.as_ref()
        .map_or_else(|| vec![0.0; cout], |b| values(b.val()))
}

/// The portable copy of a convolution (square kernel, padding `k / 2`).
pub(crate) fn conv_layer(conv: &Conv2d) -> Layer {
    let [cout, cin, k, _] = conv.weight.dims();
    let p = k / 2;
    assert!(
        matches!(conv.padding, PaddingConfig2d::Explicit(t, l, b, r) if [t, l, b, r] == [p; 4])
            || (p == 0 && matches!(conv.padding, PaddingConfig2d::Valid))
    );
    Layer::conv(
        &values(conv.weight.val()),
        [cout, cin, k],
        bias(&conv.bias, cout),
        conv.stride[0],
    )
}

/// The portable copy of a transposed convolution (padding `k / 2`, output padding
/// `stride − 1`).
pub(crate) fn deconv_layer(deconv: &ConvTranspose2d) -> Layer {
    let [cin, cout, k, _] = deconv.weight.dims();
    let s = deconv.stride[0];
    assert_eq!(
        (deconv.padding, deconv.padding_out),
        ([k / 2; 2], [s - 1; 2])
    );
    Layer::deconv(
        &values(deconv.weight.val()),
        [cin, cout, k],
        bias(&deconv.bias, cout),
        s,
    )
}

fn gdn_norm(gdn: &super::gdn::Gdn) -> portable::GdnNorm {
    portable::gdn_norm(&values(gdn.beta.val()), &values(gdn.gamma.val()))
}

impl super::transforms::Synthesis {
    /// Its portable copy.
    pub(crate) fn portable(&self) -> portable::Synthesis {
        portable::Synthesis {
            layers: [
                deconv_layer(&self.deconv0),
                deconv_layer(&self.deconv1),
                deconv_layer(&self.deconv2),
                deconv_layer(&self.deconv3),
            ],
            igdn: [
                gdn_norm(&self.igdn0),
                gdn_norm(&self.igdn1),
                gdn_norm(&self.igdn2),
            ],
        }
    }
}

impl super::hyper::HyperSynthesis {
    /// Its portable copy.
    pub(crate) fn portable(&self) -> portable::HyperSynthesis {
        portable::HyperSynthesis {
            layers: [
                deconv_layer(&self.deconv0),
                deconv_layer(&self.deconv1),
                conv_layer(&self.conv2),
            ],
            hyperprior: self.hyperprior,
        }
    }
}

#[cfg(test)]
impl super::hyper::HyperAnalysis {
    /// Its portable copy.
    pub(crate) fn portable(&self) -> crate::portable::HyperAnalysis {
        crate::portable::HyperAnalysis {
            layers: [
                conv_layer(&self.conv0),
                conv_layer(&self.conv1),
                conv_layer(&self.conv2),
            ],
            hyperprior: self.hyperprior,
        }
    }
}

impl super::Context {
    /// Its portable copy.
    pub(crate) fn portable(&self) -> portable::Context {
        portable::Context {
            conv: conv_layer(&self.conv),
            params: [
                conv_layer(&self.params0),
                conv_layer(&self.params1),
                conv_layer(&self.params2),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{load_package_weights, package_weights_to_bytes, Network, NetworkConfig};
    use crate::package::weights::Weights;

    /// What the decoder reads from a package is what the network it was exported from holds.
    #[test]
    fn package_weights_give_the_portable_copies_of_the_network() {
        let device = Device::flex();
        for config in [
            NetworkConfig::new(8, 12),
            NetworkConfig::new(8, 12)
                .with_context(true)
                .with_transform_n(16),
        ] {
            let bytes = package_weights_to_bytes(&Network::new(config, &device)).unwrap();
            let network = load_package_weights(&bytes, config, &device).unwrap();
            let weights = Weights::parse(&bytes, config).unwrap();
            let model = portable::Model::from_weights(&weights, config).unwrap();
            assert_eq!(model.synthesis, network.g_s.portable());
            assert_eq!(model.hyper, network.h_s.portable());
            assert_eq!(
                model.context,
                network.context.as_ref().map(|c| c.portable())
            );
            for q in [1.0, 3.7, 8.0] {
                let gains = network.gains_for_quality(q, &device);
                assert_eq!(model.latent_gain_inv(q), values(gains.latent_inv));
                assert_eq!(model.hyper_gain_inv(q), values(gains.hyper_inv));
            }
            // The weights of another shape are refused with a typed error.
            let other = config.with_context(!config.context);
            assert!(Weights::parse(&bytes, other).is_err());
            let wider = NetworkConfig { m: 16, ..config };
            let weights = Weights::parse(&bytes, wider).unwrap();
            assert!(matches!(
                portable::Model::from_weights(&weights, wider),
                Err(crate::package::PackageError::TensorShape { .. })
            ));
        }
    }
}
