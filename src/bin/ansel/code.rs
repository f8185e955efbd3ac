//! `ansel encode`, `ansel decode`, `ansel info`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use image::ImageFormat;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ansel::backend::DeviceChoice;
use ansel::codec_format::SectionKind;
use ansel::codec_format::{Container, Limits};
use ansel::model::{QUALITY_MAX, QUALITY_MIN};
use ansel::Codec;
use ansel::{Decoder, EncodeOptions, Metadata, Package, Refinement};

use crate::io::{format_name, load_image, Sink, Source};

/// What `ansel encode --help` says about inputs.
const INPUT_POLICY: &str = "\
Inputs: PNG, JPEG, PPM/PGM/PBM/PAM, BMP, TIFF and WebP, recognised by their content. \
Greyscale images are converted to RGB (exactly). An alpha channel is dropped with a warning: \
the codec stores no transparency, and transparent pixels keep their stored colour (they are \
not composited onto a background). Samples deeper than 8 bits (16-bit or float) are rounded \
to 8 bits with a warning. Images from 1x1 up to 16384 pixels on a side and 40 million pixels \
in all.

Metadata: the input's ICC profile, EXIF and XMP are stored byte for byte (--metadata picks \
which, --strip keeps none); a malformed part, EXIF over 1 MiB or an ICC profile or XMP over 4 MiB \
is left out with a warning. The pixels are stored as the input stores them: an EXIF orientation \
stays a tag for viewers to apply, as with cwebp -metadata all. `-v` reports the metadata's bytes \
apart from the image's, and the bits per pixel are the image's.

--target-bpp encodes several times, searching the continuous quality scale (bracketing, then \
interpolation and bisection) for the file size closest to the target; `-v` shows the quality \
found. A target below what quality 1 reaches gives quality 1, one above quality 8 gives \
quality 8. With a package of one network per quality it searches the whole qualities, which \
are all such a package codes.

`-` as INPUT reads standard input, and then the output goes to standard output unless -o is \
given; `-o -` writes standard output. Outputs are written to a temporary file and renamed, \
so an interrupted run leaves no partial file; an existing output is kept unless --force \
(a device or FIFO, such as /dev/null, is written into directly). With several inputs, one \
that fails is reported and the others are still coded; the exit status is then non-zero.";

const DECODE_NOTES: &str = "\
`-` as INPUT reads standard input, and then the image goes to standard output (PNG unless \
--format) unless -o is given; `-o -` writes standard output. Outputs are written to a \
temporary file and renamed, so an interrupted run leaves no partial file; an existing output \
is kept unless --force (a device or FIFO, such as /dev/null, is written into directly). \
With several inputs, one that fails is reported and the others are still decoded; the exit \
status is then non-zero.

The stream's ICC profile, EXIF and XMP are written into PNG, JPEG and WebP outputs (TIFF: the \
profile only; BMP and PPM: none), with a warning for each part an output cannot hold; --strip \
writes none. The EXIF orientation stays a tag: the pixels are as stored.

Decoding runs on the CPU in arithmetic that is the same on every machine: a file gives the \
same pixels wherever it is decoded, whatever device encoded it.";

/// Quality when neither --quality nor --target-bpp is given: with the default model, near
/// the rate JPEG's usual defaults spend.
const DEFAULT_QUALITY: f32 = 5.0;

/// The default quality for `codec`: [`DEFAULT_QUALITY`], or for a package of K networks the
/// whole quality at the same place on its scale (5 of 8, 3 of 4, 2 of 3, 1 of 2).
fn default_quality(codec: &Codec) -> f32 {
    match codec.decoder().network_count() {
        1 => DEFAULT_QUALITY,
        k => (k as f32 * DEFAULT_QUALITY / QUALITY_MAX).round().max(1.0),
    }
}

