//! The decoder's networks built from a package's weights: the hyper-synthesis, the context
//! model if any, the synthesis transform and the inverse gains, once at load.

#[cfg(feature = "encode")]
use super::analysis::{Analysis, HyperAnalysis};
use super::{Context, GdnNorm, HyperSynthesis, Layer, Synthesis};
use crate::architecture::{gdn, NetworkConfig};
use crate::package::weights::Weights;
use crate::package::PackageError;
use crate::quality::{interpolate_gains, RUNGS};

/// The portable networks of one model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub hyper: HyperSynthesis,
    pub context: Option<Context>,
    pub synthesis: Synthesis,
    /// Natural logs of the inverse latent gains, `[RUNGS][m]`.
    latent_inv: Vec<f32>,
    /// Natural logs of the inverse hyper-latent gains, `[RUNGS][n]`.
    hyper_inv: Vec<f32>,
}

impl Model {
    /// Reads the networks a decoder runs from `weights`, named as the burn network's
    /// parameters (`g_s.deconv0.weight`, …).
    pub fn from_weights(weights: &Weights, config: NetworkConfig) -> Result<Self, PackageError> {
        let NetworkConfig { n, m, .. } = config;
        let t = config.transform_channels();
        let conv = |name, shape, stride| read_conv(weights, name, shape, stride);
        let deconv = |name, shape| read_deconv(weights, name, shape);
        let igdn = |name| read_gdn(weights, name, t);
        let synthesis = Synthesis {
            layers: [
                deconv("g_s.deconv0", [m, t, 5])?,
                deconv("g_s.deconv1", [t, t, 5])?,
                deconv("g_s.deconv2", [t, t, 5])?,
                deconv("g_s.deconv3", [t, 3, 5])?,
            ],
            igdn: [igdn("g_s.igdn0")?, igdn("g_s.igdn1")?, igdn("g_s.igdn2")?],
        };
        let [h0, h1, h2] = config.hyper_synthesis_channels();
        let hyper = HyperSynthesis {
            layers: [
                deconv("h_s.deconv0", [n, h0, 5])?,
                deconv("h_s.deconv1", [h0, h1, 5])?,
                conv("h_s.conv2", [h2, h1, 3], 1)?,
            ],
            hyperprior: config.hyperprior,
        };
        let context = if config.context {
            Some(Context {
                conv: conv("context.conv", [2 * m, m, 5], 1)?,
                params: [
                    conv("context.params0", [10 * m / 3, 4 * m, 1], 1)?,
                    conv("context.params1", [8 * m / 3, 10 * m / 3, 1], 1)?,
                    conv("context.params2", [2 * m, 8 * m / 3, 1], 1)?,
                ],
            })
        } else {
            None
        };
        Ok(Self {
            hyper,
            context,
            synthesis,
            latent_inv: weights.tensor("gains.latent_inv", &[RUNGS, m])?,
            hyper_inv: weights.tensor("gains.hyper_inv", &[RUNGS, n])?,
        })
    }

    /// The inverse latent gains of `quality`, one per channel of y.
    pub fn latent_gain_inv(&self, quality: f32) -> Vec<f32> {
        interpolate_gains(&self.latent_inv, quality)
    }

    /// The inverse hyper-latent gains of `quality`, one per channel of z.
    pub fn hyper_gain_inv(&self, quality: f32) -> Vec<f32> {
        interpolate_gains(&self.hyper_inv, quality)
    }
}

/// The encoder's portable networks: `g_a`, `h_a` and their gains.
#[cfg(feature = "encode")]
#[derive(Debug, Clone)]
pub(crate) struct AnalysisModel {
    pub analysis: Analysis,
    pub hyper: HyperAnalysis,
    /// Natural logs of the latent gains, `[RUNGS][m]`.
    latent: Vec<f32>,
    /// Natural logs of the hyper-latent gains, `[RUNGS][n]`.
    hyper_gain: Vec<f32>,
}

