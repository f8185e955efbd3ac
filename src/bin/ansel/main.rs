//! The `ansel` command line: encode, decode, info, model, eval, train, export, import.

/// `println!` for what a command reports on standard output, returning a write error instead
/// of panicking on it: a reader that closes the pipe early (`ansel model | head -1`) ends the
/// command quietly (see [`main`]).
macro_rules! outln {
    () => {
        outln!("")
    };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` as [`outln!`] does it.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod code;
mod device;
mod eval;
mod import;
mod io;
mod model;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ansel: a learned image codec.
#[derive(Parser)]
#[command(name = "ansel", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress images into .ansel files (`-` for standard input/output).
    Encode(code::EncodeArgs),
    /// Decompress .ansel files into images (PNG, or another format by extension or --format).
    Decode(code::DecodeArgs),
    /// Show the header of an .ansel file.
    Info(code::InfoArgs),
    /// Describe the embedded default model (or a model package): id, size, training.
    Model(model::ModelArgs),
    /// Rate–distortion evaluation on a dataset (CompressAI-style JSON, BD-rate, plot).
    Eval(eval::EvalArgs),
    /// Train the network on a directory of photos.
    Train(train::TrainArgs),
    /// Freeze a training checkpoint into a model package.
    Export(train::ExportArgs),
    /// Import a model trained elsewhere (a CompressAI checkpoint) into a model package.
    Import(import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Encode(a) => code::encode(a),
        Command::Decode(a) => code::decode(a),
        Command::Info(a) => code::info(a),
        Command::Model(a) => model::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Train(a) => train::run(a),
        Command::Export(a) => train::run_export(a),
        Command::Import(a) => import::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader has all it wanted, as `head` does: not a failure, nothing to report.
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ansel: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
