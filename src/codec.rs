//! The codec pipeline, one direction each, as plain steps.
//!
//! Encode: pad → `g_a·gain` = y → `h_a·hgain` = z → z symbols = round(z − median) → z stream;
//! ẑ = symbols + median → `h_s(ẑ)` = (μ, σ) → table index per element = `scale_index(σ)` →
//! y symbols = round(y − μ) → y stream → container.
//!
//! Decode: container → z stream → ẑ → `h_s(ẑ)` = (μ, σ) → indexes → y stream → ŷ = symbols + μ
//! → `g_s(ŷ·gain⁻¹)` → crop. Decoding runs entirely on the host, in arithmetic that gives the
//! same pixels on every machine (`model::portable`).
//!
//! A model with a checkerboard context (`src/model/context.rs`) codes y in two passes into the
//! one y stream: the anchors (latent positions whose row + column is even, all channels, in
//! tensor order) with (μ, σ) from `h_s(ẑ)` and the context model, then the other elements, in
//! tensor order, with (μ, σ) that also depend on the decoded anchors. The index checksum
//! covers the table indexes in this coding order.
//!
//! Encoder and decoder derive (μ, σ) and the table indexes through the same functions,
//! `Codec::side_information` and `Codec::code_latent`, from the decoded ẑ and symbols, never
//! from the encoder's float z or y, and on the host in arithmetic that is the same on every
//! machine (`model::portable`), whatever device runs the transforms. The stream carries a
//! checksum of the indexes so a decoder that derives different ones anyway (a stream of ansel
//! 0.1, a corrupt z section) fails loudly instead of returning garbage.

use burn::prelude::*;
use image::RgbImage;

use codec_format::{ColorLayout, Container, Header, Limits, ModelId, Section, SectionKind, Tile};

use crate::backend::SelectedDevice;
use crate::entropy::{self, CodingTables, ScaleQuantizer};
use crate::error::Error;
use crate::image_io;
use crate::model::portable;
use crate::model::{is_anchor, Ladder, Network, LATENT_STRIDE, QUALITY_MAX, QUALITY_MIN, RUNGS};
use crate::package::{ModelMetadata, Package};
use crate::refine::{self, Refinement};

/// Largest image the codec accepts. The stream is one tile; the transforms run on horizontal
/// bands of it (`Network::analyse_bands`, the host synthesis' `forward_bands`), so a 40-million-pixel
/// image encodes in about 2.2 GB and decodes in 1.2 GB (12 and 8.5 GB in one piece).
pub const LIMITS: Limits = Limits {
    max_width: 16_384,
    max_height: 16_384,
    max_pixels: 40_000_000,
    ..Limits::DEFAULT
};

/// The default model package, trained by the ansel project (see `assets/MODEL.md`).
/// Aligned so the bytes could be viewed as f32 without copying.
#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);
static DEFAULT_PACKAGE: &Aligned<[u8]> = &Aligned(*include_bytes!("../assets/default.anselpkg"));

/// An encoder and decoder built from one model package, ready to code on the CPU.
///
/// ```no_run
/// let codec = ansel::Codec::embedded()?;
/// let image = image::open("photo.png")?.to_rgb8();
/// let stream = codec.encode(&image, 4.0)?;
/// let decoded = codec.decode(&stream)?;
/// assert_eq!(decoded.dimensions(), image.dimensions());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Codec {
    network: Network,
    device: Device,
    z_tables: CodingTables,
    y_tables: CodingTables,
    scales: ScaleQuantizer,
    z_medians: Vec<f32>,
    /// Host copies of the hyper-synthesis and the context model: what chooses the tables runs
    /// there, the same on every machine and backend (see `model::portable`).
    host_hyper: portable::HyperSynthesis,
    host_context: Option<portable::Context>,
    /// Host copy of the synthesis transform: decoding gives the same pixels everywhere.
    host_synthesis: portable::Synthesis,
    /// How large the transforms' bands may grow (bytes of the widest activation).
    band_bytes: usize,
    /// λ of each quality rung (what refinement weighs distortion with).
    ladder: Ladder,
    id: ModelId,
    metadata: ModelMetadata,
}

/// The side information both directions derive from ẑ: the hyperprior's prediction and the
/// first pass's means and table indexes (of every element; the first pass codes the anchors
/// of a context model, every element of other models).
struct SideInfo {
    /// h_s(ẑ), `[scales | means]`, as computed on the host.
    raw: portable::Map,
    means: Vec<f32>,
    indexes: Vec<u16>,
}