#[cfg(feature = "encode")]
impl AnalysisModel {
    /// Reads `g_a`, `h_a` and the gains from `weights`.
    pub fn from_weights(weights: &Weights, config: NetworkConfig) -> Result<Self, PackageError> {
        let NetworkConfig { n, m, .. } = config;
        let t = config.transform_channels();
        let conv = |name, shape, stride| read_conv(weights, name, shape, stride);
        let gdn = |name| read_gdn(weights, name, t);
        Ok(Self {
            analysis: Analysis {
                layers: [
                    conv("g_a.conv0", [t, 3, 5], 2)?,
                    conv("g_a.conv1", [t, t, 5], 2)?,
                    conv("g_a.conv2", [t, t, 5], 2)?,
                    conv("g_a.conv3", [m, t, 5], 2)?,
                ],
                gdn: [gdn("g_a.gdn0")?, gdn("g_a.gdn1")?, gdn("g_a.gdn2")?],
            },
            hyper: HyperAnalysis {
                layers: [
                    conv("h_a.conv0", [n, m, 3], 1)?,
                    conv("h_a.conv1", [n, n, 5], 2)?,
                    conv("h_a.conv2", [n, n, 5], 2)?,
                ],
                hyperprior: config.hyperprior,
            },
            latent: weights.tensor("gains.latent", &[RUNGS, m])?,
            hyper_gain: weights.tensor("gains.hyper", &[RUNGS, n])?,
        })
    }

    /// The latent gains of `quality`, one per channel of y.
    pub fn latent_gain(&self, quality: f32) -> Vec<f32> {
        interpolate_gains(&self.latent, quality)
    }

    /// The hyper-latent gains of `quality`, one per channel of z.
    pub fn hyper_gain(&self, quality: f32) -> Vec<f32> {
        interpolate_gains(&self.hyper_gain, quality)
    }
}

/// The convolution `name` (`[cout, cin, k]`), padded by `k / 2`.
fn read_conv(
    weights: &Weights,
    name: &str,
    [cout, cin, k]: [usize; 3],
    stride: usize,
) -> Result<Layer, PackageError> {
    let w = weights.tensor(&format!("{name}.weight"), &[cout, cin, k, k])?;
    let b = weights.tensor(&format!("{name}.bias"), &[cout])?;
    Ok(Layer::conv(&w, [cout, cin, k], b, stride))
}

/// The transposed convolution `name` (`[cin, cout, k]`), doubling the size.
fn read_deconv(
    weights: &Weights,
    name: &str,
    [cin, cout, k]: [usize; 3],
) -> Result<Layer, PackageError> {
    let w = weights.tensor(&format!("{name}.weight"), &[cin, cout, k, k])?;
    let b = weights.tensor(&format!("{name}.bias"), &[cout])?;
    Ok(Layer::deconv(&w, [cin, cout, k], b, 2))
}

/// The normaliser of the GDN layer `name` over `channels` channels.
fn read_gdn(weights: &Weights, name: &str, channels: usize) -> Result<GdnNorm, PackageError> {
    let beta = weights.tensor(&format!("{name}.beta"), &[channels])?;
    let gamma = weights.tensor(&format!("{name}.gamma"), &[channels, channels])?;
    Ok(gdn_norm(&beta, &gamma))
}

/// The normaliser of a GDN layer from its stored parameters: β and γ computed in the same f32
/// steps as the burn layer's forward pass (`max(p, bound)² − pedestal`).
pub(crate) fn gdn_norm(beta: &[f32], gamma: &[f32]) -> GdnNorm {
    let value = |p: &[f32], bound: f64| -> Vec<f32> {
        let (bound, pedestal) = (bound as f32, gdn::PEDESTAL as f32);
        p.iter()
            .map(|&v| {
                let v = v.max(bound);
                v * v - pedestal
            })
            .collect()
    };
    GdnNorm::new(
        value(beta, gdn::beta_bound()),
        &value(gamma, gdn::gamma_bound()),
    )
}
