//! What an encode makes: the rate (a quality or a size) and the refinement of the latent.

/// How large a stream to make: a quality, or a target size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Quality from 1 (smallest) to 8 (best), fractions allowed.
    Quality(f32),
    /// The quality whose stream comes closest to this many bits per pixel (a search over
    /// several encodes, see [`crate::Codec::encode`]).
    BitsPerPixel(f64),
}

/// What [`crate::Codec::encode`] makes: the rate, and how hard to work for it.
///
/// ```
/// use ansel::{EncodeOptions, Rate, Refinement};
/// let options = EncodeOptions::quality(5.5).refine(Refinement::steps(4));
/// assert_eq!(options.rate, Rate::Quality(5.5));
/// let by_size = EncodeOptions::bits_per_pixel(0.5);
/// assert_eq!(by_size.refinement, Refinement::NONE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeOptions {
    /// The rate.
    pub rate: Rate,
    /// Gradient steps on the image's own latent before coding it (none by default; needs the
    /// `burn` feature).
    pub refinement: Refinement,
}

impl EncodeOptions {
    /// Encode at `quality` (1..=8, fractions allowed), without refinement.
    pub const fn quality(quality: f32) -> Self {
        Self {
            rate: Rate::Quality(quality),
            refinement: Refinement::NONE,
        }
    }

    /// Encode at the quality closest to `bpp` bits per pixel, without refinement.
    pub const fn bits_per_pixel(bpp: f64) -> Self {
        Self {
            rate: Rate::BitsPerPixel(bpp),
            refinement: Refinement::NONE,
        }
    }

    /// These options with `refinement` (see [`Refinement`]).
    pub const fn refine(self, refinement: Refinement) -> Self {
        Self { refinement, ..self }
    }
}

/// A quality alone: `codec.encode(&image, 4.0)`.
impl From<f32> for EncodeOptions {
    fn from(quality: f32) -> Self {
        Self::quality(quality)
    }
}

/// An encoded stream and the quality it was coded at.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The `.ansel` stream.
    pub bytes: Vec<u8>,
    /// The quality it was coded at (the one asked for, or the one a rate search found).
    pub quality: f32,
}

/// How the encoder refines the latent of an image before coding it.
///
/// Each step runs the synthesis forward and backward once, some three or four plain encodes
/// (`docs/refine.md` has the measurements). Streams decode with any decoder, refined or not.
///
/// ```
/// use ansel::Refinement;
/// assert_eq!(Refinement::default(), Refinement::NONE);
/// assert_eq!(Refinement::steps(20).steps, 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refinement {
    /// Gradient steps (0: code the analysis' latent as it is).
    pub steps: usize,
    /// Size of a step, in quantisation bins per bit of loss gradient.
    pub step_size: f64,
}

impl Refinement {
    /// Step size measured to be safe and useful for the embedded model (three times as large
    /// diverges; see `docs/refine.md`).
    pub const DEFAULT_STEP_SIZE: f64 = 0.01;

    /// No refinement: the fast path.
    pub const NONE: Self = Self::steps(0);

    /// `steps` steps of the default size.
    pub const fn steps(steps: usize) -> Self {
        Self {
            steps,
            step_size: Self::DEFAULT_STEP_SIZE,
        }
    }

    /// Whether this refines at all.
    pub fn is_active(&self) -> bool {
        self.steps > 0 && self.step_size > 0.0
    }
}

impl Default for Refinement {
    /// [`Refinement::NONE`].
    fn default() -> Self {
        Self::NONE
    }
}