/// The latent as both directions know it once every pass is coded.
struct CodedLatent {
    /// ŷ = symbol + μ of every element, in tensor order.
    values: Vec<f32>,
    /// Symbols in coding order (the order of the y stream).
    symbols: Vec<i32>,
    /// Table indexes in coding order.
    indexes: Vec<u16>,
}

impl Codec {
    /// The codec with the default model embedded in the library.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_package_bytes(&DEFAULT_PACKAGE.0)
    }

    /// Loads a model package from a file.
    pub fn from_package_file(path: &std::path::Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
        Self::from_package_bytes(&bytes)
    }

    /// Loads a model package from its bytes.
    pub fn from_package_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_package(&Package::from_bytes(bytes)?)
    }

    /// Loads a parsed model package.
    pub fn from_package(package: &Package) -> Result<Self, Error> {
        let device = Device::flex();
        let network =
            crate::model::load_package_weights(&package.weights, package.metadata.network, &device)
                .map_err(Error::Model)?;
        let z_set = entropy::TableSet::from_bytes(&package.z_tables)?;
        let y_set = entropy::TableSet::from_bytes(&package.y_tables)?;
        let ladder: Ladder = package
            .metadata
            .lambdas
            .as_slice()
            .try_into()
            .ok()
            .filter(|l: &Ladder| l.iter().all(|v| v.is_finite() && *v > 0.0))
            .ok_or_else(|| {
                Error::Model(format!(
                    "the model lists λ {:?}, not {RUNGS} positive values",
                    package.metadata.lambdas
                ))
            })?;
        if z_set.tables.len() != package.metadata.network.n || y_set.tables.is_empty() {
            return Err(Error::Model(format!(
                "{} z tables for {} channels",
                z_set.tables.len(),
                package.metadata.network.n
            )));
        }
        let (host_hyper, host_context) = network.host_entropy_parameters();
        let host_synthesis = network.host_synthesis();
        Ok(Self {
            network,
            device,
            host_hyper,
            host_context,
            host_synthesis,
            band_bytes: portable::BAND_BYTES,
            z_tables: CodingTables::new(&z_set)?,
            y_tables: CodingTables::new(&y_set)?,
            scales: ScaleQuantizer::from_tables(&y_set),
            z_medians: z_set.tables.iter().map(|t| t.key).collect(),
            ladder,
            id: ModelId {
                arch: package.metadata.arch,
                hash: package.id(),
            },
            metadata: package.metadata.clone(),
        })
    }

    /// Moves the encoder's networks to another device (see [`crate::backend`]). Streams stay
    /// interchangeable: the entropy-coding decisions are made on the host, and decoding runs
    /// there entirely, to the same pixels on every machine.
    pub fn on_device(self, device: &SelectedDevice) -> Self {
        let device = device.device().clone();
        Self {
            network: self.network.to_device(&device),
            device,
            ..self
        }
    }

    /// Identity written into (and checked against) every stream.
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// Metadata of the package.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Number of learned parameters of the network (transforms, gains, density of z).
    pub fn parameter_count(&self) -> usize {
        self.network.num_params()
    }

    /// Compresses an image at `quality` (1..=8, fractions allowed) into an `.ansel` stream.
    pub fn encode(&self, image: &RgbImage, quality: f32) -> Result<Vec<u8>, Error> {
        self.encode_with(image, quality, Refinement::NONE)
    }

    /// Compresses an image at `quality` after refining its latent (see [`crate::refine`]):
    /// slower, by about four plain encodes per step, and never worse by the model's own
    /// rate-distortion measure. [`Refinement::NONE`] is [`Codec::encode`].
    ///
    /// ```
    /// use ansel::refine::Refinement;
    /// let codec = ansel::Codec::embedded()?;
    /// let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    /// let stream = codec.encode_with(&image, 5.0, Refinement::steps(4))?;
    /// assert_eq!(codec.decode(&stream)?.dimensions(), (64, 48));
    /// # Ok::<(), ansel::Error>(())
    /// ```
    pub fn encode_with(
        &self,
        image: &RgbImage,
        quality: f32,
        refinement: Refinement,
    ) -> Result<Vec<u8>, Error> {
        check_quality(quality)?;
        let (width, height) = image.dimensions();
        let header = Header {
            width,
            height,
            color: ColorLayout::Rgb8,
            model: self.id,
            quality,
            tile_width: width,
            tile_height: height,
        };
        header.validate(&LIMITS)?;
        let (planes, ph, pw) = image_io::to_padded_planes(image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &self.device);
        let gains = self.network.gains_for_quality(quality, &self.device);
        let x_padded = x.clone();
        // Refining holds the whole image's activations anyway (it runs g_s on the device).
        let y = if refinement.is_active() {
            self.network.analyse(x, &gains)
        } else {
            let band = self
                .host_synthesis
                .band_rows(pw / LATENT_STRIDE, self.band_bytes);
            self.network.analyse_bands(x, &gains, band)
        };
        let z = self.network.hyper_analyse(y.clone(), &gains);
        let z_shape = z.dims();
        let z = to_vec(z);
        let plane = z_shape[2] * z_shape[3];
        let z_symbols: Vec<i32> = z
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - self.z_medians[i / plane]).round() as i32)
            .collect();
        let z_indexes = entropy::channel_indexes(z_shape[1], plane);
        let z_stream = entropy::encode(&z_symbols, &z_indexes, &self.z_tables)?;

        let side = self.side_information(&z_symbols, z_shape, quality);
        let problem = refine::Problem {
            network: &self.network,
            gains: &gains,
            lambda: crate::model::lambda_for_quality(&self.ladder, quality),
            x: x_padded,
            hyper: side.raw.to_tensor(&self.device),
            height: height as usize,
            width: width as usize,
        };
        let y = refine::refine(&problem, y, refinement);
        let [_, m, yh, yw] = y.dims();
        let y = to_vec(y);
        let latent = self.code_latent(side, [m, yh, yw], |positions, means, _| {
            Ok(positions
                .iter()
                .map(|&p| (y[p] - means[p]).round() as i32)
                .collect())
        })?;
        let y_stream = entropy::encode(&latent.symbols, &latent.indexes, &self.y_tables)?;
        let container = Container {
            header,
            tiles: vec![Tile {
                index_check: entropy::index_checksum(&latent.indexes),
                sections: vec![
                    Section {
                        kind: SectionKind::HyperLatent,
                        data: z_stream,
                    },
                    Section {
                        kind: SectionKind::Latent,
                        data: y_stream,
                    },
                ],
            }],
        };
        Ok(container.to_bytes()?)
    }

    /// Compresses an image at the quality whose rate lands closest to `target_bpp` bits per
    /// pixel, and returns the stream with the quality it was coded at.
    ///
    /// The model is variable-rate: quality is continuous and the file size grows with it,
    /// roughly exponentially. The search encodes at quality 4, then steps along the secant of
    /// log(bpp) against quality; once two tries bracket the target it interpolates inside the
    /// bracket, bisecting when the interpolation falls near an end. It stops when the rate is
    /// within 0.5 % of the target, the bracket is narrower than 0.001 or after 12 encodes
    /// (typically 3 or 4), and returns the stream closest to the target (in ratio) among all
    /// those tried. A target below the rate of quality 1 gives quality 1, one above the rate
    /// of quality 8 gives quality 8.
    ///
    /// The result is deterministic, and the stream is the one `encode(image, quality)` gives
    /// for the returned quality.
    ///
    /// ```
    /// let codec = ansel::Codec::embedded()?;
    /// let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    /// let at_5 = codec.encode(&image, 5.0)?;
    /// let target = 8.0 * at_5.len() as f64 / (64.0 * 48.0);
    /// let (stream, quality) = codec.encode_to_bpp(&image, target)?;
    /// assert!((1.0..=8.0).contains(&quality));
    /// assert_eq!(codec.decode(&stream)?.dimensions(), (64, 48));
    /// # Ok::<(), ansel::Error>(())
    /// ```
    pub fn encode_to_bpp(
        &self,
        image: &RgbImage,
        target_bpp: f64,
    ) -> Result<(Vec<u8>, f32), Error> {
        self.encode_to_bpp_with(image, target_bpp, Refinement::NONE)
    }

    /// [`Codec::encode_to_bpp`] with every try refined (see [`Codec::encode_with`]): the
    /// returned stream is the one `encode_with(image, quality, refinement)` gives.
    pub fn encode_to_bpp_with(
        &self,
        image: &RgbImage,
        target_bpp: f64,
        refinement: Refinement,
    ) -> Result<(Vec<u8>, f32), Error> {
        if !(target_bpp.is_finite() && target_bpp > 0.0) {
            return Err(Error::TargetRate(target_bpp));
        }
        check_dimensions(image.width(), image.height())?;
        const START: f32 = 4.0;
        // d ln(bpp) / d quality before two tries measure it.
        const SLOPE: f64 = 0.25;
        const MAX_TRIES: usize = 12;
        let pixels = image.width() as f64 * image.height() as f64;
        let goal = target_bpp.ln();
        // (quality, ln bpp) of the best try below and above the target.
        let mut below: Option<(f32, f64)> = None;
        let mut above: Option<(f32, f64)> = None;
        let mut last: Option<(f32, f64)> = None;
        let mut best: Option<(Vec<u8>, f32, f64)> = None;
        let mut q = START;
        for _ in 0..MAX_TRIES {
            let stream = self.encode_with(image, q, refinement)?;
            let rate = (8.0 * stream.len() as f64 / pixels).ln();
            let miss = (rate - goal).abs();
            if best.as_ref().is_none_or(|b| miss < b.2) {
                best = Some((stream, q, miss));
            }
            if miss <= 0.005 {
                break;
            }
            // Keep the tightest bracket: the highest quality below, the lowest above.
            if rate < goal {
                if below.is_none_or(|b| q > b.0) {
                    below = Some((q, rate));
                }
            } else if above.is_none_or(|a| q < a.0) {
                above = Some((q, rate));
            }
            let next = match (below, above) {
                (Some(lo), Some(hi)) => {
                    let width = hi.0 - lo.0;
                    if width <= 1e-3 {
                        break;
                    }
                    let t = if hi.1 > lo.1 {
                        ((goal - lo.1) / (hi.1 - lo.1)) as f32
                    } else {
                        0.5
                    };
                    lo.0 + width * if (0.05..=0.95).contains(&t) { t } else { 0.5 }
                }
                _ => {
                    // One side known: a secant step, with the slope of the last two tries
                    // when they give a sensible one.
                    let slope = last
                        .map(|(lq, lr)| (rate - lr) / f64::from(q - lq))
                        .filter(|s| s.is_finite() && (0.02..=2.0).contains(s))
                        .unwrap_or(SLOPE);
                    let step = ((goal - rate) / slope) as f32;
                    (q + step).clamp(QUALITY_MIN, QUALITY_MAX)
                }
            };
            if next == q {
                break; // at an end of the quality range, still short of the target
            }
            last = Some((q, rate));
            q = next;
        }
        let (stream, quality, _) = best.expect("at least one try");
        Ok((stream, quality))
    }

    /// Compares the rate the training loss estimates (−log2 of the model likelihoods of the
    /// quantised latents, as in CompressAI's `forward`) with the bytes the entropy coder
    /// actually writes for `image` at `quality`.
    pub fn rate_report(&self, image: &RgbImage, quality: f32) -> Result<RateReport, Error> {
        check_quality(quality)?;
        let stream = self.encode(image, quality)?;
        let container = Container::from_bytes(&stream, &LIMITS)?;
        let tile = &container.tiles[0];
        let len = |k| tile.section(k).map_or(0, |s| s.len());
        let (planes, ph, pw) = image_io::to_padded_planes(image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &self.device);
        let gains = self.network.gains_for_quality(quality, &self.device);
        let y = self.network.analyse(x, &gains);
        let z = self.network.hyper_analyse(y.clone(), &gains);
        let medians = self.network.density().medians();
        let z_hat = (z - medians.clone()).round() + medians;
        let bits_z =
            crate::model::bits_per_sample(self.network.density().likelihood(z_hat.clone()));
        let hyper = self.network.hyper_synthesise(z_hat, &gains);
        let (means, scales) = self.network.conditional_coded(hyper, y.clone());
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

    /// Compresses an image into a writer.
    pub fn encode_to<W: std::io::Write>(
        &self,
        image: &RgbImage,
        quality: f32,
        mut out: W,
    ) -> Result<(), Error> {
        let bytes = self.encode(image, quality)?;
        out.write_all(&bytes)
            .map_err(|e| Error::Io("output".into(), e))
    }

    /// Decompresses one `.ansel` file from a reader (reads exactly the file's bytes).
    pub fn decode_from<R: std::io::Read>(&self, input: R) -> Result<RgbImage, Error> {
        let container = Container::read_from(input, &LIMITS)?;
        self.decode_container(&container)
    }

    /// Decompresses an `.ansel` stream made with this model.
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, Error> {
        let container = Container::from_bytes(bytes, &LIMITS)?;
        self.decode_container(&container)
    }

    /// Decompresses a parsed container.
    pub fn decode_container(&self, container: &Container) -> Result<RgbImage, Error> {
        let h = &container.header;
        if h.model != self.id {
            return Err(Error::WrongModel {
                stream: h.model,
                loaded: self.id,
            });
        }
        if h.color != ColorLayout::Rgb8 {
            return Err(Error::Unsupported(format!("colour layout {:?}", h.color)));
        }
        check_quality(h.quality)?;
        if container.tiles.len() != 1 || h.tile_width != h.width || h.tile_height != h.height {
            return Err(Error::Unsupported("more than one tile".into()));
        }
        let tile = &container.tiles[0];
        let section = |kind| {
            tile.section(kind)
                .ok_or(Error::Corrupt(format!("missing {kind:?} section")))
        };
        let (ph, pw) = (
            image_io::padded_len(h.height) as usize,
            image_io::padded_len(h.width) as usize,
        );
        let ([m, yh, yw], [n, zh, zw]) = self.network.latent_shapes(ph, pw);
        let z_indexes = entropy::channel_indexes(n, zh * zw);
        let z_symbols = entropy::decode(
            section(SectionKind::HyperLatent)?,
            &z_indexes,
            &self.z_tables,
        )?;
        let side = self.side_information(&z_symbols, [1, n, zh, zw], h.quality);
        let mut stream = entropy::Decoder::new(section(SectionKind::Latent)?)?;
        let mut derived = Vec::with_capacity(m * yh * yw);
        let latent = self.code_latent(side, [m, yh, yw], |_, _, indexes| {
            derived.extend_from_slice(indexes);
            // Check the indexes once all are known: before decoding anything from a model
            // without a context, before the second pass of one with.
            if derived.len() == m * yh * yw {
                let check = entropy::index_checksum(&derived);
                if check != tile.index_check {
                    return Err(Error::IndexMismatch {
                        stream: tile.index_check,
                        derived: check,
                    });
                }
            }
            Ok(stream.decode(indexes, &self.y_tables)?)
        })?;
        stream.finish()?;
        let gains = self.network.gains_for_quality(h.quality, &self.device);
        let mut image = RgbImage::new(h.width, h.height);
        let synthesis = &self.host_synthesis;
        synthesis.forward_bands(
            &latent.values,
            [m, yh, yw],
            &to_vec(gains.latent_inv),
            synthesis.band_rows(yw, self.band_bytes),
            |first, rows| image_io::put_rows(&mut image, first, &rows.data, pw),
        );
        Ok(image)
    }

    /// ẑ from the z symbols, then the hyperprior's prediction h_s(ẑ), and from it (μ, σ) and
    /// the table index of every y element for the first pass. The single code path encoder
    /// and decoder share; it runs on the host (see `model::portable`), so both derive the
    /// same tables whatever devices they run on.
    fn side_information(&self, z_symbols: &[i32], z_shape: [usize; 4], quality: f32) -> SideInfo {
        let [_, n, zh, zw] = z_shape;
        let plane = zh * zw;
        let z_hat: Vec<f32> = z_symbols
            .iter()
            .enumerate()
            .map(|(i, &s)| s as f32 + self.z_medians[i / plane])
            .collect();
        // The gains are interpolated on the host (`Gains::for_quality`); reading them back
        // from a device is exact.
        let gains = self.network.gains_for_quality(quality, &self.device);
        let raw = self
            .host_hyper
            .forward(&z_hat, [n, zh, zw], &to_vec(gains.hyper_inv));
        let first = self.host_context.as_ref().map(|c| c.anchors(&raw));
        let (means, scales) = portable::split_params(first.as_ref().unwrap_or(&raw));
        SideInfo {
            raw,
            means,
            indexes: self.scales.indexes(&scales),
        }
    }

    /// Codes the latent `[m, h, w]` pass by pass, the code path encoder and decoder share:
    /// for each pass, `symbols(positions, means, indexes)` gives the symbols of the elements
    /// at `positions` (tensor order), whose means are `means[p]` (every element's, indexed by
    /// position) and whose tables are `indexes` (this pass's, in coding order). The encoder
    /// rounds its latent, the decoder reads the stream. A model without a context model has
    /// one pass over every element; one with has two, the anchors and then the rest, whose
    /// (μ, σ) are derived from the anchors decoded in the first.
    fn code_latent(
        &self,
        side: SideInfo,
        [m, h, w]: [usize; 3],
        mut symbols: impl FnMut(&[usize], &[f32], &[u16]) -> Result<Vec<i32>, Error>,
    ) -> Result<CodedLatent, Error> {
        let all = m * h * w;
        let passes: Vec<Vec<usize>> = if self.network.has_context() {
            let (anchors, rest) = (0..all).partition(|&p| is_anchor(p / w % h, p % w));
            vec![anchors, rest]
        } else {
            vec![(0..all).collect()]
        };
        let mut latent = CodedLatent {
            values: vec![0.0; all],
            symbols: Vec::with_capacity(all),
            indexes: Vec::with_capacity(all),
        };
        let (mut means, mut indexes) = (side.means, side.indexes);
        for (pass, positions) in passes.iter().enumerate() {
            if let (true, Some(context)) = (pass > 0, &self.host_context) {
                // `values` holds the decoded anchors and zeros elsewhere.
                let (mu, sigma) = portable::split_params(&context.rest(&side.raw, &latent.values));
                means = mu;
                indexes = self.scales.indexes(&sigma);
            }
            let pass_indexes: Vec<u16> = positions.iter().map(|&p| indexes[p]).collect();
            let pass_symbols = symbols(positions, &means, &pass_indexes)?;
            if pass_symbols.len() != positions.len() {
                return Err(Error::Corrupt("latent pass of the wrong length".into()));
            }
            for (&p, &s) in positions.iter().zip(&pass_symbols) {
                latent.values[p] = s as f32 + means[p];
            }
            latent.symbols.extend(pass_symbols);
            latent.indexes.extend(pass_indexes);
        }
        Ok(latent)
    }
}

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

