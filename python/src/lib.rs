//! `ansel._ansel`: the Rust side of the `ansel` Python package.
//!
//! The Python package (`python/ansel/`) wraps this module: it turns Pillow images and other
//! arrays into the `H×W×3` `uint8` arrays taken here, and adds the Pillow plugin and the Ray
//! batch job. Coding runs with the GIL released.

use std::io::Cursor;
use std::path::PathBuf;

use ansel::codec_format::{Container, Limits};
use ansel::{EncodeOptions, Error, Package};
use image::{ImageFormat, ImageReader, RgbImage};
use numpy::ndarray::Array3;
use numpy::{IntoPyArray, PyArray3, PyReadonlyArray3};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

create_exception!(
    _ansel,
    AnselError,
    PyException,
    "An error of the ansel codec (the base class of the others)."
);
create_exception!(
    _ansel,
    DecodeError,
    AnselError,
    "The data is not a valid .ansel stream: not one at all, truncated, corrupt, or of a \
     version or feature this build does not read."
);
create_exception!(
    _ansel,
    WrongModelError,
    DecodeError,
    "The stream was made with another model than the codec's (decode it with the package it \
     was made with)."
);
create_exception!(
    _ansel,
    ModelError,
    AnselError,
    "The model package could not be loaded."
);
create_exception!(
    _ansel,
    ImageError,
    AnselError,
    "An image file could not be read: not an image in a supported format, corrupt, or too \
     large."
);

/// The Python exception for a codec error, with the Rust error's message.
fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Quality(_) | Error::NetworkQuality { .. } | Error::TargetRate(_) => {
            PyValueError::new_err(msg)
        }
        Error::WrongModel { .. } => WrongModelError::new_err(msg),
        Error::Format(_)
        | Error::Entropy(_)
        | Error::IndexMismatch { .. }
        | Error::Corrupt(_)
        | Error::UnsupportedColor(_)
        | Error::Tiled => DecodeError::new_err(msg),
        Error::Package(_) => ModelError::new_err(msg),
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        _ => AnselError::new_err(msg),
    }
}

/// The rate of an encode from the keyword arguments: a quality, a target size, or quality 5
/// (the command line's default) when neither is given.
fn options(quality: Option<f32>, target_bpp: Option<f64>) -> PyResult<EncodeOptions> {
    match (quality, target_bpp) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(
            "give quality or target_bpp, not both",
        )),
        (None, Some(bpp)) => Ok(EncodeOptions::bits_per_pixel(bpp)),
        (q, None) => Ok(EncodeOptions::quality(q.unwrap_or(DEFAULT_QUALITY))),
    }
}

/// Quality when neither `quality` nor `target_bpp` is given, as in `ansel encode`.
const DEFAULT_QUALITY: f32 = 5.0;

/// An encoder and decoder of one model: the embedded default or a model package.
#[pyclass(module = "ansel._ansel", frozen)]
struct Codec {
    codec: ansel::Codec,
    model: Option<PathBuf>,
}

#[pymethods]
impl Codec {
    /// Loads the model package at `model`, or the default model embedded in the library.
    #[new]
    #[pyo3(signature = (model=None))]
    fn new(py: Python<'_>, model: Option<PathBuf>) -> PyResult<Self> {
        let codec = py.detach(|| match &model {
            Some(path) => Package::read(path)
                .and_then(|package| ansel::Codec::from_package(&package))
                .map_err(|e| in_package(path, e)),
            None => ansel::Codec::embedded().map_err(to_py),
        })?;
        Ok(Self { codec, model })
    }

