//! The network's shape, as both the burn model and the portable decoder know it: channel
//! counts, strides, and which latent positions a checkerboard context codes first.

use serde::{Deserialize, Serialize};

/// Total downsampling of the network: images are padded to a multiple of this.
pub const DOWNSAMPLING: usize = 64;
/// Downsampling from image to latent y.
pub const LATENT_STRIDE: usize = 16;
/// Downsampling from latent y to hyper-latent z.
pub const HYPER_STRIDE: usize = DOWNSAMPLING / LATENT_STRIDE;
/// Slope of the leaky ReLUs of the hyper-synthesis and the context model.
pub const LEAKY_SLOPE: f32 = 0.01;

/// Channel counts of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Channels of the hyper-latent z and of the hidden layers (of the main transforms too,
    /// unless `transform_n` says otherwise).
    pub n: usize,
    /// Channels of the latent y.
    pub m: usize,
    /// Channels of the hidden layers of `g_a` and `g_s` where they differ from `n`: a model
    /// whose transforms were widened for more capacity at high rates. Absent from the
    /// metadata of models that never were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_n: Option<usize>,
    /// Whether the latent is coded in two checkerboard passes, the second predicted from the
    /// first too. Absent from the metadata of models without.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub context: bool,
    /// What the hyperprior predicts. Absent from the metadata of mean-scale models.
    #[serde(default, skip_serializing_if = "Hyperprior::is_mean_scale")]
    pub hyperprior: Hyperprior,
}

/// The hyperprior's layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hyperprior {
    /// Means and scales of y (CompressAI's `mbt2018-mean`, Minnen et al. 2018): leaky ReLUs,
    /// `h_s` widening to 3M/2 channels and ending in 2M outputs. ansel's own models.
    #[default]
    MeanScale,
    /// Scales of y only, its means zero (CompressAI's `bmshj2018-hyperprior`, Ballé et al.
    /// 2018): `h_a` reads |y|, ReLUs throughout, `h_s` keeps N channels and ends in M
    /// scales after a ReLU.
    ScaleOnly,
}

impl Hyperprior {
    /// Whether this is the mean-scale layout.
    pub fn is_mean_scale(&self) -> bool {
        *self == Self::MeanScale
    }

    /// Architecture id of a package (and its streams) with this hyperprior and gain units.
    pub const fn arch_id(self) -> u16 {
        match self {
            Self::MeanScale => 1,
            Self::ScaleOnly => 2,
        }
    }
}

impl NetworkConfig {
    /// `n` hidden channels throughout, `m` latent channels.
    pub const fn new(n: usize, m: usize) -> Self {
        Self {
            n,
            m,
            transform_n: None,
            context: false,
            hyperprior: Hyperprior::MeanScale,
        }
    }

    /// This shape with the hyperprior `hyperprior`.
    pub const fn with_hyperprior(self, hyperprior: Hyperprior) -> Self {
        Self { hyperprior, ..self }
    }

    /// Channels of the hyper-synthesis' hidden layers and of its output: `M`, `3M/2`, `2M`
    /// (scales and means) for the mean-scale hyperprior, `N`, `N`, `M` for the scale-only one.
    pub const fn hyper_synthesis_channels(&self) -> [usize; 3] {
        match self.hyperprior {
            Hyperprior::MeanScale => [self.m, self.m * 3 / 2, self.m * 2],
            Hyperprior::ScaleOnly => [self.n, self.n, self.m],
        }
    }

    /// This shape with or without the checkerboard context model.
    pub const fn with_context(self, context: bool) -> Self {
        Self { context, ..self }
    }

    /// This shape with `t` hidden channels in `g_a` and `g_s` (stored only if `t ≠ n`, so
    /// that equal shapes compare equal).
    pub const fn with_transform_n(self, t: usize) -> Self {
        Self {
            transform_n: if t == self.n { None } else { Some(t) },
            ..self
        }
    }

    /// Hidden channels of `g_a` and `g_s`.
    pub const fn transform_channels(&self) -> usize {
        match self.transform_n {
            Some(t) => t,
            None => self.n,
        }
    }

    /// Latent shape `[M, h, w]` and hyper-latent shape `[N, h/4, w/4]` of an image padded to
    /// `height × width` (multiples of [`DOWNSAMPLING`]).
    pub const fn latent_shapes(&self, height: usize, width: usize) -> ([usize; 3], [usize; 3]) {
        let (h, w) = (height / LATENT_STRIDE, width / LATENT_STRIDE);
        ([self.m, h, w], [self.n, h / HYPER_STRIDE, w / HYPER_STRIDE])
    }
}

/// `N=96 M=192`, with the transforms' width if it differs and the context model if there is
/// one: `N=96 M=192 T=128 checkerboard`.
impl std::fmt::Display for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "N={} M={}", self.n, self.m)?;
        if let Some(t) = self.transform_n {
            write!(f, " T={t}")?;
        }
        if self.context {
            write!(f, " checkerboard")?;
        }
        if self.hyperprior == Hyperprior::ScaleOnly {
            write!(f, " scale-only")?;
        }
        Ok(())
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self::new(128, 192)
    }
}

/// Whether latent position `(row, column)` is an anchor (coded in the first pass).
pub fn is_anchor(row: usize, column: usize) -> bool {
    (row + column).is_multiple_of(2)
}

/// GDN's reparametrisation (as in CompressAI): a stored β or γ entry `p` stands for
/// `max(p, bound)² − PEDESTAL`, which keeps gradients well-scaled near zero.
pub(crate) mod gdn {
    /// Small offset that keeps the square-root reparametrisation away from zero.
    pub const PEDESTAL: f64 = 1.0 / ((1u64 << 36) as f64); // (2^-18)^2
    /// Lower bound of β, so the denominator never reaches zero.
    pub const BETA_MIN: f64 = 1e-6;
    /// Bound of the stored β.
    pub fn beta_bound() -> f64 {
        (BETA_MIN + PEDESTAL).sqrt()
    }
    /// Bound of the stored γ.
    pub fn gamma_bound() -> f64 {
        PEDESTAL.sqrt()
    }
}
