//! `ansel eval`: rate–distortion of a model on a data set, CompressAI-format JSON, BD-rate table and RD plot.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ansel::backend::DeviceChoice;
use ansel::eval::harness::{self, write_json, DatasetImage};
use ansel::eval::{
    bd_rate, bd_rate_table, plot_rd, quality_gap_table, BdMethod, EvalError, Evaluation,
    HarnessOptions, PlotOptions, RdCurve, ResultsFile,
};
use ansel::image_io::Conversion;
use ansel::output::{self, Existing};
use ansel::Codec;
use ansel::Refinement;

/// Arguments of `ansel eval`.
#[derive(Args)]
#[command(after_help = "\
Every image is encoded and decoded through the real bitstream at every quality. bpp = 8 × bytes of the \
.ansel stream / (W × H), the image payload alone: eval stores none of the inputs' metadata (ICC profile, \
EXIF, XMP), whose bytes `ansel encode` adds on top and `ansel encode -v` reports apart; PSNR on RGB 0–255 with the MSE over all channels; MS-SSIM on RGB (5 scales, 11×11 \
Gaussian window σ = 1.5, standard weights, per channel then averaged); means are plain means over the images, as \
CompressAI computes them. Times are wall seconds of Codec::encode / Codec::decode per image (image in memory). \
BD-rate is Bjøntegaard's delta rate on the PSNR curves, with the classic cubic fit and with PCHIP. Output files \
are written atomically and replace existing ones.

With --results, nothing is coded: the tables and plot are redrawn from a results file written earlier (by \
--json, or any CompressAI-format file), e.g. to compare it with new anchors.

Example: ansel eval --dataset kodak --json kodak.json --plot kodak.png --compare vtm.json webp.json
         ansel eval --results kodak.json --compare avif.json --plot kodak-avif.png")]
pub struct EvalArgs {
    /// Directory of images to evaluate on (PNG, JPEG, PPM, BMP, TIFF, WebP; sorted by name).
    #[arg(long, value_name = "DIR", required_unless_present = "results")]
    dataset: Option<PathBuf>,
    /// Report on this results file instead of coding a data set: its table, the BD-rate tables against
    /// --compare, and --plot.
    #[arg(long, value_name = "RESULTS.json", conflicts_with_all = [
        "dataset", "qualities", "model", "json", "per_image", "name", "limit", "jobs", "device", "refine",
    ])]
    results: Option<PathBuf>,
    /// Qualities to code at, comma-separated (1 to 8, fractions allowed; for a package of one
    /// network per quality, its whole qualities) [default: 1 to 8, or each network's quality].
    #[arg(long, value_delimiter = ',')]
    qualities: Option<Vec<f32>>,
    /// Model package to use instead of the embedded default model.
    #[arg(long, value_name = "PKG")]
    model: Option<PathBuf>,
    /// Write the mean results in CompressAI's JSON format here.
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Write every image's results (bpp, PSNR, MS-SSIM, times per quality) as JSON here.
    #[arg(long, value_name = "OUT.json")]
    per_image: Option<PathBuf>,
    /// Draw the PSNR-vs-bpp plot (PNG) here, with the --compare curves.
    #[arg(long, value_name = "OUT.png")]
    plot: Option<PathBuf>,
    /// CompressAI-format results to compare with: BD-rate table and plot.
    #[arg(long, value_name = "RESULTS.json", num_args = 1..)]
    compare: Vec<PathBuf>,
    /// Name of our curve (JSON `name`, legend, tables).
    #[arg(long, default_value = "ansel")]
    name: String,
    /// Evaluate only the first N images (in name order), for quick runs.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Code this many (image, quality) pairs at once. The network already uses every core, so more jobs mainly
    /// overlap entropy coding and metrics; per-image times then include contention.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: u32,
    /// Refine every image's latent with N gradient steps before coding it (see `ansel encode
    /// --refine`): slower encodes, fewer bits at equal PSNR.
    #[arg(long, value_name = "N", default_value_t = 0)]
    refine: usize,
    /// Where the network runs: cpu, gpu (needs the `wgpu` build feature) or auto.
    #[arg(long, default_value = "auto", value_name = "cpu|gpu|auto")]
    device: DeviceChoice,
    /// Also print every image's results.
    #[arg(short, long)]
    verbose: bool,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A `--compare` results file and where it came from.
