//! Decoding: container → z stream → side information → y stream, pass by pass → portable
//! synthesis → pixels. Runs entirely on the host, in arithmetic that gives the same pixels on
//! every machine, and needs no burn.

use std::io::Read;

use codec_format::{ColorLayout, Container, Limits, ModelId, SectionKind};
use image::RgbImage;

use crate::entropy;
use crate::latent::LatentCoder;
use crate::limits::LIMITS;
use crate::package::{ModelMetadata, Package};
use crate::pixels::{padded_len, put_rows};
use crate::portable::{self, BAND_BYTES};
use crate::{quality, Error};

/// The default model package, trained by the ansel project (see `assets/MODEL.md`).
pub(crate) static DEFAULT_PACKAGE: &[u8] = include_bytes!("../assets/default.anselpkg");

/// A decoder for the streams of one model.
///
/// It runs the model's synthesis and entropy models on the host, with no burn: a build with
/// `default-features = false` decodes (and runs in a browser through wasm).
///
/// ```
/// let decoder = ansel::Decoder::embedded()?;
/// # let picture = image::RgbImage::from_fn(40, 24, |x, y| image::Rgb([x as u8 * 6, y as u8 * 9, 80]));
/// # let stream = ansel::Codec::embedded()?.encode(&picture, 4.0)?.bytes;
/// let image = decoder.decode(&stream)?;
/// assert_eq!(image.dimensions(), (40, 24));
/// # Ok::<(), ansel::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The package's networks, in quality order (see [`Decoder::network`]).
    pub(crate) networks: Vec<NetworkDecoder>,
    /// How large the synthesis' bands may grow (bytes of the widest activation).
    pub(crate) band_bytes: usize,
    id: ModelId,
    /// What streams may claim: the codec's [`LIMITS`] or tighter.
    limits: Limits,
}

/// What coding needs of one network of a package, on the host.
#[derive(Debug, Clone)]
pub(crate) struct NetworkDecoder {
    pub model: portable::Model,
    pub coder: LatentCoder,
    pub metadata: ModelMetadata,
}