/// Arguments of `ansel encode`.
#[derive(Args)]
#[command(after_help = INPUT_POLICY)]
pub struct EncodeArgs {
    /// Images to compress; `-` reads standard input.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
    /// Output file, `-` for standard output (one input only) [default: INPUT with extension
    /// .ansel; standard output when INPUT is `-`].
    #[arg(short, long, value_name = "OUTPUT", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Write the outputs into DIR (created if missing), each named after its input with
    /// extension .ansel.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Quality from 1 (smallest) to 8 (best); fractions allowed [default: 5]. A package of K
    /// networks codes whole qualities 1 to K [default: 5 of 8, 3 of 4, 2 of 3, 1 of 2].
    #[arg(short, long, value_parser = parse_quality, conflicts_with = "target_bpp")]
    quality: Option<f32>,
    /// Search the quality whose output is closest to BPP bits per pixel.
    #[arg(long, value_name = "BPP", value_parser = parse_bpp)]
    target_bpp: Option<f64>,
    /// Refine the latent with N gradient steps on the image's own rate-distortion loss before
    /// coding it: each step costs about 3-4 plain encodes and saves bits at equal PSNR, most at
    /// high qualities. Any decoder reads the result.
    #[arg(long, value_name = "N", default_value_t = 0)]
    refine: usize,
    /// Where the encoder's networks run: cpu, gpu (needs the `wgpu` build feature) or auto.
    /// Any decoder reads the result, to the same pixels.
    #[arg(long, default_value = "auto", value_name = "cpu|gpu|auto")]
    device: DeviceChoice,
    /// Metadata to keep from the input: all, none, or a list of icc, exif, xmp. The pixels
    /// are stored as the input stores them; EXIF keeps its orientation tag.
    #[arg(long, value_name = "all|none|icc,exif,xmp", default_value = "all", value_parser = parse_metadata_choice)]
    metadata: MetadataChoice,
    /// Keep no metadata (the same as --metadata none).
    #[arg(long, conflicts_with = "metadata")]
    strip: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Which metadata parts `--metadata` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataChoice {
    icc: bool,
    exif: bool,
    xmp: bool,
}

impl MetadataChoice {
    const ALL: Self = Self {
        icc: true,
        exif: true,
        xmp: true,
    };
    const NONE: Self = Self {
        icc: false,
        exif: false,
        xmp: false,
    };

    /// The parts of `metadata` this choice keeps.
    fn select(self, metadata: Metadata) -> Metadata {
        Metadata {
            icc: metadata.icc.filter(|_| self.icc),
            exif: metadata.exif.filter(|_| self.exif),
            xmp: metadata.xmp.filter(|_| self.xmp),
        }
    }
}

fn parse_metadata_choice(s: &str) -> std::result::Result<MetadataChoice, String> {
    match s {
        "all" => return Ok(MetadataChoice::ALL),
        "none" => return Ok(MetadataChoice::NONE),
        _ => {}
    }
    let mut choice = MetadataChoice::NONE;
    for part in s.split(',') {
        match part.trim() {
            "icc" => choice.icc = true,
            "exif" => choice.exif = true,
            "xmp" => choice.xmp = true,
            other => {
                return Err(format!(
                "`{other}` is not a kind of metadata: use all, none, or a list of icc, exif, xmp"
            ))
            }
        }
    }
    Ok(choice)
}

/// Options that `encode` and `decode` share: which network, how many inputs at once.
#[derive(Args)]
struct RunArgs {
    /// Model package to use instead of the embedded default model.
    #[arg(long, value_name = "PKG")]
    model: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(short, long)]
    force: bool,
    /// Process N inputs in parallel (each needs memory for its image's activations).
    #[arg(short, long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Print timings per stage and the rate (quality, bits per pixel) of each input.
    #[arg(short, long)]
    verbose: bool,
}

/// Output image formats of `ansel decode`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutputFormat {
    Png,
    Jpeg,
    Ppm,
    Bmp,
    Tiff,
    Webp,
}

impl OutputFormat {
    fn image_format(self) -> ImageFormat {
        match self {
            Self::Png => ImageFormat::Png,
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Ppm => ImageFormat::Pnm,
            Self::Bmp => ImageFormat::Bmp,
            Self::Tiff => ImageFormat::Tiff,
            Self::Webp => ImageFormat::WebP,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Ppm => "ppm",
            Self::Bmp => "bmp",
            Self::Tiff => "tif",
            Self::Webp => "webp",
        }
    }
}