    /// Compresses an `H×W×3` `uint8` array; returns the stream and the quality it was coded at.
    #[pyo3(signature = (array, quality=None, target_bpp=None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        array: PyReadonlyArray3<'py, u8>,
        quality: Option<f32>,
        target_bpp: Option<f64>,
    ) -> PyResult<(Bound<'py, PyBytes>, f32)> {
        let options = options(quality, target_bpp)?;
        let image = to_image(&array)?;
        let encoded = py
            .detach(|| self.codec.encode(&image, options))
            .map_err(to_py)?;
        Ok((PyBytes::new(py, &encoded.bytes), encoded.quality))
    }

    /// Decompresses an `.ansel` stream into an `H×W×3` `uint8` array.
    fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let image = py.detach(|| self.codec.decode(data)).map_err(to_py)?;
        Ok(to_array(py, image))
    }

    /// The model's identity as written into its streams: (architecture, 32 hex digits).
    #[getter]
    fn model_id(&self) -> (u16, String) {
        let id = self.codec.id();
        (id.arch, hex(&id.hash))
    }

    /// The model package's path, or `None` for the embedded model.
    #[getter]
    fn model(&self) -> Option<PathBuf> {
        self.model.clone()
    }

    fn __repr__(&self) -> String {
        match &self.model {
            Some(p) => format!("ansel.Codec(model={:?})", p.display().to_string()),
            None => "ansel.Codec()".to_string(),
        }
    }
}

/// An error loading the package at `path`, naming it as `ansel --model` does (an I/O error
/// names it already).
fn in_package(path: &std::path::Path, e: Error) -> PyErr {
    match e {
        e @ Error::Io { .. } => to_py(e),
        e => ModelError::new_err(format!("{}: {e}", path.display())),
    }
}

/// Copies an `H×W×3` array into an image (the codec owns its pixels).
fn to_image(array: &PyReadonlyArray3<'_, u8>) -> PyResult<RgbImage> {
    let view = array.as_array();
    let (h, w, c) = view.dim();
    if c != 3 {
        return Err(PyValueError::new_err(format!(
            "expected an H×W×3 array of RGB pixels, got shape ({h}, {w}, {c})"
        )));
    }
    let too_large = || PyValueError::new_err(format!("an image of {w}×{h} pixels is too large"));
    let width = u32::try_from(w).map_err(|_| too_large())?;
    let height = u32::try_from(h).map_err(|_| too_large())?;
    ansel::check_dimensions(width, height).map_err(|e| PyValueError::new_err(e.to_string()))?;
    // Row-major H×W×3 is the image's own layout: copy straight when contiguous.
    let raw = match view.as_slice() {
        Some(s) => s.to_vec(),
        None => view.iter().copied().collect(),
    };
    Ok(RgbImage::from_raw(width, height, raw).expect("H×W×3 samples"))
}

/// An image as an `H×W×3` array, without a copy.
fn to_array(py: Python<'_>, image: RgbImage) -> Bound<'_, PyArray3<u8>> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    Array3::from_shape_vec((h, w, 3), image.into_raw())
        .expect("H×W×3 samples")
        .into_pyarray(py)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes an image file's bytes as `ansel encode` does: the format recognised from the
/// content, the size checked before the pixels are decoded, greyscale made RGB, an alpha
/// channel dropped and deeper samples rounded to 8 bits (each with a warning). Returns the
/// `H×W×3` array and the warnings.
#[pyfunction]
#[pyo3(signature = (data, name="<image>"))]
fn read_image<'py>(
    py: Python<'py>,
    data: &[u8],
    name: &str,
) -> PyResult<(Bound<'py, PyArray3<u8>>, Vec<String>)> {
    let (image, warnings) = py
        .detach(|| load_image(data, name))
        .map_err(ImageError::new_err)?;
    Ok((to_array(py, image), warnings))
}

/// The input policy of `ansel encode` (`src/bin/ansel/io.rs`), which these bytes must match.
fn load_image(bytes: &[u8], source: &str) -> Result<(RgbImage, Vec<String>), String> {
    if bytes.is_empty() {
        return Err(format!("{source}: empty file, not an image"));
    }
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, String> {
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| format!("{source}: {e}"))?;
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
    let decoded = reader()?.decode().map_err(bad)?;
    let warnings = ansel::image_io::conversion_warnings(decoded.color());
    let (image, _) = ansel::image_io::to_rgb8(decoded);
    Ok((image, warnings))
}

