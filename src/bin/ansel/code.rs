//! `ansel encode`, `ansel decode`, `ansel info`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use ansel::codec_format::{Container, Limits};
use ansel::image_io::{to_rgb8, Conversion};
use ansel::Codec;

use crate::io::write_atomically;

/// Arguments of `ansel encode`.
#[derive(Args)]
pub struct EncodeArgs {
    /// Image to compress (PNG, JPEG, PPM/PGM, BMP, TIFF, WebP).
    input: PathBuf,
    /// Output file [default: INPUT with extension .ansel].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Quality from 1 (smallest) to 8 (best); fractions allowed.
    #[arg(short, long, default_value_t = 4.0)]
    quality: f32,
    /// Model package to use instead of the embedded default model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(short, long)]
    force: bool,
    /// Print timings and the achieved bits per pixel.
    #[arg(short, long)]
    verbose: bool,
}

/// Arguments of `ansel decode`.
#[derive(Args)]
pub struct DecodeArgs {
    /// .ansel file to decompress.
    input: PathBuf,
    /// Output image; its extension picks the format [default: INPUT with extension .png].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Model package to use instead of the embedded default model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(short, long)]
    force: bool,
    /// Print timings.
    #[arg(short, long)]
    verbose: bool,
}

/// Arguments of `ansel info`.
#[derive(Args)]
pub struct InfoArgs {
    /// .ansel file to describe.
    input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn load_codec(model: &Option<PathBuf>) -> Result<Codec> {
    Ok(match model {
        Some(p) => Codec::from_package_file(p)?,
        None => Codec::embedded()?,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

pub fn encode(a: EncodeArgs) -> Result<()> {
    let t0 = Instant::now();
    let img = image::open(&a.input).map_err(|e| format!("{}: {e}", a.input.display()))?;
    let (img, conversion) = to_rgb8(img);
    match conversion {
        Conversion::DroppedAlpha => eprintln!(
            "ansel: {}: warning: alpha channel dropped",
            a.input.display()
        ),
        Conversion::ReducedDepth => eprintln!(
            "ansel: {}: warning: reduced to 8 bits per sample",
            a.input.display()
        ),
        Conversion::None | Conversion::FromGrey => {}
    }
    let t_load = t0.elapsed();
    let codec = load_codec(&a.model)?;
    let t1 = Instant::now();
    let bytes = codec
        .encode(&img, a.quality)
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    let t_code = t1.elapsed();
    let out = a.output.unwrap_or_else(|| a.input.with_extension("ansel"));
    write_atomically(&out, &bytes, a.force)?;
    if a.verbose {
        let bpp = 8.0 * bytes.len() as f64 / (img.width() as f64 * img.height() as f64);
        eprintln!(
            "{} → {}: {} bytes, {bpp:.4} bpp (load {:.0} ms, encode {:.0} ms)",
            a.input.display(),
            out.display(),
            bytes.len(),
            t_load.as_secs_f64() * 1e3,
            t_code.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

pub fn decode(a: DecodeArgs) -> Result<()> {
    let bytes = read(&a.input)?;
    let codec = load_codec(&a.model)?;
    let t0 = Instant::now();
    let img = codec
        .decode(&bytes)
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    let t_code = t0.elapsed();
    let out = a.output.unwrap_or_else(|| a.input.with_extension("png"));
    let format =
        image::ImageFormat::from_path(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, format)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    write_atomically(&out, buf.get_ref(), a.force)?;
    if a.verbose {
        eprintln!(
            "{} → {}: decode {:.0} ms",
            a.input.display(),
            out.display(),
            t_code.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

pub fn info(a: InfoArgs) -> Result<()> {
    let bytes = read(&a.input)?;
    let info = Container::inspect(&bytes, &Limits::default())
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    let h = &info.header;
    let bpp = 8.0 * info.file_len as f64 / h.pixel_count() as f64;
    if a.json {
        let tiles: Vec<_> = info
            .tiles
            .iter()
            .map(|t| {
                serde_json::json!({
                    "index_check": format!("{:08x}", t.index_check),
                    "sections": t.sections.iter().map(|s| serde_json::json!({
                        "kind": s.kind.to_string(), "offset": s.offset, "bytes": s.len
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "file": a.input.display().to_string(),
            "version": info.version.to_string(),
            "bytes": info.file_len,
            "width": h.width,
            "height": h.height,
            "color": h.color.to_string(),
            "quality": h.quality,
            "model": { "arch": h.model.arch, "hash": h.model.hash.iter().map(|b| format!("{b:02x}")).collect::<String>() },
            "tile_width": h.tile_width,
            "tile_height": h.tile_height,
            "bpp": bpp,
            "tiles": tiles,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: ansel {} file, {} bytes",
            a.input.display(),
            info.version,
            info.file_len
        );
        println!("  image    {}×{} {}", h.width, h.height, h.color);
        println!("  quality  {}", h.quality);
        println!("  model    {}", h.model);
        println!(
            "  tiles    {}×{} of {}×{}",
            h.tiles_x(),
            h.tiles_y(),
            h.tile_width,
            h.tile_height
        );
        println!("  rate     {bpp:.4} bpp");
        for (i, t) in info.tiles.iter().enumerate() {
            let secs: Vec<String> = t
                .sections
                .iter()
                .map(|s| format!("{} {} B", s.kind, s.len))
                .collect();
            println!(
                "  tile {i}   {} (index check {:08x})",
                secs.join(", "),
                t.index_check
            );
        }
    }
    Ok(())
}