impl Decoder {
    /// The decoder of the default model embedded in the library.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_package(&Package::from_bytes(DEFAULT_PACKAGE)?)
    }

    /// The decoder of a model package.
    pub fn from_package(package: &Package) -> Result<Self, Error> {
        let networks = package
            .networks()
            .iter()
            .map(|network| {
                let config = network.metadata.network;
                let weights = crate::package::weights::Weights::parse(&network.weights, config)?;
                Ok(NetworkDecoder {
                    model: portable::Model::from_weights(&weights, config)?,
                    coder: LatentCoder::new(network)?,
                    metadata: network.metadata.clone(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            networks,
            band_bytes: BAND_BYTES,
            id: ModelId {
                arch: package.metadata().arch,
                hash: package.id(),
            },
            limits: LIMITS,
        })
    }

    /// This decoder refusing streams beyond `limits` (image size, file size) before it
    /// allocates anything for them: a service decoding untrusted files can bound the memory
    /// a file may make it spend. Limits looser than the codec's own [`LIMITS`] are tightened
    /// to them; `verify_checksum: false` skips the checksum (only for fuzzing and recovery
    /// tools: every other check still applies).
    ///
    /// ```
    /// let decoder = ansel::Decoder::embedded()?.with_limits(ansel::codec_format::Limits {
    ///     max_pixels: 4096,
    ///     ..ansel::LIMITS
    /// });
    /// # let picture = image::RgbImage::from_fn(128, 64, |x, y| image::Rgb([x as u8, y as u8, 80]));
    /// # let stream = ansel::Codec::embedded()?.encode(&picture, 1.0)?.bytes;
    /// assert!(decoder.decode(&stream).is_err()); // 128 × 64 pixels: more than 4096
    /// # Ok::<(), ansel::Error>(())
    /// ```
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Limits {
            max_width: limits.max_width.min(LIMITS.max_width),
            max_height: limits.max_height.min(LIMITS.max_height),
            max_pixels: limits.max_pixels.min(LIMITS.max_pixels),
            max_file_bytes: limits.max_file_bytes.min(LIMITS.max_file_bytes),
            verify_checksum: limits.verify_checksum,
        };
        self
    }

    /// The limits streams are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Identity written into (and checked against) every stream.
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// Metadata of the package's first network: its only one, unless it holds one network
    /// per quality (see [`Decoder::network_count`]).
    pub fn metadata(&self) -> &ModelMetadata {
        &self.networks[0].metadata
    }

    /// Networks of the package: 1 (which codes every quality, fractions included), or K from
    /// 2 to 8, network k coding the whole quality k.
    pub fn network_count(&self) -> usize {
        self.networks.len()
    }

    /// Metadata of each network of the package, in quality order.
    pub fn network_metadata(&self) -> impl ExactSizeIterator<Item = &ModelMetadata> {
        self.networks.iter().map(|n| &n.metadata)
    }

    /// The network that codes `quality`, which must be one it codes: a number from 1 to 8
    /// for a single network, a whole number from 1 to K for a package of K networks.
    pub(crate) fn network(&self, quality: f32) -> Result<&NetworkDecoder, Error> {
        Ok(&self.networks[self.network_index(quality)?])
    }

    /// The index of the network that codes `quality` (see [`Decoder::network`]).
    pub(crate) fn network_index(&self, quality: f32) -> Result<usize, Error> {
        let k = self.networks.len();
        if k == 1 {
            quality::check(quality)?;
            return Ok(0);
        }
        if quality.fract() == 0.0 && (1.0..=k as f32).contains(&quality) {
            Ok(quality as usize - 1)
        } else {
            Err(Error::NetworkQuality {
                quality,
                networks: k,
            })
        }
    }

    /// Decompresses an `.ansel` stream made with this model.
    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, Error> {
        self.decode_container(&Container::from_bytes(bytes, &self.limits)?)
    }

    /// Decompresses one `.ansel` file from a reader (reads exactly the file's bytes).
    pub fn decode_from(&self, input: impl Read) -> Result<RgbImage, Error> {
        self.decode_container(&Container::read_from(input, &self.limits)?)
    }

    /// Decompresses a parsed container.
    pub(crate) fn decode_container(&self, container: &Container) -> Result<RgbImage, Error> {
        let h = &container.header;
        if h.model != self.id {
            return Err(Error::WrongModel {
                stream: h.model,
                loaded: self.id,
            });
        }
        if h.color != ColorLayout::Rgb8 {
            return Err(Error::UnsupportedColor(h.color));
        }
        let network = self.network(h.quality)?;
        if container.tiles.len() != 1 || h.tile_width != h.width || h.tile_height != h.height {
            return Err(Error::Tiled);
        }
        let tile = &container.tiles[0];
        let section = |kind| {
            tile.section(kind).ok_or(Error::Corrupt(match kind {
                SectionKind::HyperLatent => "missing hyper-latent section",
                _ => "missing latent section",
            }))
        };
        let (ph, pw) = (padded_len(h.height) as usize, padded_len(h.width) as usize);
        let ([m, yh, yw], z_shape) = network.metadata.network.latent_shapes(ph, pw);
        let z_symbols = network
            .coder
            .decode_z(section(SectionKind::HyperLatent)?, z_shape)?;
        let side = network
            .coder
            .side_information(&network.model, &z_symbols, z_shape, h.quality);
        let mut stream = entropy::Decoder::new(section(SectionKind::Latent)?)?;
        let mut derived = Vec::with_capacity(m * yh * yw);
        let latent =
            network
                .coder
                .code_latent(&network.model, side, [m, yh, yw], |_, _, indexes| {
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
                    Ok(stream.decode(indexes, &network.coder.y_tables)?)
                })?;
        stream.finish()?;
        let mut image = RgbImage::new(h.width, h.height);
        let synthesis = &network.model.synthesis;
        synthesis.forward_bands(
            &latent.values,
            [m, yh, yw],
            &network.model.latent_gain_inv(h.quality),
            synthesis.band_rows(yw, self.band_bytes),
            |first, rows| put_rows(&mut image, first, &rows.data, pw),
        );
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// A stream of `assets/sample.png` at quality 3, made by the embedded model, decodes to
    /// the same pixels in every build, with or without burn, on every machine: the SHA-256 of
    /// its RGB samples as the build that made it gave them (model `87d5fe20…`, 2026-12-06).
    #[test]
    fn a_committed_stream_decodes_to_the_same_pixels() {
        let stream = include_bytes!("../tests/data/sample-q3.ansel");
        let image = Decoder::embedded().unwrap().decode(stream).unwrap();
        assert_eq!(image.dimensions(), (600, 400));
        let digest: String = Sha256::digest(image.as_raw())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "2e14ba139ee6b4cac034b7574f789290a8423313c48c315f1f7a1e6ce7c9f052"
        );
    }

    /// Every truncation of a stream and every single-byte change is an error or a decoded
    /// image of the stream's size, never a panic.
    #[test]
    fn damaged_streams_fail_cleanly() {
        let stream = include_bytes!("../tests/data/sample-q3.ansel");
        let decoder = Decoder::embedded().unwrap();
        for cut in (0..stream.len()).step_by(97) {
            assert!(decoder.decode(&stream[..cut]).is_err());
        }
        // Past the container's checksum: a reader that skips it sees damaged sections.
        let container = Container::from_bytes(stream, &LIMITS).unwrap();
        for (i, flip) in [(0usize, 1u8), (40, 0x80), (500, 3), (4000, 0xff)] {
            let mut tile = container.tiles[0].clone();
            let section = &mut tile.sections[usize::from(i >= 100)];
            let at = i % section.data.len();
            section.data[at] ^= flip;
            let damaged = Container {
                header: container.header,
                tiles: vec![tile],
            };
            match decoder.decode_container(&damaged) {
                Ok(image) => assert_eq!(image.dimensions(), (600, 400)),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}