struct Compared {
    path: PathBuf,
    file: ResultsFile,
}

/// Runs `ansel eval`.
pub fn run(a: EvalArgs) -> Result<()> {
    let started = Instant::now();
    // Check everything that can fail cheaply before the long part.
    let compared = a
        .compare
        .iter()
        .map(|path| {
            let file = ResultsFile::read(path)?;
            Ok(Compared {
                path: path.clone(),
                file,
            })
        })
        .collect::<std::result::Result<Vec<_>, EvalError>>()?;
    for c in &compared {
        if let Err(e) = c.file.psnr_curve() {
            eprintln!(
                "ansel: warning: {}: {e}; not in the BD-rate table or plot",
                c.path.display()
            );
        }
    }
    for out in [&a.json, &a.per_image, &a.plot].into_iter().flatten() {
        check_output_dir(out)?;
    }
    let Measured {
        results,
        mut report,
        plot_title,
    } = match (&a.results, &a.dataset) {
        (Some(path), _) => reread(path)?,
        (None, Some(dataset)) => measure(&a, dataset, started)?,
        (None, None) => unreachable!("clap requires --dataset without --results"),
    };

    let ours = results.psnr_curve()?;
    let anchors = curves(&compared, ResultsFile::psnr_curve);
    if !anchors.is_empty() {
        report += "\n";
        report += &bd_rate_table(&ours, &anchors);
        report += "\n";
        report += &quality_gap_table(&ours, &anchors);
        if let Ok(ours_ms) = results.ms_ssim_db_curve() {
            let ms_anchors = curves(&compared, ResultsFile::ms_ssim_db_curve);
            if !ms_anchors.is_empty() {
                report += "\n";
                report += &ms_ssim_bd_rate_table(&ours_ms, &ms_anchors);
            }
        }
    }
    // The report goes out last, so that the files are written even if its reader is gone.
    if let Some(path) = &a.plot {
        output::write_with(path, Existing::Replace, |tmp| {
            plot_rd(tmp, &plot_title, &[ours], &anchors, &PlotOptions::default())
        })?;
        eprintln!("wrote {}", path.display());
    }
    out!("{report}");
    Ok(())
}

/// The curves of the `--compare` files that have one (the others were warned about).
fn curves(
    compared: &[Compared],
    curve: fn(&ResultsFile) -> std::result::Result<RdCurve, EvalError>,
) -> Vec<RdCurve> {
    compared
        .iter()
        .filter_map(|c| curve(&c.file).ok())
        .collect()
}

/// Our results, the report so far (per-image and summary tables) and the plot's title.
struct Measured {
    results: ResultsFile,
    report: String,
    plot_title: String,
}