/// Arguments of `ansel decode`.
#[derive(Args)]
#[command(after_help = DECODE_NOTES)]
pub struct DecodeArgs {
    /// .ansel files to decompress; `-` reads standard input.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
    /// Output image, `-` for standard output (one input only); its extension picks the format
    /// unless --format [default: INPUT with extension .png; standard output when INPUT is `-`].
    #[arg(short, long, value_name = "OUTPUT", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Write the outputs into DIR (created if missing), each named after its input.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Output format, whatever the output's extension [default: by extension; PNG on standard
    /// output and for default names].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Ignored: decoding runs on the CPU, in arithmetic that gives the same pixels on every
    /// machine. (Accepted so that older scripts that pass it still run.)
    #[arg(long, hide = true, value_name = "cpu|gpu|auto")]
    device: Option<DeviceChoice>,
    /// Write no metadata into the output image (by default the stream's ICC profile, EXIF
    /// and XMP go into the formats that hold them).
    #[arg(long)]
    strip: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Arguments of `ansel info`.
#[derive(Args)]
pub struct InfoArgs {
    /// .ansel file to describe; `-` reads standard input.
    input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn parse_quality(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(q) if (QUALITY_MIN..=QUALITY_MAX).contains(&q) => Ok(q),
        _ => Err(format!(
            "`{s}` is not a quality: use a number from {QUALITY_MIN} to {QUALITY_MAX}"
        )),
    }
}

fn parse_bpp(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(b) if b.is_finite() && b > 0.0 => Ok(b),
        _ => Err(format!(
            "`{s}` is not a rate: use a positive number of bits per pixel"
        )),
    }
}

/// Reads the model package at `model` (the embedded default when `None`).
fn load_package(model: &Option<PathBuf>) -> Result<Option<Package>> {
    let Some(p) = model else { return Ok(None) };
    Package::read(p).map(Some).map_err(|e| {
        match e {
            ansel::Error::Io { source, .. } => format!(
                "{}: cannot read the model package: {}",
                p.display(),
                crate::io::io_message(&source)
            ),
            e => format!("{}: {e}", p.display()),
        }
        .into()
    })
}

/// With `-v`, says which model, where it runs and how long loading took.
fn report_load(model: &Option<PathBuf>, id: ansel::ModelId, place: &str, t: Instant) {
    let name = model
        .as_ref()
        .map_or_else(|| "embedded".into(), |p| p.display().to_string());
    eprintln!(
        "model {id} ({name}), loaded in {}, {place}",
        ms(t.elapsed())
    );
}

/// Loads the codec with its networks on `device`.
fn load_codec(model: &Option<PathBuf>, device: DeviceChoice, verbose: bool) -> Result<Codec> {
    let device = crate::device::select(device)?;
    let t = Instant::now();
    let codec = match load_package(model)? {
        Some(package) => Codec::from_package(&package).map_err(|e| in_package(model, e))?,
        None => Codec::embedded()?,
    }
    .on_device(&device);
    if verbose {
        let place = format!("running on {}", device.description());
        report_load(model, codec.id(), &place, t);
    }
    Ok(codec)
}

/// Loads the decoder alone: no burn network, on the host.
fn load_decoder(model: &Option<PathBuf>, verbose: bool) -> Result<Decoder> {
    let t = Instant::now();
    let decoder = match load_package(model)? {
        Some(package) => Decoder::from_package(&package).map_err(|e| in_package(model, e))?,
        None => Decoder::embedded()?,
    };
    if verbose {
        let place = "decoding on the host (the same pixels on every machine)";
        report_load(model, decoder.id(), place, t);
    }
    Ok(decoder)
}

