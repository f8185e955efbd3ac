//! Measures encoder-side refinement (`ansel::Refinement`) on a few images: for each image and
//! quality, the plain encode and every (steps, step size) asked for, with bpp from the stream,
//! PSNR of the decoded image, the training loss J = λ·255²·MSE + bpp and the encode time.
//!
//! ```text
//! cargo run --release --example refine_sweep -- IMG[,IMG…] QUALITIES STEPS STEP_SIZES [MODEL.anselpkg]
//! cargo run --release --example refine_sweep -- photo.png 2,5,8 10,20 0.005,0.01,0.02
//! ```
//! Tune on training photos, never on the evaluation set.

use std::time::Instant;

use ansel::eval::metrics::{mse_rgb, psnr_from_mse};
use ansel::{Codec, EncodeOptions, Refinement};

fn list<T: std::str::FromStr>(arg: Option<&String>, what: &str) -> Vec<T> {
    let arg = arg.unwrap_or_else(|| panic!("missing {what}; see the header of this file"));
    arg.split(',')
        .map(|s| s.parse().unwrap_or_else(|_| panic!("bad {what}: {s}")))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let images: Vec<String> = list(args.first(), "images");
    let qualities: Vec<f32> = list(args.get(1), "qualities");
    let steps: Vec<usize> = list(args.get(2), "step counts");
    let sizes: Vec<f64> = list(args.get(3), "step sizes");
    let codec = match args.get(4) {
        Some(p) => Codec::from_package(&ansel::Package::read(p.as_ref())?)?,
        None => Codec::embedded()?,
    };
    let ladder: ansel::quality::Ladder = codec.metadata().lambdas.as_slice().try_into()?;
    for path in &images {
        let image = image::open(path)?.to_rgb8();
        let pixels = f64::from(image.width() * image.height());
        for &q in &qualities {
            let lambda = ansel::quality::lambda_for_quality(&ladder, q);
            let run = |label: String, refinement: Refinement| -> Result<(), ansel::Error> {
                let t = Instant::now();
                let stream = codec
                    .encode(&image, EncodeOptions::quality(q).refine(refinement))?
                    .bytes;
                let secs = t.elapsed().as_secs_f64();
                let mse = mse_rgb(&image, &codec.decode(&stream)?).expect("same size");
                let bpp = 8.0 * stream.len() as f64 / pixels;
                println!(
                    "{path} q{q} {label}: bpp {bpp:.4} psnr {:.3} J {:.4} ({secs:.1} s)",
                    psnr_from_mse(mse),
                    lambda * mse + bpp
                );
                Ok(())
            };
            run("plain".into(), Refinement::NONE)?;
            for &n in &steps {
                for &step_size in &sizes {
                    run(
                        format!("steps {n} size {step_size}"),
                        Refinement {
                            steps: n,
                            step_size,
                        },
                    )?;
                }
            }
        }
    }
    Ok(())
}