/// Codes every image of `dataset` at every quality; writes --json and --per-image.
fn measure(a: &EvalArgs, dataset: &Path, started: Instant) -> Result<Measured> {
    let device = crate::device::select(a.device)?;
    let codec = match &a.model {
        Some(p) => Codec::from_package(&ansel::Package::read(p)?)?,
        None => Codec::embedded()?,
    }
    .on_device(&device);
    let images = harness::load_dataset(dataset, a.limit)?;
    warn_conversions(&images);
    // Every rung, or every network of a package of one per quality.
    let rungs = match codec.decoder().network_count() {
        1 => ansel::quality::RUNGS,
        k => k,
    };
    let qualities = a
        .qualities
        .clone()
        .unwrap_or_else(|| (1..=rungs).map(|q| q as f32).collect());
    let options = HarnessOptions {
        qualities: qualities.clone(),
        jobs: a.jobs as usize,
        refinement: Refinement::steps(a.refine),
    };

    let tasks = (images.len() * options.qualities.len()) as u64;
    let bar = progress_bar(tasks);
    let evaluation = harness::evaluate(&codec, &images, &options, &|r, q| {
        bar.set_message(format!("{} q{q}", r.image));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let evaluation = evaluation?;
    let eval_seconds = started.elapsed().as_secs_f64();

    let (description, meta) = describe(
        a,
        &qualities,
        dataset,
        &codec,
        device.description(),
        &images,
        eval_seconds,
    );
    let mut results = evaluation.results_file(&a.name, &description)?;
    results.meta = Some(meta);

    let mut report = String::new();
    if a.verbose {
        report += &per_image_table(&evaluation);
        report += "\n";
    }
    report += &summary_table(&results, Some(images.len()));

    if let Some(path) = &a.json {
        write_json(path, &results)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.per_image {
        write_json(path, &evaluation.per_image_file(&a.name, &description))?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!(
        "{} images × {} qualities in {eval_seconds:.1} s",
        images.len(),
        options.qualities.len(),
    );
    let plot_title = plot_title(Some((&dataset_name(dataset), images.len())));
    Ok(Measured {
        results,
        report,
        plot_title,
    })
}

/// Reads back a results file for `--results`; the plot is titled as `measure` titled it where the file's
/// `meta` (written by `ansel eval --json`) says which data set it was.
fn reread(path: &Path) -> Result<Measured> {
    let results = ResultsFile::read(path)?;
    let meta = results.meta.as_ref();
    let images = meta.and_then(|m| m["images"].as_u64()).map(|n| n as usize);
    let dataset = meta.and_then(|m| m["dataset"].as_str());
    let plot_title = plot_title(dataset.zip(images));
    let report = summary_table(&results, images);
    Ok(Measured {
        results,
        report,
        plot_title,
    })
}

/// The plot's title, naming the data set and its image count where known: one format for `measure` and
/// `reread`, so that `--results` redraws the same plot.
fn plot_title(dataset: Option<(&str, usize)>) -> String {
    match dataset {
        Some((name, n)) => format!("{name} ({n} images): PSNR-RGB vs rate"),
        None => "PSNR-RGB vs rate".to_string(),
    }
}

/// Fails early if an output's directory does not exist.
fn check_output_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: directory {} does not exist",
            path.display(),
            dir.display()
        )
        .into());
    }
    Ok(())
}

fn warn_conversions(images: &[DatasetImage]) {
    for img in images {
        match img.conversion {
            Conversion::DroppedAlpha => {
                eprintln!("ansel: {}: warning: alpha channel dropped", img.name)
            }
            Conversion::ReducedDepth => {
                eprintln!("ansel: {}: warning: reduced to 8 bits per sample", img.name)
            }
            Conversion::None | Conversion::FromGrey => {}
        }
    }
}

/// A bar over images × qualities on stderr; hidden when stderr is not a terminal.
fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} ETA {eta}  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

fn dataset_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .as_deref()
        .unwrap_or(dir)
        .file_name()
        .map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
}

/// The JSON `description` (one line of text) and `meta` (the same facts, structured): model, data set, command,
/// definitions of the numbers, machine.
fn describe(
    a: &EvalArgs,
    qualities: &[f32],
    dataset: &Path,
    codec: &Codec,
    device: &str,
    images: &[DatasetImage],
    seconds: f64,
) -> (String, serde_json::Value) {
    let m = codec.metadata();
    let command = shell_words(std::env::args());
    let dataset = dataset_name(dataset);
    let qualities: Vec<String> = qualities.iter().map(|q| q.to_string()).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let networks = codec.decoder().network_count();
    let model = format!(
        "model {} ({}{} training steps, {}{})",
        codec.id(),
        if networks > 1 {
            format!("{networks} networks, one per quality; the first: ")
        } else {
            String::new()
        },
        m.steps,
        m.network,
        if m.note.is_empty() {
            String::new()
        } else {
            format!("; {}", m.note)
        }
    );
    let description = format!(
        "{name} on {dataset} ({n} images), qualities {q}; {model}{refine}. Command: {command}. bpp = 8*bytes of the .ansel \
         stream/(W*H), image payload alone (no metadata stored). PSNR/MS-SSIM on RGB 0..255 (CompressAI definitions), plain mean over images. Times: wall \
         seconds per image of Codec::encode / Codec::decode in-process (image in memory, model loaded), on \
         {device}, {jobs} (image, quality) pair(s) at a time on {cores} cores. ansel {version}.",
        name = a.name,
        n = images.len(),
        q = qualities.join(","),
        jobs = a.jobs,
        version = env!("CARGO_PKG_VERSION"),
        refine = if a.refine > 0 {
            format!("; latents refined with {} gradient steps", a.refine)
        } else {
            String::new()
        },
    );
    let meta = serde_json::json!({
        "codec": "ansel",
        "version": env!("CARGO_PKG_VERSION"),
        "model": {
            "id": codec.id().to_string(),
            "package": a.model.as_ref().map_or_else(|| "embedded".to_string(), |p| p.display().to_string()),
            "steps": m.steps,
            "train_seconds": m.train_seconds,
            "network": m.network,
            "lambdas": m.lambdas,
            "dataset_hash": m.dataset_hash,
            "note": m.note,
        },
        "dataset": dataset,
        "images": images.len(),
        "command": command,
        "jobs": a.jobs,
        "refine_steps": a.refine,
        "cores": cores,
        "device": device,
        "eval_seconds": seconds,
    });
    (description, meta)
}

