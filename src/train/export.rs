//! Export: freezing a trained network into a model package (see [`crate::package`]), and the
//! training set's hash recorded in it.

use std::fs;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::data::list_images;
use super::TrainError;
pub use crate::package::export::{convert_v1, export, Provenance};

/// SHA-256 (hex) over the names and contents of the images in `dir`, in name order.
pub fn dataset_hash(dir: &Path) -> Result<String, TrainError> {
    let mut h = Sha256::new();
    for f in list_images(dir)? {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        let mut bytes = Vec::new();
        fs::File::open(&f)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .map_err(|e| TrainError::Io(f.clone(), e))?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
