//! Encoding: pad → `g_a·gain` = y → `h_a·hgain` = z → z stream → side information (on the
//! host, as the decoder derives it) → optional refinement of y → y stream → container.
//!
//! The analysis transforms run in burn on the selected device; everything that decides how
//! bits are read runs on the host through the [`Decoder`]'s own latent coder, so a stream
//! encoded on any device decodes everywhere to the same pixels.

#[cfg(feature = "burn")]
use burn::prelude::*;
use image::RgbImage;

use codec_format::{ColorLayout, Container, Header, ModelId, Section, SectionKind, Tile};

#[cfg(feature = "burn")]
use crate::backend::SelectedDevice;
use crate::decode::{Decoder, DEFAULT_PACKAGE};
use crate::limits::LIMITS;
#[cfg(feature = "burn")]
use crate::model::Network;
use crate::package::{ModelMetadata, Package, PackageError};
use crate::pixels::to_padded_map;
#[cfg(feature = "burn")]
use crate::pixels::to_padded_planes;
use crate::quality::Ladder;
use crate::Error;

#[cfg(all(feature = "eval", feature = "burn"))]
mod diagnostics;
mod options;
mod rate_search;
#[cfg(feature = "burn")]
pub(crate) mod refine;

#[cfg(all(feature = "eval", feature = "burn"))]
pub use diagnostics::RateReport;
pub use options::{EncodeOptions, Encoded, Rate, Refinement};

/// An encoder and decoder built from one model package.
///
/// ```no_run
/// let codec = ansel::Codec::embedded()?;
/// let image = image::open("photo.png")?.to_rgb8();
/// let stream = codec.encode(&image, 4.0)?.bytes;
/// let decoded = codec.decode(&stream)?;
/// assert_eq!(decoded.dimensions(), image.dimensions());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Codec {
    pub(crate) decoder: Decoder,
    /// The encoder of each of the package's networks, in the decoder's order.
    pub(crate) encoders: Vec<NetworkEncoder>,
    /// Whether plain encodes use the host analysis (else the burn network on `device`).
    pub(crate) host_analysis: bool,
    /// Learned parameters of each network.
    parameters: Vec<usize>,
    #[cfg(feature = "burn")]
    pub(crate) device: Device,
}

/// What encoding needs of one network of a package besides its decoder.
#[derive(Debug, Clone)]
pub(crate) struct NetworkEncoder {
    /// `g_a` and `h_a` on the host kernels, for plain encodes on the CPU.
    pub analysis: crate::portable::AnalysisModel,
    /// The burn network on the codec's device, loaded from `weights` the first time
    /// refinement or a GPU needs it (a plain CPU encode never does).
    #[cfg(feature = "burn")]
    network: std::sync::OnceLock<Network>,
    #[cfg(feature = "burn")]
    weights: std::sync::Arc<[u8]>,
    /// λ of each quality rung (what refinement weighs distortion with).
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub ladder: Ladder,
}

