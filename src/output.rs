//! Output files that are never left half-written.
//!
//! Every file ansel writes (streams, decoded images, model packages, evaluation results and
//! plots) goes through here: it is written to a temporary file in the same directory and
//! renamed onto its name once complete, so an interrupted run leaves either the old file or
//! the new one, never a partial one. A device, FIFO or socket given as the output (say
//! `/dev/null`) is written into instead: a rename would replace the device node itself (as
//! root, `-o /dev/null` would turn `/dev/null` into a regular file).
//!
//! ```
//! use ansel::output::{self, Existing};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.txt");
//! output::write(&path, b"one", Existing::Refuse)?;
//! assert!(output::write(&path, b"two", Existing::Refuse).is_err());
//! output::write(&path, b"two", Existing::Replace)?;
//! assert_eq!(std::fs::read(&path)?, b"two");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// What to do when the output path already names a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Keep it and fail with [`WriteError::Exists`]. Checked by the rename itself, so a
    /// file created meanwhile by someone else is not clobbered either.
    Refuse,
    /// Replace it.
    Replace,
}

impl Existing {
    /// [`Existing::Replace`] with `force` (a command's `--force`), else [`Existing::Refuse`].
    pub fn replace_if(force: bool) -> Self {
        if force {
            Self::Replace
        } else {
            Self::Refuse
        }
    }
}

/// Why an output file could not be written. Nothing is left behind in either case.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The path names a file and [`Existing::Refuse`] was asked for.
    #[error("{}: already exists", .0.display())]
    Exists(PathBuf),
    /// The file system refused (no such directory, no permission, disk full…).
    #[error("{}: {source}", path.display())]
    Io {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl WriteError {
    fn io(path: &Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether `path` names something that is neither a regular file nor a directory: a device
/// such as `/dev/null`, a FIFO, a socket. Such an output is written into, not replaced, and
/// is never refused as "already exists".
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Writes `bytes` to `path` atomically (see the [module docs](self)).
pub fn write(path: &Path, bytes: &[u8], existing: Existing) -> Result<(), WriteError> {
    if is_special(path) {
        // Nothing partial can be left in a device or pipe: write straight into it.
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(WriteError::io(path))?;
        return out.write_all(bytes).map_err(WriteError::io(path));
    }
    let mut tmp = temporary(path, existing)?;
    tmp.write_all(bytes).map_err(WriteError::io(path))?;
    persist(tmp, path, existing)
}

/// Writes a file atomically through a writer that wants a path (a plot library, an image
/// encoder that picks the format from the name): `write` is given a temporary path with the
/// same extension as `path`, and the file it leaves there is renamed onto `path` once `write`
/// succeeds. If `write` fails, its error is returned and the temporary file removed.
pub fn write_with<E>(
    path: &Path,
    existing: Existing,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<WriteError>,
{
    if is_special(path) {
        // The finished file is copied in; its temporary lives in the system's temporary
        // directory, since a device's directory (`/dev`) is usually not writable.
        let tmp = builder(&suffix(path))
            .tempfile()
            .map_err(WriteError::io(path))?;
        write(tmp.path())?;
        let copy = || -> std::io::Result<()> {
            let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
            std::io::copy(&mut std::fs::File::open(tmp.path())?, &mut out)?;
            Ok(())
        };
        return Ok(copy().map_err(WriteError::io(path))?);
    }
    let tmp = temporary(path, existing)?;
    write(tmp.path())?;
    Ok(persist(tmp, path, existing)?)
}

/// A temporary file beside `path`, refused early if `path` exists and must not be replaced.
fn temporary(path: &Path, existing: Existing) -> Result<NamedTempFile, WriteError> {
    if existing == Existing::Refuse && path.exists() {
        return Err(WriteError::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    builder(&suffix(path))
        .tempfile_in(dir)
        .map_err(WriteError::io(path))
}

/// The name a temporary file ends with: the output's extension, so that writers which pick
/// the format from the name (plots, images) write the right one.
fn suffix(path: &Path) -> String {
    path.extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_else(|| ".tmp".into())
}

/// Temporary files are hidden, named after ansel, and end in `suffix`.
fn builder(suffix: &str) -> tempfile::Builder<'static, '_> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ansel-").suffix(suffix);
    // A temporary file is private (0600) by default; the output gets the usual mode
    // (0666 less the umask), like any file the user creates.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

fn persist(tmp: NamedTempFile, path: &Path, existing: Existing) -> Result<(), WriteError> {
    tmp.as_file().sync_all().map_err(WriteError::io(path))?;
    let persisted = match existing {
        Existing::Replace => tmp.persist(path),
        Existing::Refuse => tmp.persist_noclobber(path),
    };
    persisted.map(|_| ()).map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => WriteError::Exists(path.to_path_buf()),
        _ => WriteError::io(path)(e.error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn refuse_keeps_the_old_file_and_replace_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ansel");
        write(&path, b"old", Existing::Refuse).unwrap();
        let refused = write(&path, b"new", Existing::Refuse);
        assert!(matches!(refused, Err(WriteError::Exists(p)) if p == path));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write(&path, b"new", Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.ansel"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_output_gets_the_usual_mode_not_a_private_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        write(&path, b"x", Existing::Refuse).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        // 0666 less whatever umask the test runs under: at least readable by the group.
        assert_ne!(mode & 0o044, 0, "mode {mode:o}");
    }

    #[test]
    fn a_failed_writer_leaves_nothing_and_its_error_comes_back() {
        #[derive(Debug)]
        enum E {
            Write(WriteError),
            Mine,
        }
        impl From<WriteError> for E {
            fn from(e: WriteError) -> Self {
                E::Write(e)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        let failed = write_with(&path, Existing::Replace, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "png");
            std::fs::write(tmp, b"half").unwrap();
            Err(E::Mine)
        });
        assert!(matches!(failed, Err(E::Mine)));
        assert!(names(dir.path()).is_empty());
        let refused = write_with(
            &dir.path().join("none/x.png"),
            Existing::Replace,
            |_| Ok(()),
        );
        assert!(matches!(refused, Err(E::Write(WriteError::Io { .. }))));
    }

    #[test]
    fn write_with_refuses_an_existing_file_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, b"keep").unwrap();
        let mut called = false;
        let r: Result<(), WriteError> = write_with(&path, Existing::Refuse, |_| {
            called = true;
            Ok(())
        });
        assert!(matches!(r, Err(WriteError::Exists(_))));
        assert!(!called);
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    }

    /// A FIFO stands in for `/dev/null`: both writers must write into it, keep it a FIFO,
    /// and leave no temporary file beside it, even when told to refuse existing files.
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sink.json");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.unwrap().success());
        let read = || {
            std::process::Command::new("cat")
                .arg(&path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let reader = read();
        write(&path, b"bytes", Existing::Refuse).unwrap();
        assert_eq!(reader.wait_with_output().unwrap().stdout, b"bytes");
        let reader = read();
        write_with(&path, Existing::Replace, |tmp| {
            std::fs::write(tmp, b"through a path").map_err(WriteError::io(tmp))
        })
        .unwrap();
        assert_eq!(reader.wait_with_output().unwrap().stdout, b"through a path");
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        assert!(kind.is_fifo());
        assert_eq!(names(dir.path()), ["sink.json"]);
    }
}
