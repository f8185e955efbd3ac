//! The codec one stage at a time, for the per-stage benchmarks (`benches/stages.rs`, feature
//! `bench`). Not a stable API: the stages and their inputs follow the codec's internals.
//!
//! [`Stages::prepare`] runs a whole encode once and keeps every stage's input, so that each
//! method below times one stage alone: the analysis `g_a`, the hyper-analysis `h_a`, the
//! hyper-synthesis `h_s` with the table choice, the y stream's entropy coding both ways, and
//! the synthesis `g_s` with the conversion to pixels.

use image::RgbImage;

use crate::latent::CodedLatent;
use crate::pixels::{padded_len, put_rows, to_padded_map};
use crate::portable::Map;
use crate::{entropy, Codec, Error};

/// A codec whose stages run one at a time.
#[derive(Debug, Clone)]
pub struct Stages {
    codec: Codec,
}

/// Every stage's input for one image at one quality.
pub struct Prepared {
    quality: f32,
    /// The network that codes it.
    k: usize,
    size: (u32, u32),
    pixels: Map,
    latent: Map,
    z_symbols: Vec<i32>,
    z_shape: [usize; 3],
    coded: CodedLatent,
    y_stream: Vec<u8>,
}

impl Prepared {
    /// Bytes of the y stream (the latent's entropy-coded symbols).
    pub fn latent_bytes(&self) -> usize {
        self.y_stream.len()
    }
}

impl Stages {
    /// The stages of `codec` (its plain host encoder, whatever device it was moved to).
    pub fn new(codec: Codec) -> Self {
        Self { codec }
    }

    /// Encodes `image` at `quality` once, keeping every stage's input.
    pub fn prepare(&self, image: &RgbImage, quality: f32) -> Result<Prepared, Error> {
        let k = self.codec.decoder.network_index(quality)?;
        let pixels = to_padded_map(image);
        let latent = self.codec.host_latent(k, &pixels, quality);
        let (z_symbols, z_shape) = self.codec.host_hyper_symbols(k, &latent, quality);
        let decoder = &self.codec.decoder.networks[k];
        let side = decoder
            .coder
            .side_information(&decoder.model, &z_symbols, z_shape, quality);
        let coded = decoder.coder.quantise_latent(
            &decoder.model,
            side,
            [latent.c, latent.h, latent.w],
            &latent.to_planar(),
        )?;
        let y_stream = entropy::encode(&coded.symbols, &coded.indexes, &decoder.coder.y_tables)?;
        Ok(Prepared {
            quality,
            k,
            size: image.dimensions(),
            pixels,
            latent,
            z_symbols,
            z_shape,
            coded,
            y_stream,
        })
    }

    /// The analysis transform `g_a` (with the latent's gain): returns the latent's size.
    pub fn g_a(&self, p: &Prepared) -> usize {
        self.codec.host_latent(p.k, &p.pixels, p.quality).data.len()
    }

    /// The hyper-analysis `h_a` and the rounding of z: returns the count of z's symbols.
    pub fn h_a(&self, p: &Prepared) -> usize {
        self.codec
            .host_hyper_symbols(p.k, &p.latent, p.quality)
            .0
            .len()
    }

    /// The hyper-synthesis `h_s` and the choice of every y element's table, as both
    /// directions run it (one pass; a context model's second pass is not included).
    pub fn h_s(&self, p: &Prepared) -> usize {
        let decoder = &self.codec.decoder.networks[p.k];
        let side =
            decoder
                .coder
                .side_information(&decoder.model, &p.z_symbols, p.z_shape, p.quality);
        side.raw.data.len()
    }

    /// Entropy coding of the latent's symbols with their tables: returns the stream's size.
    pub fn entropy_encode(&self, p: &Prepared) -> Result<usize, Error> {
        let tables = &self.codec.decoder.networks[p.k].coder.y_tables;
        Ok(entropy::encode(&p.coded.symbols, &p.coded.indexes, tables)?.len())
    }

    /// Entropy decoding of the latent's symbols: returns how many were decoded.
    pub fn entropy_decode(&self, p: &Prepared) -> Result<usize, Error> {
        let tables = &self.codec.decoder.networks[p.k].coder.y_tables;
        let mut stream = entropy::Decoder::new(&p.y_stream)?;
        let symbols = stream.decode(&p.coded.indexes, tables)?;
        stream.finish()?;
        Ok(symbols.len())
    }

    /// The synthesis transform `g_s`, in the decoder's bands, to pixels.
    pub fn g_s(&self, p: &Prepared) -> RgbImage {
        let model = &self.codec.decoder.networks[p.k].model;
        let (width, height) = p.size;
        let pw = padded_len(width) as usize;
        let [m, h, w] = [p.latent.c, p.latent.h, p.latent.w];
        let mut image = RgbImage::new(width, height);
        model.synthesis.forward_bands(
            &p.coded.values,
            [m, h, w],
            &model.latent_gain_inv(p.quality),
            model.synthesis.band_rows(w, self.codec.decoder.band_bytes),
            |first, rows| put_rows(&mut image, first, &rows.data, pw),
        );
        image
    }
}