/// Checks that an image of `width × height` pixels is within the codec's [`LIMITS`]: at least
/// 1×1, at most 16384 pixels on a side and 40 million pixels in all. [`Codec::encode`] makes
/// the same check; this lets a program refuse an image before decoding it in full (the
/// `image` crate reads the dimensions from the file header).
///
/// ```
/// assert!(ansel::codec::check_dimensions(1, 1).is_ok());
/// assert!(ansel::codec::check_dimensions(16_385, 1).is_err());
/// ```
pub fn check_dimensions(width: u32, height: u32) -> Result<(), Error> {
    use codec_format::Error as F;
    for (field, v) in [("image width", width), ("image height", height)] {
        if v == 0 {
            return Err(F::ZeroDimension { field }.into());
        }
    }
    if width > LIMITS.max_width
        || height > LIMITS.max_height
        || width as u64 * height as u64 > LIMITS.max_pixels
    {
        return Err(F::DimensionsTooLarge {
            width,
            height,
            max_width: LIMITS.max_width,
            max_height: LIMITS.max_height,
            max_pixels: LIMITS.max_pixels,
        }
        .into());
    }
    Ok(())
}

fn check_quality(q: f32) -> Result<(), Error> {
    if q.is_finite() && (QUALITY_MIN..=QUALITY_MAX).contains(&q) {
        Ok(())
    } else {
        Err(Error::Quality(q))
    }
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("float tensor")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo_like(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = |a: u32, b: u32| ((a * 7 + b * 3 + (a * b) % 23) % 256) as u8;
            image::Rgb([v(x, y), v(y, x), ((x + y) * 2 % 256) as u8])
        })
    }

    /// The embedded model's network without the context model it may have, and its ladder.
    /// (Loading drops nothing: were the default to get a context model, this would fail and
    /// would have to take it off the loaded network instead.)
    fn plain_default() -> (Network, Ladder) {
        let package = Package::from_bytes(&DEFAULT_PACKAGE.0).unwrap();
        let config = package.metadata.network.with_context(false);
        let network =
            crate::model::load_package_weights(&package.weights, config, &Device::flex()).unwrap();
        let ladder = package.metadata.lambdas.as_slice().try_into().unwrap();
        (network, ladder)
    }

    fn codec_of(network: &Network, ladder: &Ladder) -> Codec {
        let package = crate::train::export::export(
            network,
            network.config(),
            ladder,
            &crate::train::export::Provenance::default(),
        )
        .unwrap();
        Codec::from_package(&package).unwrap()
    }

    /// The embedded model without a context model, and with one added: one that changes
    /// nothing, or (`active`) one whose second pass predicts differently from the first.
    fn with_context(active: bool) -> (Codec, Codec) {
        let device = Device::flex();
        let (plain, ladder) = plain_default();
        let mut network = plain
            .clone()
            .widened(plain.config().with_context(true), &device)
            .unwrap();
        if active {
            network = network.with_fresh_context(&device);
        }
        (codec_of(&plain, &ladder), codec_of(&network, &ladder))
    }

    #[test]
    fn a_context_that_changes_nothing_codes_in_two_passes_to_the_same_pixels() {
        let image = photo_like(200, 136);
        let (plain, context) = with_context(false);
        assert_ne!(plain.id(), context.id());
        for q in [1.0, 6.0] {
            let (a, b) = (
                plain.encode(&image, q).unwrap(),
                context.encode(&image, q).unwrap(),
            );
            assert_ne!(a, b, "the symbols go in another order");
            // Same symbols and tables: the same ideal length, up to a word of ANS overhead.
            assert!(
                a.len().abs_diff(b.len()) <= 8,
                "{} against {}",
                a.len(),
                b.len()
            );
            assert_eq!(plain.decode(&a).unwrap(), context.decode(&b).unwrap());
        }
    }

    #[test]
    fn a_context_model_round_trips_and_uses_its_second_pass() {
        let image = photo_like(200, 136);
        let (_, active) = with_context(true);
        let (_, idle) = with_context(false);
        let q = 5.0;
        let stream = active.encode(&image, q).unwrap();
        let decoded = active.decode(&stream).unwrap();
        assert_eq!(decoded, active.decode(&stream).unwrap());
        // ŷ stays within half a bin of y whatever the means: the same quality, other bits.
        let psnr = |d: &RgbImage| crate::eval::metrics::psnr_rgb(&image, d).unwrap();
        let reference = idle.decode(&idle.encode(&image, q).unwrap()).unwrap();
        assert!((psnr(&decoded) - psnr(&reference)).abs() < 1.0);
        // The second pass derives other tables from the decoded anchors: a decoder whose
        // context is idle cannot read the stream (another model id aside).
        let mut container = Container::from_bytes(&stream, &LIMITS).unwrap();
        container.header.model = idle.id();
        assert!(idle.decode(&container.to_bytes().unwrap()).is_err());
        // Refinement works through both passes.
        let refined = active.encode_with(&image, q, Refinement::steps(2)).unwrap();
        assert_eq!(active.decode(&refined).unwrap().dimensions(), (200, 136));
    }

    /// A package must list a positive λ for every quality rung: refinement weighs distortion
    /// with them.
    #[test]
    fn a_package_without_a_full_lambda_ladder_is_refused() {
        use crate::model::{NetworkConfig, DEFAULT_LADDER};
        use crate::train::export::{export, Provenance};
        let device = Device::flex();
        let config = NetworkConfig::new(8, 8);
        let network = Network::new(config, &device);
        let mut package =
            export(&network, config, &DEFAULT_LADDER, &Provenance::default()).unwrap();
        assert!(Codec::from_package(&package).is_ok());
        for lambdas in [vec![0.1, 0.2], {
            let mut l = DEFAULT_LADDER.to_vec();
            l[3] = -1.0;
            l
        }] {
            package.metadata.lambdas = lambdas;
            match Codec::from_package(&package) {
                Err(Error::Model(m)) => assert!(m.contains("λ"), "{m}"),
                Err(other) => panic!("expected a model error, got {other:?}"),
                Ok(_) => panic!("accepted λ {:?}", package.metadata.lambdas),
            }
        }
    }

    /// Scales every convolution kernel by `1 + ε`: a stand-in for a device whose convolutions
    /// round differently (libtorch, a GPU, another CPU's vector units). Gains and biases are
    /// stored values, which every device holds exactly, so they stay as they are.
    struct Perturb(f32);

    impl burn::module::ModuleMapper for Perturb {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            match D {
                4 => param.map(|t| t.mul_scalar(1.0 + self.0)),
                _ => param,
            }
        }
    }

    #[test]
    fn coding_in_bands_changes_no_byte_and_no_pixel() {
        let (network, ladder) = plain_default();
        let whole = codec_of(&network, &ladder);
        let mut banded = codec_of(&network, &ladder);
        // The thinnest bands: 16 latent rows, so 320 rows are coded as 16 + 4.
        banded.band_bytes = 1;
        let image = photo_like(64, 320);
        let stream = whole.encode(&image, 5.0).unwrap();
        assert!(banded.encode(&image, 5.0).unwrap() == stream);
        assert!(banded.decode(&stream).unwrap() == whole.decode(&stream).unwrap());
    }

    #[test]
    fn streams_decode_on_a_device_that_rounds_differently() {
        use burn::module::Module;
        let (network, ladder) = plain_default();
        let reference = codec_of(&network, &ladder);
        let mut other = codec_of(&network, &ladder);
        other.network = other.network.map(&mut Perturb(1e-5));
        let image = photo_like(160, 96);
        for q in [1.0, 4.5, 8.0] {
            for (encoder, decoder) in [(&other, &reference), (&reference, &other)] {
                let stream = encoder.encode(&image, q).unwrap();
                // Decoding never touches the device: the same pixels, not just near ones.
                let pixels = decoder.decode(&stream).unwrap();
                assert!(pixels == encoder.decode(&stream).unwrap(), "quality {q}");
            }
        }
        // What the device computes for h_s still differs (the rate estimate uses it), so the
        // tables above owe nothing to luck.
        let estimate = |c: &Codec| c.rate_report(&image, 4.0).unwrap().estimated_bits_y;
        assert_ne!(estimate(&reference), estimate(&other));
    }

    /// The decoder's host synthesis reconstructs what the network computes on the device,
    /// to within float rounding, on the trained model and a real latent.
    #[test]
    fn host_synthesis_matches_the_device() {
        let (network, ladder) = plain_default();
        let codec = codec_of(&network, &ladder);
        let image = photo_like(128, 96);
        let (planes, ph, pw) = image_io::to_padded_planes(&image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &codec.device);
        for q in [1.0, 8.0] {
            let gains = network.gains_for_quality(q, &codec.device);
            let y_hat = network.analyse(x.clone(), &gains).round();
            let [_, m, h, w] = y_hat.dims();
            let device = to_vec(network.synthesise(y_hat.clone(), &gains));
            let host = codec
                .host_synthesis
                .forward(&to_vec(y_hat), [m, h, w], &to_vec(gains.latent_inv))
                .to_planar();
            let worst = host
                .iter()
                .zip(&device)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-4, "quality {q}: {worst}");
        }
    }

    /// A decoder whose scale quantisation puts one element in another table (as ansel 0.1's
    /// could, when σ came from the device) must refuse the stream, not return garbage.
    #[test]
    fn a_decoder_deriving_another_table_index_fails_with_index_mismatch() {
        let (network, ladder) = plain_default();
        let encoder = codec_of(&network, &ladder);
        let img = photo_like(96, 80);
        let stream = encoder.encode(&img, 4.0).unwrap();
        assert!(encoder.decode(&stream).is_ok());

        // σ of every latent element exactly as the decoder computes it.
        let container = Container::from_bytes(&stream, &LIMITS).unwrap();
        let (ph, pw) = (
            image_io::padded_len(80) as usize,
            image_io::padded_len(96) as usize,
        );
        let (_, [n, zh, zw]) = encoder.network.latent_shapes(ph, pw);
        let z = entropy::decode(
            container.tiles[0]
                .section(SectionKind::HyperLatent)
                .unwrap(),
            &entropy::channel_indexes(n, zh * zw),
            &encoder.z_tables,
        )
        .unwrap();
        let plane = zh * zw;
        let z_hat: Vec<f32> = z
            .iter()
            .enumerate()
            .map(|(i, &s)| s as f32 + encoder.z_medians[i / plane])
            .collect();
        let gains = encoder.network.gains_for_quality(4.0, &encoder.device);
        let raw = encoder
            .host_hyper
            .forward(&z_hat, [n, zh, zw], &to_vec(gains.hyper_inv));
        let sigmas = portable::split_params(&raw).1;

        // Move the threshold of the smallest σ's table just below it: that element (and
        // only elements with the same table and σ above the new threshold) changes table.
        let sigma = sigmas.iter().copied().fold(f32::INFINITY, f32::min);
        let i = encoder.scales.index(sigma) as usize;
        let mut decoder = codec_of(&network, &ladder);
        decoder.scales = encoder.scales.with_threshold(i, sigma.next_down());
        assert_ne!(
            decoder.scales.indexes(&sigmas),
            encoder.scales.indexes(&sigmas)
        );
        match decoder.decode(&stream) {
            Err(Error::IndexMismatch { stream, derived }) => assert_ne!(stream, derived),
            other => panic!("expected an index mismatch, got {other:?}"),
        }
    }
}