/// The usual name of an image format, as `ansel encode` says it.
fn format_name(format: ImageFormat) -> &'static str {
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

/// What the header and section table of an `.ansel` stream say, as `ansel info --json` prints
/// it (without the file name).
#[pyfunction]
fn info<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let info = Container::inspect(data, &Limits::default())
        .map_err(|e| DecodeError::new_err(e.to_string()))?;
    let h = &info.header;
    let d = PyDict::new(py);
    d.set_item("version", info.version.to_string())?;
    d.set_item("bytes", info.file_len)?;
    d.set_item("width", h.width)?;
    d.set_item("height", h.height)?;
    d.set_item("color", h.color.to_string())?;
    d.set_item("quality", h.quality)?;
    let model = PyDict::new(py);
    model.set_item("arch", h.model.arch)?;
    model.set_item("hash", hex(&h.model.hash))?;
    d.set_item("model", model)?;
    d.set_item("tile_width", h.tile_width)?;
    d.set_item("tile_height", h.tile_height)?;
    // As `ansel info --json`: the rate is the image's, the metadata counted apart.
    let metadata = ansel::metadata::read(data).map_err(|e| DecodeError::new_err(e.to_string()))?;
    let (image_bytes, metadata_bytes) = ansel::metadata::split_size(info.file_len, &metadata);
    d.set_item("bpp", 8.0 * image_bytes as f64 / h.pixel_count() as f64)?;
    let meta = PyDict::new(py);
    meta.set_item("bytes", metadata_bytes)?;
    let part = |bytes: &[u8]| -> PyResult<Bound<'py, PyDict>> {
        let part = PyDict::new(py);
        part.set_item("bytes", bytes.len())?;
        Ok(part)
    };
    let icc = match metadata.icc.as_deref() {
        Some(icc) => {
            let p = part(icc)?;
            p.set_item("description", ansel::metadata::icc_description(icc))?;
            Some(p)
        }
        None => None,
    };
    let exif = match metadata.exif.as_deref() {
        Some(exif) => {
            let summary = ansel::metadata::exif_summary(exif);
            let p = part(exif)?;
            p.set_item("orientation", summary.orientation)?;
            p.set_item("make", summary.make)?;
            p.set_item("model", summary.model)?;
            Some(p)
        }
        None => None,
    };
    meta.set_item("icc", icc)?;
    meta.set_item("exif", exif)?;
    meta.set_item("xmp", metadata.xmp.as_deref().map(part).transpose()?)?;
    d.set_item("metadata", meta)?;
    let tiles = PyList::empty(py);
    for t in &info.tiles {
        let tile = PyDict::new(py);
        tile.set_item("index_check", format!("{:08x}", t.index_check))?;
        let sections = PyList::empty(py);
        for s in &t.sections {
            let section = PyDict::new(py);
            section.set_item("kind", s.kind.to_string())?;
            section.set_item("offset", s.offset)?;
            section.set_item("bytes", s.len)?;
            sections.append(section)?;
        }
        tile.set_item("sections", sections)?;
        tiles.append(tile)?;
    }
    d.set_item("tiles", tiles)?;
    Ok(d)
}

/// The Rust side of the `ansel` package.
#[pymodule]
fn _ansel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Codec>()?;
    m.add_function(wrap_pyfunction!(read_image, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add("AnselError", py.get_type::<AnselError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("WrongModelError", py.get_type::<WrongModelError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("ImageError", py.get_type::<ImageError>())?;
    m.add("MAGIC", PyBytes::new(py, &ansel::codec_format::MAGIC))?;
    m.add("QUALITY_MIN", ansel::quality::QUALITY_MIN)?;
    m.add("QUALITY_MAX", ansel::quality::QUALITY_MAX)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