/// The command line as a shell would take it back (arguments with special characters single-quoted).
fn shell_words(args: impl Iterator<Item = String>) -> String {
    let quote = |s: String| {
        let plain = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
        if plain {
            s
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut args = args.map(quote);
    let first = args.next().map(|p| {
        Path::new(&p)
            .file_name()
            .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
    });
    first.into_iter().chain(args).collect::<Vec<_>>().join(" ")
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|v| !v.is_nan())
        .map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

/// Mean per quality: quality, bpp, PSNR, MS-SSIM, encode and decode milliseconds. Qualities come from the file's
/// `quality` list where it has one (ours do), else the points are numbered.
fn summary_table(f: &ResultsFile, images: Option<usize>) -> String {
    let r = &f.results;
    let mut out = match images {
        Some(n) => format!("{}: mean over {n} images\n\n", f.name),
        None => format!("{}\n\n", f.name),
    };
    out.push_str("| quality | bpp | PSNR (dB) | MS-SSIM | enc (ms) | dec (ms) |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|\n");
    let at = |v: Option<&Vec<f64>>, i: usize| v.and_then(|v| v.get(i)).copied();
    for (i, bpp) in r.bpp.iter().enumerate() {
        let quality = match r.extra.get("quality").and_then(|q| q.get(i)?.as_f64()) {
            Some(q) => q.to_string(),
            None => format!("#{}", i + 1),
        };
        let _ = writeln!(
            out,
            "| {quality} | {bpp:.4} | {} | {} | {} | {} |",
            fmt_opt(at(r.psnr_or_legacy(), i), 3),
            fmt_opt(at(r.ms_ssim_rgb.as_ref(), i), 5),
            fmt_opt(at(r.encoding_time.as_ref(), i).map(|t| t * 1e3), 1),
            fmt_opt(at(r.decoding_time.as_ref(), i).map(|t| t * 1e3), 1),
        );
    }
    out
}

/// Every image at every quality.
fn per_image_table(e: &Evaluation) -> String {
    let mut out =
        String::from("| image | quality | bpp | PSNR (dB) | MS-SSIM | enc (ms) | dec (ms) |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for i in 0..e.images.len() {
        for (q, point) in e.qualities.iter().zip(&e.points) {
            let r = &point[i];
            let _ = writeln!(
                out,
                "| {} | {q} | {:.4} | {:.3} | {} | {:.1} | {:.1} |",
                r.image,
                r.bpp,
                r.psnr_rgb,
                fmt_opt(r.ms_ssim_rgb, 5),
                r.encoding_time * 1e3,
                r.decoding_time * 1e3,
            );
        }
    }
    out
}

/// BD-rate on the MS-SSIM (dB) curves, both fits.
fn ms_ssim_bd_rate_table(ours: &RdCurve, anchors: &[RdCurve]) -> String {
    let mut out = format!(
        "BD-rate of {} on MS-SSIM (dB) against each anchor\n\n",
        ours.name
    );
    out.push_str("| Anchor | BD-rate cubic | BD-rate PCHIP |\n|---|---:|---:|\n");
    for anchor in anchors {
        let cell = |m| {
            bd_rate(&anchor.points, &ours.points, m)
                .map_or_else(|_| "n/a".to_string(), |v| format!("{v:+.2} %"))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            anchor.name,
            cell(BdMethod::Cubic),
            cell(BdMethod::Pchip)
        );
    }
    out
}