/// An error of the package at `model`, naming it.
fn in_package(model: &Option<PathBuf>, e: ansel::Error) -> String {
    match model {
        Some(p) => format!("{}: {e}", p.display()),
        None => e.to_string(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// One input and where its output goes.
struct Job {
    input: Source,
    output: Sink,
}

/// Pairs every input with its output and refuses, before any work, what cannot work:
/// `-` among several inputs, `-o` with several inputs, two inputs with the same output,
/// binary data to a terminal. (An existing output is checked per input, so that it fails
/// alone.)
fn plan(
    inputs: &[PathBuf],
    output: &Option<PathBuf>,
    out_dir: &Option<PathBuf>,
    extension: &str,
    what: &str,
) -> Result<Vec<Job>> {
    let sources: Vec<Source> = inputs.iter().map(|p| Source::from_arg(p)).collect();
    if sources.len() > 1 {
        if sources.contains(&Source::Stdin) {
            return Err("`-` (standard input) must be the only input".into());
        }
        if output.is_some() {
            let msg = "-o/--output names the output of one input; use --out-dir DIR for several";
            return Err(msg.into());
        }
    }
    let mut jobs = Vec::with_capacity(sources.len());
    let mut seen: HashMap<PathBuf, &Source> = HashMap::new();
    for input in &sources {
        let output = match (input, output, out_dir) {
            (_, Some(o), _) => Sink::from_arg(o),
            (Source::Stdin, None, Some(_)) => {
                return Err("--out-dir needs input files to name the outputs after; \
                            use -o FILE with `-`"
                    .into())
            }
            (Source::Stdin, None, None) => Sink::Stdout,
            (Source::File(p), None, Some(dir)) => {
                let name = p
                    .file_name()
                    .ok_or_else(|| format!("{}: not a file name", p.display()))?;
                Sink::File(dir.join(Path::new(name).with_extension(extension)))
            }
            (Source::File(p), None, None) => Sink::File(p.with_extension(extension)),
        };
        if let Sink::File(path) = &output {
            if let Some(other) = seen.insert(path.clone(), input) {
                return Err(format!(
                    "{other} and {input} would both be written to {}",
                    path.display()
                )
                .into());
            }
        }
        if output == Sink::Stdout {
            output.check(true, what)?;
        }
        jobs.push(Job {
            input: input.clone(),
            output,
        });
    }
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: {}", dir.display(), crate::io::io_message(&e)))?;
    }
    Ok(jobs)
}

/// Runs `work` on every job with `jobs` threads pulling from a shared queue. Reports each
/// failure (and, with `verbose`, each success line) as it happens, with a progress bar on a
/// terminal when there are several inputs. One failing input does not stop the others.
/// `work` gets a function to print warnings with (above the progress bar).
fn run_all<F>(jobs: &[Job], threads: u16, verbose: bool, work: F) -> Result<()>
where
    F: Fn(&Job, &dyn Fn(&str)) -> std::result::Result<String, String> + Sync,
{
    if let [job] = jobs {
        let line = work(job, &|m| eprintln!("{m}"))?;
        if verbose {
            eprintln!("{line}");
        }
        return Ok(());
    }
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(jobs.len() as u64), target);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise} < {eta}] {wide_msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let running = Mutex::new(Vec::<String>::new());
    let threads = usize::from(threads).min(jobs.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let name = match &job.input {
                    Source::File(p) => p.file_name().map_or_else(
                        || p.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    ),
                    Source::Stdin => job.input.to_string(),
                };
                let show = |running: &Vec<String>| bar.set_message(running.join(", "));
                {
                    let mut r = running.lock().expect("not poisoned");
                    r.push(name.clone());
                    show(&r);
                }
                match work(job, &|m| bar.suspend(|| eprintln!("{m}"))) {
                    Ok(line) if verbose => bar.suspend(|| eprintln!("{line}")),
                    Ok(_) => {}
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        bar.suspend(|| eprintln!("ansel: {e}"));
                    }
                }
                let mut r = running.lock().expect("not poisoned");
                if let Some(at) = r.iter().position(|n| *n == name) {
                    r.remove(at);
                }
                show(&r);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    match failed.into_inner() {
        0 => Ok(()),
        n => Err(format!("{n} of {} inputs failed", jobs.len()).into()),
    }
}

/// Runs `ansel encode`.
pub fn encode(a: EncodeArgs) -> Result<()> {
    let jobs = plan(&a.inputs, &a.output, &a.out_dir, "ansel", "compressed data")?;
    let codec = load_codec(&a.run.model, a.device, a.run.verbose)?;
    run_all(&jobs, a.run.jobs, a.run.verbose, |job, say| {
        encode_one(&codec, job, &a, say)
    })
}