impl Codec {
    /// The codec of the default model embedded in the library.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_package(&Package::from_bytes(DEFAULT_PACKAGE)?)
    }

    /// The codec of a model package, on the CPU.
    pub fn from_package(package: &Package) -> Result<Self, Error> {
        let mut parameters = Vec::new();
        let mut encoders = Vec::new();
        for network in package.networks() {
            let metadata = &network.metadata;
            let ladder: Ladder = metadata
                .lambdas
                .as_slice()
                .try_into()
                .ok()
                .filter(|l: &Ladder| l.iter().all(|v| v.is_finite() && *v > 0.0))
                .ok_or_else(|| PackageError::Lambdas(metadata.lambdas.clone()))?;
            let weights =
                crate::package::weights::Weights::parse(&network.weights, metadata.network)?;
            parameters.push(weights.parameter_count());
            encoders.push(NetworkEncoder {
                analysis: crate::portable::AnalysisModel::from_weights(&weights, metadata.network)?,
                #[cfg(feature = "burn")]
                network: std::sync::OnceLock::new(),
                #[cfg(feature = "burn")]
                weights: network.weights.as_slice().into(),
                ladder,
            });
        }
        Ok(Self {
            decoder: Decoder::from_package(package)?,
            encoders,
            host_analysis: true,
            parameters,
            #[cfg(feature = "burn")]
            device: Device::flex(),
        })
    }

    #[cfg(feature = "burn")]
    /// Moves the encoder's networks to another device (see [`crate::backend`]). Streams stay
    /// interchangeable: the entropy-coding decisions are made on the host, and decoding runs
    /// there entirely, to the same pixels on every machine.
    pub fn on_device(self, selected: &SelectedDevice) -> Self {
        let device = selected.device().clone();
        let encoders = self
            .encoders
            .into_iter()
            .map(|encoder| {
                let network = std::sync::OnceLock::new();
                if let Some(loaded) = encoder.network.get() {
                    let _ = network.set(loaded.clone().to_device(&device));
                }
                NetworkEncoder { network, ..encoder }
            })
            .collect();
        Self {
            encoders,
            device,
            host_analysis: !selected.is_gpu(),
            ..self
        }
    }

    /// The burn network that codes `quality`, on the codec's device, loaded on first use.
    #[cfg(feature = "burn")]
    pub(crate) fn network(&self, quality: f32) -> Result<&Network, Error> {
        let k = self.decoder.network_index(quality)?;
        let encoder = &self.encoders[k];
        if let Some(network) = encoder.network.get() {
            return Ok(network);
        }
        let config = self.decoder.networks[k].metadata.network;
        let network = crate::model::load_package_weights(&encoder.weights, config, &self.device)?;
        Ok(encoder.network.get_or_init(|| network))
    }

    /// Replaces the burn network of a single-network codec (tests that perturb it).
    #[cfg(all(test, feature = "burn"))]
    pub(crate) fn set_network(&mut self, network: Network) {
        self.encoders[0].network = std::sync::OnceLock::from(network);
    }

    /// The decoder of this codec's model.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Identity written into (and checked against) every stream.
    pub fn id(&self) -> ModelId {
        self.decoder.id()
    }

    /// Metadata of the package's first network (see [`Decoder::metadata`]).
    pub fn metadata(&self) -> &ModelMetadata {
        self.decoder.metadata()
    }

    /// Number of learned parameters of the package's networks, all together (transforms,
    /// gains, density of z).
    pub fn parameter_count(&self) -> usize {
        self.parameters.iter().sum()
    }

    /// Number of learned parameters of each network, in quality order.
    pub fn parameter_counts(&self) -> &[usize] {
        &self.parameters
    }

    /// Compresses an image into an `.ansel` stream: at a quality (`4.0` or
    /// [`EncodeOptions::quality`]) or at the quality closest to a number of bits per pixel
    /// ([`EncodeOptions::bits_per_pixel`], a search of typically 3 or 4 encodes, see
    /// `src/encode/rate_search.rs`), optionally refining the latent first
    /// ([`EncodeOptions::refine`]: slower, by about four plain encodes per step, and never
    /// worse by the model's own rate-distortion measure). A package of one network per quality
    /// ([`Decoder::network_count`] of 2 or more) codes the whole qualities 1 to K only: any
    /// other is [`Error::NetworkQuality`].
    ///
    /// ```
    /// use ansel::{EncodeOptions, Refinement};
    /// let codec = ansel::Codec::embedded()?;
    /// let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    /// let at_5 = codec.encode(&image, 5.0)?;
    /// let target = 8.0 * at_5.bytes.len() as f64 / (64.0 * 48.0);
    /// let sized = codec.encode(&image, EncodeOptions::bits_per_pixel(target))?;
    /// assert!((1.0..=8.0).contains(&sized.quality));
    /// let refined = codec.encode(&image, EncodeOptions::quality(5.0).refine(Refinement::steps(2)))?;
    /// assert_eq!(codec.decode(&refined.bytes)?.dimensions(), (64, 48));
    /// # Ok::<(), ansel::Error>(())
    /// ```
    pub fn encode(
        &self,
        image: &RgbImage,
        options: impl Into<EncodeOptions>,
    ) -> Result<Encoded, Error> {
        let EncodeOptions { rate, refinement } = options.into();
        let (bytes, quality) = match rate {
            Rate::Quality(q) => (self.encode_at(image, q, refinement)?, q),
            Rate::BitsPerPixel(bpp) => rate_search::search(self, image, bpp, refinement)?,
        };
        Ok(Encoded { bytes, quality })
    }

    /// Decompresses an `.ansel` stream made with this model (see [`Decoder::decode`]).
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, Error> {
        self.decoder.decode(bytes)
    }

    /// The stream of `image` at `quality`.
    pub(crate) fn encode_at(
        &self,
        image: &RgbImage,
        quality: f32,
        refinement: Refinement,
    ) -> Result<Vec<u8>, Error> {
        let k = self.decoder.network_index(quality)?;
        let (width, height) = image.dimensions();
        let header = Header {
            width,
            height,
            color: ColorLayout::Rgb8,
            model: self.id(),
            quality,
            tile_width: width,
            tile_height: height,
        };
        header.validate(&LIMITS)?;
        let decoder = &self.decoder.networks[k];
        // The plain encode runs its transforms on the host kernels; refinement (which needs
        // gradients) and a GPU run them in burn.
        let host = self.host_analysis && !refinement.is_active();
        #[cfg(not(feature = "burn"))]
        if !host {
            return Err(Error::NeedsBurn);
        }
        let (y, [m, yh, yw], z_symbols, z_shape, side) = if host {
            let y = self.host_latent(k, &to_padded_map(image), quality);
            let (z_symbols, z_shape) = self.host_hyper_symbols(k, &y, quality);
            let side = decoder
                .coder
                .side_information(&decoder.model, &z_symbols, z_shape, quality);
            (y.to_planar(), [y.c, y.h, y.w], z_symbols, z_shape, side)
        } else {
            #[cfg(feature = "burn")]
            {
                let (planes, ph, pw) = to_padded_planes(image);
                let x =
                    Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &self.device);
                let network = self.network(quality)?;
                let gains = network.gains_for_quality(quality, &self.device);
                let x_padded = x.clone();
                // Refining holds the whole image's activations anyway (it runs g_s on the device).
                let y = if refinement.is_active() {
                    network.analyse(x, &gains)
                } else {
                    network.analyse_bands(x, &gains, self.band_rows(k, pw))
                };
                let z = network.hyper_analyse(y.clone(), &gains);
                let [_, n, zh, zw] = z.dims();
                let z_symbols = decoder.coder.z_symbols(&to_vec(z), zh * zw);
                let side = decoder.coder.side_information(
                    &decoder.model,
                    &z_symbols,
                    [n, zh, zw],
                    quality,
                );
                let problem = refine::Problem {
                    network,
                    gains: &gains,
                    lambda: crate::quality::lambda_for_quality(&self.encoders[k].ladder, quality),
                    x: x_padded,
                    hyper: map_to_tensor(&side.raw, &self.device),
                    height: height as usize,
                    width: width as usize,
                };
                let y = refine::refine(&problem, y, refinement);
                let [_, m, yh, yw] = y.dims();
                (to_vec(y), [m, yh, yw], z_symbols, [n, zh, zw], side)
            }
            #[cfg(not(feature = "burn"))]
            unreachable!("refused above")
        };
        let z_stream = decoder.coder.encode_z(&z_symbols, z_shape)?;
        let latent = decoder
            .coder
            .quantise_latent(&decoder.model, side, [m, yh, yw], &y)?;
        let y_stream =
            crate::entropy::encode(&latent.symbols, &latent.indexes, &decoder.coder.y_tables)?;
        let container = Container {
            header,
            tiles: vec![Tile {
                index_check: crate::entropy::index_checksum(&latent.indexes),
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
}

impl Codec {
    /// Latent rows per band of an image padded to `pw` pixels wide, for network `k`: the
    /// decoder's bands.
    fn band_rows(&self, k: usize, pw: usize) -> usize {
        self.decoder.networks[k].model.synthesis.band_rows(
            pw / crate::architecture::LATENT_STRIDE,
            self.decoder.band_bytes,
        )
    }

    /// `g_a` of network `k` on the host kernels, in bands: the latent of padded pixels `x`,
    /// times its gain.
    pub(crate) fn host_latent(
        &self,
        k: usize,
        x: &crate::portable::Map,
        quality: f32,
    ) -> crate::portable::Map {
        let host = &self.encoders[k].analysis;
        host.analysis
            .forward_bands(x, &host.latent_gain(quality), self.band_rows(k, x.w))
    }

    /// `h_a` of network `k` on the host kernels, then z's symbols and shape `[n, h, w]`.
    pub(crate) fn host_hyper_symbols(
        &self,
        k: usize,
        y: &crate::portable::Map,
        quality: f32,
    ) -> (Vec<i32>, [usize; 3]) {
        let host = &self.encoders[k].analysis;
        let z = host.hyper.forward(y, &host.hyper_gain(quality));
        let symbols = self.decoder.networks[k]
            .coder
            .z_symbols(&z.to_planar(), z.h * z.w);
        (symbols, [z.c, z.h, z.w])
    }
}

/// A tensor's values as f32, in its order.
#[cfg(feature = "burn")]
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec()
        .expect("float tensor")
}

/// A channels-last map as a `[1, c, h, w]` tensor on `device`.
#[cfg(feature = "burn")]
fn map_to_tensor(map: &crate::portable::Map, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(map.to_planar(), [1, map.c, map.h, map.w]),
        device,
    )
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;
    use crate::entropy;
    use crate::pixels::{padded_len, to_padded_planes};
    use crate::portable;
    use codec_format::Container;

    fn photo_like(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = |a: u32, b: u32| ((a * 7 + b * 3 + (a * b) % 23) % 256) as u8;
            image::Rgb([v(x, y), v(y, x), ((x + y) * 2 % 256) as u8])
        })
    }

    /// The embedded model's network without its context model, and its ladder.
    fn plain_default() -> (Network, Ladder) {
        let package = Package::from_bytes(DEFAULT_PACKAGE).unwrap();
        let config = package.metadata().network;
        let network = crate::model::load_package_weights(
            &package.networks()[0].weights,
            config,
            &Device::flex(),
        )
        .unwrap()
        .without_context();
        let ladder = package.metadata().lambdas.as_slice().try_into().unwrap();
        (network, ladder)
    }

    fn codec_of(network: &Network, ladder: &Ladder) -> Codec {
        let package = crate::package::export::export(
            network,
            network.config(),
            ladder,
            &crate::package::export::Provenance::default(),
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
                plain.encode(&image, q).unwrap().bytes,
                context.encode(&image, q).unwrap().bytes,
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
        let stream = active.encode(&image, q).unwrap().bytes;
        let decoded = active.decode(&stream).unwrap();
        assert_eq!(decoded, active.decode(&stream).unwrap());
        // ŷ stays within half a bin of y whatever the means: the same quality, other bits.
        let psnr = |d: &RgbImage| crate::eval::metrics::psnr_rgb(&image, d).unwrap();
        let reference = idle.decode(&idle.encode(&image, q).unwrap().bytes).unwrap();
        assert!((psnr(&decoded) - psnr(&reference)).abs() < 1.0);
        // The second pass derives other tables from the decoded anchors: a decoder whose
        // context is idle cannot read the stream (another model id aside).
        let mut container = Container::from_bytes(&stream, &LIMITS).unwrap();
        container.header.model = idle.id();
        assert!(idle.decode(&container.to_bytes().unwrap()).is_err());
        // Refinement works through both passes.
        let refined = active
            .encode(
                &image,
                EncodeOptions::quality(q).refine(Refinement::steps(2)),
            )
            .unwrap()
            .bytes;
        assert_eq!(active.decode(&refined).unwrap().dimensions(), (200, 136));
    }

    /// A package must list a positive λ for every quality rung: refinement weighs distortion
    /// with them.
    #[test]
    fn a_package_without_a_full_lambda_ladder_is_refused() {
        use crate::model::{NetworkConfig, DEFAULT_LADDER};
        use crate::package::export::{export, Provenance};
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
            package.metadata_mut().lambdas = lambdas;
            match Codec::from_package(&package) {
                Err(Error::Package(PackageError::Lambdas(l))) => {
                    assert_eq!(l, package.metadata().lambdas)
                }
                Err(other) => panic!("expected a model error, got {other:?}"),
                Ok(_) => panic!("accepted λ {:?}", package.metadata().lambdas),
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
        banded.decoder.band_bytes = 1;
        let image = photo_like(64, 320);
        let stream = whole.encode(&image, 5.0).unwrap().bytes;
        assert!(banded.encode(&image, 5.0).unwrap().bytes == stream);
        assert!(banded.decode(&stream).unwrap() == whole.decode(&stream).unwrap());
    }

    #[test]
    fn streams_decode_on_a_device_that_rounds_differently() {
        use burn::module::Module;
        let (network, ladder) = plain_default();
        let mut reference = codec_of(&network, &ladder);
        let mut other = codec_of(&network, &ladder);
        other.set_network(network.clone().map(&mut Perturb(1e-5)));
        // Both encode on the burn network, as on a GPU.
        reference.host_analysis = false;
        other.host_analysis = false;
        let image = photo_like(160, 96);
        for q in [1.0, 4.5, 8.0] {
            for (encoder, decoder) in [(&other, &reference), (&reference, &other)] {
                let stream = encoder.encode(&image, q).unwrap().bytes;
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
        let (planes, ph, pw) = to_padded_planes(&image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &codec.device);
        for q in [1.0, 8.0] {
            let gains = network.gains_for_quality(q, &codec.device);
            let y_hat = network.analyse(x.clone(), &gains).round();
            let [_, m, h, w] = y_hat.dims();
            let device = to_vec(network.synthesise(y_hat.clone(), &gains));
            let host = codec.decoder.networks[0]
                .model
                .synthesis
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
        let stream = encoder.encode(&img, 4.0).unwrap().bytes;
        assert!(encoder.decode(&stream).is_ok());

        // σ of every latent element exactly as the decoder computes it.
        let container = Container::from_bytes(&stream, &LIMITS).unwrap();
        let (ph, pw) = (padded_len(80) as usize, padded_len(96) as usize);
        let (_, [n, zh, zw]) = encoder.network(4.0).unwrap().latent_shapes(ph, pw);
        let z = entropy::decode(
            container.tiles[0]
                .section(SectionKind::HyperLatent)
                .unwrap(),
            &entropy::channel_indexes(n, zh * zw),
            &encoder.decoder.networks[0].coder.z_tables,
        )
        .unwrap();
        let plane = zh * zw;
        let z_hat: Vec<f32> = z
            .iter()
            .enumerate()
            .map(|(i, &s)| s as f32 + encoder.decoder.networks[0].coder.z_medians[i / plane])
            .collect();
        let model = &encoder.decoder.networks[0].model;
        let raw = model
            .hyper
            .forward(&z_hat, [n, zh, zw], &model.hyper_gain_inv(4.0));
        let sigmas = portable::split_params(&raw).1;

        // Move the threshold of the smallest σ's table just below it: that element (and
        // only elements with the same table and σ above the new threshold) changes table.
        let sigma = sigmas.iter().copied().fold(f32::INFINITY, f32::min);
        let i = encoder.decoder.networks[0].coder.scales.index(sigma) as usize;
        let mut decoder = codec_of(&network, &ladder);
        decoder.decoder.networks[0].coder.scales = encoder.decoder.networks[0]
            .coder
            .scales
            .with_threshold(i, sigma.next_down());
        assert_ne!(
            decoder.decoder.networks[0].coder.scales.indexes(&sigmas),
            encoder.decoder.networks[0].coder.scales.indexes(&sigmas)
        );
        match decoder.decode(&stream) {
            Err(Error::IndexMismatch { stream, derived }) => assert_ne!(stream, derived),
            other => panic!("expected an index mismatch, got {other:?}"),
        }
    }

    /// The host kernels' `g_a` and `h_a` compute what the burn network computes, to within
    /// float rounding, and streams from either decode alike.
    #[test]
    fn host_analysis_matches_the_network() {
        let (network, ladder) = plain_default();
        let mut codec = codec_of(&network, &ladder);
        let image = photo_like(128, 96);
        let (planes, ph, pw) = to_padded_planes(&image);
        let x = Tensor::<4>::from_data(TensorData::new(planes, [1, 3, ph, pw]), &codec.device);
        let close = |host: &[f32], device: &[f32], what: &str| {
            assert_eq!(host.len(), device.len());
            let worst = host
                .iter()
                .zip(device)
                .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                .fold(0.0, f32::max);
            assert!(worst < 1e-4, "{what}: {worst}");
        };
        for q in [1.0, 5.5, 8.0] {
            let gains = network.gains_for_quality(q, &codec.device);
            let y = network.analyse(x.clone(), &gains);
            let z = network.hyper_analyse(y.clone(), &gains);
            let host = &codec.encoders[0].analysis;
            let y_host = host
                .analysis
                .forward(&to_padded_map(&image), &host.latent_gain(q));
            let z_host = host.hyper.forward(&y_host, &host.hyper_gain(q));
            close(&y_host.to_planar(), &to_vec(y), "y");
            close(&z_host.to_planar(), &to_vec(z), "z");
        }
        let stream = codec.encode(&image, 5.0).unwrap().bytes;
        codec.host_analysis = false;
        let burn = codec.encode(&image, 5.0).unwrap().bytes;
        assert!(
            stream.len().abs_diff(burn.len()) <= 16,
            "{} against {}",
            stream.len(),
            burn.len()
        );
        let (a, b) = (codec.decode(&stream).unwrap(), codec.decode(&burn).unwrap());
        let psnr = |d: &RgbImage| crate::eval::metrics::psnr_rgb(&image, d).unwrap();
        assert!((psnr(&a) - psnr(&b)).abs() < 0.05);
    }
}
