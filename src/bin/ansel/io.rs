//! Inputs and outputs of the command line: files or `-` for standard input/output, image
//! loading with the input policy, and file output that never leaves a partial file behind.

use std::fmt;
use std::io::{Cursor, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use ansel::output::{self, Existing, WriteError};
use ansel::Metadata;
use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};

/// Where a command reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

/// Where a command writes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Standard output (`-`).
    Stdout,
    /// A file, written through a temporary file and renamed.
    File(PathBuf),
}

impl Source {
    /// `-` is standard input, anything else a file.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            Self::Stdin
        } else {
            Self::File(arg.to_path_buf())
        }
    }

    /// All the bytes of the input.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        match self {
            Self::Stdin => std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ()),
            Self::File(p) => std::fs::read(p).map(|b| bytes = b),
        }
        .map_err(|e| format!("{self}: cannot read: {}", io_message(&e)))?;
        Ok(bytes)
    }
}

impl Sink {
    /// `-` is standard output, anything else a file.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            Self::Stdout
        } else {
            Self::File(arg.to_path_buf())
        }
    }

    /// Refuses, before any work is done, what writing would refuse: binary data to a
    /// terminal, or an existing file without `force`.
    pub fn check(&self, force: bool, what: &str) -> Result<(), String> {
        match self {
            Self::Stdout if std::io::stdout().is_terminal() => Err(format!(
                "{self}: refusing to write {what} to a terminal (redirect it, or use -o FILE)"
            )),
            Self::File(p) if !force && p.exists() && !output::is_special(p) => {
                Err(exists_message(p))
            }
            _ => Ok(()),
        }
    }

    /// Writes all of `bytes`: a file atomically ([`ansel::output::write`], replacing an existing
    /// one only with `force`), standard output in one go.
    pub fn write(&self, bytes: &[u8], force: bool) -> Result<(), String> {
        match self {
            Self::File(p) => {
                output::write(p, bytes, Existing::replace_if(force)).map_err(|e| write_message(&e))
            }
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("{self}: {}", io_message(&e)))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdin => f.write_str("<stdin>"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdout => f.write_str("<stdout>"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An I/O error without the `(os error N)` suffix.
pub fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An output error in the command line's words: how to overwrite, no `(os error N)`.
fn write_message(e: &WriteError) -> String {
    match e {
        WriteError::Exists(p) => exists_message(p),
        WriteError::Io { path, source } => format!("{}: {}", path.display(), io_message(source)),
    }
}

fn exists_message(path: &Path) -> String {
    format!(
        "{}: already exists (use --force to overwrite)",
        path.display()
    )
}

/// An input image converted to 8-bit RGB, with what the conversion lost.
pub struct LoadedImage {
    /// The pixels the codec compresses.
    pub image: RgbImage,
    /// Warnings for the user: a dropped alpha channel, samples rounded to 8 bits.
    pub warnings: Vec<String>,
    /// The ICC profile, EXIF and XMP the file carries, as its decoder gives them.
    pub metadata: Metadata,
}

/// Decodes an image file's bytes with the input policy of `ansel encode`: the format is
/// recognised from the content, whatever the file is called; the size is checked
/// against the codec's limits from the header, before the pixels are decoded; greyscale
/// becomes RGB silently; an alpha channel is dropped and samples deeper than 8 bits are
/// rounded to 8 bits, each with a warning.
pub fn load_image(bytes: &[u8], source: &Source) -> Result<LoadedImage, String> {
    if bytes.is_empty() {
        return Err(format!("{source}: empty file, not an image"));
    }
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, String> {
        // Every supported format starts with a signature: the content decides, not the name.
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| format!("{source}: {}", io_message(&e)))?;
        let mut limits = image::Limits::default();
        // 40 million pixels of four 32-bit float channels: 640 MB.
        limits.max_alloc = Some(1 << 30);
        reader.limits(limits);
        Ok(reader)
    };
    let format = reader()?.format().ok_or_else(|| {
        format!(
            "{source}: not an image in a supported format \
             (PNG, JPEG, PPM/PGM/PBM/PAM, BMP, TIFF, WebP)"
        )
    })?;
    let name = format_name(format);
    let bad = |e: image::ImageError| format!("{source}: cannot decode the {name} image: {e}");
    let (width, height) = reader()?.into_dimensions().map_err(bad)?;
    ansel::check_dimensions(width, height).map_err(|e| format!("{source}: {e}"))?;
    let mut decoder = reader()?.into_decoder().map_err(bad)?;
    let metadata = ansel::metadata::read_from_decoder(&mut decoder).map_err(bad)?;
    let decoded = DynamicImage::from_decoder(decoder).map_err(bad)?;
    let warnings = ansel::image_io::conversion_warnings(decoded.color());
    let (image, _) = ansel::image_io::to_rgb8(decoded);
    Ok(LoadedImage {
        image,
        warnings,
        metadata,
    })
}

/// The usual name of an image format.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        _ => format.extensions_str().first().copied().unwrap_or("image"),
    }
}