fn encode_one(
    codec: &Codec,
    job: &Job,
    a: &EncodeArgs,
    say: &dyn Fn(&str),
) -> std::result::Result<String, String> {
    let input = &job.input;
    job.output.check(a.run.force, "compressed data")?;
    let t = Instant::now();
    let bytes = input.read()?;
    let loaded = load_image(&bytes, input)?;
    for w in &loaded.warnings {
        say(&format!("ansel: {input}: warning: {w}"));
    }
    let img = loaded.image;
    let choice = if a.strip {
        MetadataChoice::NONE
    } else {
        a.metadata
    };
    let metadata = keep_valid(choice.select(loaded.metadata), |m| {
        say(&format!("ansel: {input}: warning: {m}"))
    });
    let t_load = t.elapsed();
    let t = Instant::now();
    let refinement = Refinement::steps(a.refine);
    let options = match a.target_bpp {
        Some(bpp) => EncodeOptions::bits_per_pixel(bpp),
        None => EncodeOptions::quality(a.quality.unwrap_or_else(|| default_quality(codec))),
    };
    let ansel::Encoded {
        bytes: stream,
        quality,
    } = codec
        .encode_with_metadata(&img, options.refine(refinement), &metadata)
        .map_err(|e| format!("{input}: {e}"))?;
    let t_code = t.elapsed();
    let t = Instant::now();
    job.output.write(&stream, a.run.force)?;
    let t_write = t.elapsed();
    // The rate is the image's: metadata bytes are counted apart.
    let (image_bytes, _) = ansel::metadata::split_size(stream.len() as u64, &metadata);
    let bpp = 8.0 * image_bytes as f64 / (img.width() as f64 * img.height() as f64);
    let target = a
        .target_bpp
        .map_or(String::new(), |t| format!(" (target {t} bpp)"));
    Ok(format!(
        "{input} → {}: {}×{}, quality {quality:.3}, {}, {bpp:.4} bpp{target}; \
         load {}, encode {}, write {}",
        job.output,
        img.width(),
        img.height(),
        size_words(stream.len() as u64, &metadata),
        ms(t_load),
        ms(t_code),
        ms(t_write),
    ))
}

/// `metadata` without the parts a stream cannot hold (too large, malformed), each reported
/// through `warn`.
fn keep_valid(metadata: Metadata, warn: impl Fn(&str)) -> Metadata {
    let check = |kind: SectionKind, part: Option<Vec<u8>>| {
        part.filter(|data| match ansel::codec_format::check_part(kind, data) {
            Ok(()) => true,
            Err(e) => {
                warn(&format!("{kind} not kept: {e}"));
                false
            }
        })
    };
    Metadata {
        icc: check(SectionKind::Icc, metadata.icc),
        exif: check(SectionKind::Exif, metadata.exif),
        xmp: check(SectionKind::Xmp, metadata.xmp),
    }
}

/// "N bytes", and with metadata "N bytes (I image + M metadata: ICC a, EXIF b, XMP c)".
fn size_words(total: u64, metadata: &Metadata) -> String {
    if metadata.is_empty() {
        return format!("{total} bytes");
    }
    let (image, meta) = ansel::metadata::split_size(total, metadata);
    let parts: Vec<String> = metadata
        .parts()
        .map(|(kind, data)| format!("{} {}", short_name(kind), data.len()))
        .collect();
    format!(
        "{total} bytes ({image} image + {meta} metadata: {})",
        parts.join(", ")
    )
}

/// ICC, EXIF, XMP.
fn short_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Icc => "ICC",
        SectionKind::Exif => "EXIF",
        _ => "XMP",
    }
}

/// Runs `ansel decode`.
pub fn decode(a: DecodeArgs) -> Result<()> {
    let extension = a.format.map_or("png", OutputFormat::extension);
    let jobs = plan(&a.inputs, &a.output, &a.out_dir, extension, "image data")?;
    // Refuse an output format that cannot be written before decoding anything.
    for job in &jobs {
        output_format(&job.output, a.format)?;
    }
    if a.device.is_some_and(|d| d != DeviceChoice::Cpu) {
        eprintln!("ansel: note: --device is ignored: decoding runs on the CPU (the same pixels on every machine)");
    }
    let decoder = load_decoder(&a.run.model, a.run.verbose)?;
    run_all(&jobs, a.run.jobs, a.run.verbose, |job, say| {
        decode_one(&decoder, job, &a, say)
    })
}

