//! How close the entropy coder comes to the rate the training loss estimates.

use burn::prelude::*;
use codec_format::{Container, SectionKind};
use image::RgbImage;

use super::{Codec, Refinement};
use crate::limits::LIMITS;
use crate::Error;

/// Estimated against actual rate of one image (see [`Codec::rate_report`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RateReport {
    /// −Σ log2 p of the latent under the Gaussian conditional with exact scales.
    pub estimated_bits_y: f64,
    /// −Σ log2 p of the hyper-latent under the learned factorized density.
    pub estimated_bits_z: f64,
    /// Bytes of the latent section.
    pub coded_bytes_y: usize,
    /// Bytes of the hyper-latent section.
    pub coded_bytes_z: usize,
    /// Bytes of the whole file (header, tables of sections, checksum included).
    pub file_bytes: usize,
    /// Pixels of the image.
    pub pixels: f64,
}

impl RateReport {
    /// Coded bits of both sections over estimated bits, minus one (0.01 = 1 % over).
    pub fn relative_gap(&self) -> f64 {
        let coded = 8.0 * (self.coded_bytes_y + self.coded_bytes_z) as f64;
        coded / (self.estimated_bits_y + self.estimated_bits_z) - 1.0
    }
}

impl Codec {
    /// Compares the rate the training loss estimates (−log2 of the model likelihoods of the
    /// quantised latents, as in CompressAI's `forward`) with the bytes the entropy coder
    /// actually writes for `image` at `quality`.
    pub fn rate_report(&self, image: &RgbImage, quality: f32) -> Result<RateReport, Error> {
        let stream = self.encode_at(image, quality, Refinement::NONE)?;
        let container = Container::from_bytes(&stream, &LIMITS)?;
        let tile = &container.tiles[0];
        let len = |k| tile.section(k).map_or(0, |s| s.len());
        let (planes, ph, pw) = crate::pixels::to_padded_planes(image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &self.device);
        let network = self.network(quality)?;
        let gains = network.gains_for_quality(quality, &self.device);
        let y = network.analyse(x, &gains);
        let z = network.hyper_analyse(y.clone(), &gains);
        let medians = network.density().medians();
        let z_hat = (z - medians.clone()).round() + medians;
        let bits_z = crate::model::bits_per_sample(network.density().likelihood(z_hat.clone()));
        let hyper = network.hyper_synthesise(z_hat, &gains);
        let (means, scales) = network.conditional_coded(hyper, y.clone());
        let y_hat = (y - means.clone()).round() + means.clone();
        let lik = crate::model::gaussian_likelihood(y_hat, means, scales);
        let bits_y = crate::model::bits_per_sample(lik);
        let pixels = image.width() as f64 * image.height() as f64;
        Ok(RateReport {
            estimated_bits_y: bits_y.into_scalar::<f32>() as f64,
            estimated_bits_z: bits_z.into_scalar::<f32>() as f64,
            coded_bytes_y: len(SectionKind::Latent),
            coded_bytes_z: len(SectionKind::HyperLatent),
            file_bytes: stream.len(),
            pixels,
        })
    }
}
