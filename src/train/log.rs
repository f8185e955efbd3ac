//! The run's JSON-lines logs (`train.jsonl`, `val.jsonl`) and how they follow a resume.
//!
//! A run killed between checkpoints has logged steps that the resumed run will take again.
//! Trimming the logs back to the checkpoint's step on resume keeps one entry per step, so a
//! log can be plotted or committed as it is.

use std::fs;
use std::path::Path;

use super::TrainError;
use crate::output::{self, Existing};

/// Per-interval training losses.
pub const TRAIN_LOG: &str = "train.jsonl";
/// Validation points.
pub const VALIDATION_LOG: &str = "val.jsonl";

/// Drops the entries after `step` from both logs in `out` (written to a temporary file and
/// renamed, so an interruption leaves the old log). Lines without a readable `step` are torn
/// writes of a killed run and go too. A log with nothing to drop is not rewritten.
pub fn trim_after(out: &Path, step: u64) -> Result<(), TrainError> {
    for name in [TRAIN_LOG, VALIDATION_LOG] {
        let path = out.join(name);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TrainError::Io(path, e)),
        };
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| entry_step(l).is_some_and(|s| s <= step))
            .collect();
        if kept.len() == text.lines().count() {
            continue;
        }
        let mut body = kept.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        output::write(&path, body.as_bytes(), Existing::Replace)?;
    }
    Ok(())
}

/// The `step` field of one log line.
fn entry_step(line: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Entry {
        step: u64,
    }
    serde_json::from_str::<Entry>(line).ok().map(|e| e.step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_entries_up_to_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join(TRAIN_LOG);
        let val = dir.path().join(VALIDATION_LOG);
        fs::write(
            &train,
            "{\"step\":50,\"loss\":3.0}\n{\"step\":100,\"loss\":2.5}\n{\"step\":150,\"loss\":2.4}\n{\"st",
        )
        .unwrap();
        fs::write(&val, "{\"step\":100,\"quality\":1.0}\n").unwrap();
        let before = fs::metadata(&val).unwrap().modified().unwrap();

        trim_after(dir.path(), 100).unwrap();
        assert_eq!(
            fs::read_to_string(&train).unwrap(),
            "{\"step\":50,\"loss\":3.0}\n{\"step\":100,\"loss\":2.5}\n"
        );
        assert_eq!(
            fs::read_to_string(&val).unwrap(),
            "{\"step\":100,\"quality\":1.0}\n"
        );
        assert_eq!(fs::metadata(&val).unwrap().modified().unwrap(), before);

        // A checkpoint before every entry empties the log; missing logs are fine.
        trim_after(dir.path(), 10).unwrap();
        assert_eq!(fs::read_to_string(&train).unwrap(), "");
        trim_after(&dir.path().join("elsewhere"), 10).unwrap();
    }
}