/// The format of an output: `--format`, else the file's extension, else PNG on stdout.
fn output_format(
    sink: &Sink,
    format: Option<OutputFormat>,
) -> std::result::Result<ImageFormat, String> {
    let format = match (format, sink) {
        (Some(f), _) => f.image_format(),
        (None, Sink::Stdout) => ImageFormat::Png,
        (None, Sink::File(p)) => {
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            if matches!(ext.as_deref(), Some("pgm" | "pbm")) {
                return Err(format!(
                    "{}: decoded images are in colour: write .ppm, not .pgm or .pbm",
                    p.display()
                ));
            }
            ImageFormat::from_path(p).map_err(|_| {
                format!(
                    "{}: cannot tell the image format from the extension \
                     (use .png, .jpg, .ppm, .bmp, .tif or .webp, or --format)",
                    p.display()
                )
            })?
        }
    };
    if !format.writing_enabled() {
        return Err(format!(
            "{sink}: this build cannot write {} images (use PNG, JPEG, PPM, BMP, TIFF or WebP)",
            format_name(format)
        ));
    }
    Ok(format)
}

/// `img` in `format` with as much of `metadata` as the format holds; the PNM family (which
/// holds none) is written as binary PPM (P6), or PAM (P7) for a `.pam` file.
fn encode_image(
    img: &image::RgbImage,
    format: ImageFormat,
    sink: &Sink,
    metadata: &Metadata,
) -> std::result::Result<ansel::metadata::Written, String> {
    use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
    if format != ImageFormat::Pnm {
        return ansel::metadata::write_image(img, format, metadata)
            .map_err(|e| format!("{sink}: {e}"));
    }
    let mut buf = Vec::new();
    let result = {
        let pam = matches!(sink, Sink::File(p)
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pam")));
        let subtype = if pam {
            PnmSubtype::ArbitraryMap
        } else {
            PnmSubtype::Pixmap(SampleEncoding::Binary)
        };
        img.write_with_encoder(PnmEncoder::new(&mut buf).with_subtype(subtype))
    };
    result.map_err(|e| format!("{sink}: {e}"))?;
    Ok(ansel::metadata::Written {
        bytes: buf,
        dropped: metadata.parts().map(|(kind, _)| kind).collect(),
    })
}

fn decode_one(
    decoder: &Decoder,
    job: &Job,
    a: &DecodeArgs,
    say: &dyn Fn(&str),
) -> std::result::Result<String, String> {
    let input = &job.input;
    job.output.check(a.run.force, "image data")?;
    let format = output_format(&job.output, a.format)?;
    let t = Instant::now();
    let bytes = input.read()?;
    if bytes.is_empty() {
        return Err(format!("{input}: empty file, not an .ansel file"));
    }
    let t_read = t.elapsed();
    let t = Instant::now();
    let (img, metadata) = decoder.decode_with_metadata(&bytes).map_err(|e| match e {
        ansel::Error::WrongModel { .. } => {
            format!("{input}: {e} (decode it with --model and the package it was made with)")
        }
        e => format!("{input}: {e}"),
    })?;
    let t_code = t.elapsed();
    let t = Instant::now();
    let metadata = if a.strip {
        Metadata::default()
    } else {
        metadata
    };
    let encoded = encode_image(&img, format, &job.output, &metadata)?;
    for kind in &encoded.dropped {
        say(&format!(
            "ansel: {input}: warning: {} cannot hold the {kind}; not written to {}",
            format_name(format),
            job.output
        ));
    }
    let orientation = metadata
        .exif
        .as_deref()
        .and_then(|e| ansel::metadata::exif_summary(e).orientation)
        .filter(|&o| o != 1);
    if let (Some(o), true) = (orientation, encoded.dropped.contains(&SectionKind::Exif)) {
        say(&format!(
            "ansel: {input}: warning: the EXIF orientation {o} ({}) is lost with it: \
             the pixels are as stored, not rotated",
            ansel::metadata::orientation_words(o)
        ));
    }
    job.output.write(&encoded.bytes, a.run.force)?;
    let t_write = t.elapsed();
    let (image_bytes, _) = ansel::metadata::split_size(bytes.len() as u64, &metadata);
    let bpp = 8.0 * image_bytes as f64 / (img.width() as f64 * img.height() as f64);
    Ok(format!(
        "{input} → {}: {}×{}, {}, {bpp:.4} bpp; read {}, decode {}, write {} {}",
        job.output,
        img.width(),
        img.height(),
        size_words(bytes.len() as u64, &metadata),
        ms(t_read),
        ms(t_code),
        format_name(format),
        ms(t_write),
    ))
}

/// Runs `ansel info`.
pub fn info(a: InfoArgs) -> Result<()> {
    let source = Source::from_arg(&a.input);
    let bytes = source.read()?;
    let info =
        Container::inspect(&bytes, &Limits::default()).map_err(|e| format!("{source}: {e}"))?;
    let h = &info.header;
    // The metadata sections of tile 0 (the reader checked them), and the image's own rate.
    let mut metadata = Metadata::default();
    for s in info.tiles[0]
        .sections
        .iter()
        .filter(|s| s.kind.is_metadata())
    {
        let data = bytes[s.offset as usize..][..s.len as usize].to_vec();
        match s.kind {
            SectionKind::Icc => metadata.icc = Some(data),
            SectionKind::Exif => metadata.exif = Some(data),
            _ => metadata.xmp = Some(data),
        }
    }
    let (image_bytes, metadata_bytes) = ansel::metadata::split_size(info.file_len, &metadata);
    let bpp = 8.0 * image_bytes as f64 / h.pixel_count() as f64;
    let exif = metadata.exif.as_deref().map(ansel::metadata::exif_summary);
    let icc_description = metadata
        .icc
        .as_deref()
        .and_then(ansel::metadata::icc_description);
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
            "file": source.to_string(),
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
            "metadata": {
                "bytes": metadata_bytes,
                "icc": metadata.icc.as_ref().map(|d| serde_json::json!({
                    "bytes": d.len(), "description": icc_description,
                })),
                "exif": metadata.exif.as_ref().zip(exif.as_ref()).map(|(d, e)| serde_json::json!({
                    "bytes": d.len(), "orientation": e.orientation, "make": e.make, "model": e.model,
                })),
                "xmp": metadata.xmp.as_ref().map(|d| serde_json::json!({ "bytes": d.len() })),
            },
            "tiles": tiles,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!(
            "{source}: ansel {} file, {} bytes",
            info.version,
            info.file_len
        );
        outln!("  image    {}×{} {}", h.width, h.height, h.color);
        outln!("  quality  {}", h.quality);
        outln!("  model    {}", h.model);
        outln!(
            "  tiles    {}×{} of {}×{}",
            h.tiles_x(),
            h.tiles_y(),
            h.tile_width,
            h.tile_height
        );
        if metadata.is_empty() {
            outln!("  rate     {bpp:.4} bpp");
        } else {
            outln!(
                "  rate     {bpp:.4} bpp (the image's {image_bytes} bytes; \
                 metadata {metadata_bytes} bytes apart)"
            );
        }
        if let Some(icc) = &metadata.icc {
            let name = icc_description.map_or(String::new(), |d| format!(", \"{d}\""));
            outln!("  icc      {} B{name}", icc.len());
        }
        if let (Some(data), Some(e)) = (&metadata.exif, &exif) {
            let mut words = vec![format!("{} B", data.len())];
            if let Some(o) = e.orientation {
                let how = ansel::metadata::orientation_words(o);
                words.push(format!("orientation {o} ({how})"));
            }
            let camera: Vec<&str> = [&e.make, &e.model]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            if !camera.is_empty() {
                words.push(format!("camera {}", camera.join(" ")));
            }
            outln!("  exif     {}", words.join(", "));
        }
        if let Some(xmp) = &metadata.xmp {
            outln!("  xmp      {} B", xmp.len());
        }
        for (i, t) in info.tiles.iter().enumerate() {
            let secs: Vec<String> = t
                .sections
                .iter()
                .map(|s| format!("{} {} B", s.kind, s.len))
                .collect();
            outln!(
                "  tile {i}   {} (index check {:08x})",
                secs.join(", "),
                t.index_check
            );
        }
    }
    Ok(())
}
