//! Models trained elsewhere, imported into ansel packages: CompressAI's checkpoints.
//!
//! CompressAI's mean-scale hyperprior (`mbt2018-mean`, Minnen et al. 2018) has ansel's own
//! layers: the same transforms with GDN, the same hyper-networks with leaky ReLUs, the same
//! factorized density of z with GDN's and the density's parameters stored alike. So an
//! import reads the checkpoint's tensors (burn's PyTorch reader: no Python, no pickle code
//! here), renames them onto ansel's network, gives it gains of one (the checkpoint was
//! trained for one rate, so every quality codes at that rate), and exports it like a trained
//! network: the z tables from its density, the y tables from ansel's scale ladder (or
//! CompressAI's scale table, [`ScaleTable`]). Streams of
//! an imported package decode to the same pixels on every machine, as any package's do.
//!
//! The scale hyperprior (`bmshj2018-hyperprior`, Ballé et al. 2018) differs only in its
//! hyper-networks (ReLUs, |y| into `h_a`, scales only): ansel runs it as
//! [`Hyperprior::ScaleOnly`], its means zero, under architecture id 2.
//!
//! The package stores the convolutions in f16, as every ansel package does (the network ansel
//! runs is the f16-rounded one).
//!
//! CompressAI's zoo ships one checkpoint per quality, each trained for one λ.
//! [`compressai_set`] imports several into one package of one network per quality, ordered by
//! rate: quality k codes with the network of the k-th smallest λ.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::pytorch_reader::PytorchReader;
use burn::store::{ModuleSnapshot, PytorchStore};

use crate::entropy::{
    compressai_scale_table, gaussian_tables, gaussian_tables_at_keys, scale_ladder,
};
use crate::model::Network;
use crate::package::export::{export_with, Provenance};
use crate::package::{Package, PackageError};
use crate::quality::RUNGS;
use crate::{Hyperprior, NetworkConfig};

/// A CompressAI architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `bmshj2018-hyperprior`: the scale hyperprior (Ballé et al. 2018).
    Bmshj2018Hyperprior,
    /// `mbt2018-mean`: the mean-scale hyperprior (Minnen et al. 2018).
    Mbt2018Mean,
}

impl Architecture {
    /// CompressAI's name of the architecture.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bmshj2018Hyperprior => "bmshj2018-hyperprior",
            Self::Mbt2018Mean => "mbt2018-mean",
        }
    }

    /// The hyperprior layout ansel runs it with.
    pub fn hyperprior(self) -> Hyperprior {
        match self {
            Self::Bmshj2018Hyperprior => Hyperprior::ScaleOnly,
            Self::Mbt2018Mean => Hyperprior::MeanScale,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Architecture {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Bmshj2018Hyperprior, Self::Mbt2018Mean]
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                format!("unknown architecture {s:?} (bmshj2018-hyperprior, mbt2018-mean)")
            })
    }
}

/// Why a checkpoint could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not a file `torch.save` writes.
    #[error("{path}: not a PyTorch checkpoint: {source}")]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// What the reader found.
        #[source]
        source: burn::store::pytorch_reader::PytorchError,
    },
    /// A checkpoint, but with no CompressAI model's tensors (bare or under `state_dict`).
    #[error("{0}: no CompressAI model in this checkpoint (no tensor g_a.0.weight, bare or under \"state_dict\")")]
    NoModel(PathBuf),
    /// A model of another architecture.
    #[error("{path}: a {found} checkpoint, not {expected}")]
    WrongArchitecture {
        /// The file.
        path: PathBuf,
        /// The architecture asked for.
        expected: Architecture,
        /// What the tensors' names and shapes say it is.
        found: String,
    },
    /// Tensors missing, left over or of the wrong shape.
    #[error(
        "{path}: not the {arch} network its first layers describe (N = {n}, M = {m}): {detail}"
    )]
    Tensors {
        /// The file.
        path: PathBuf,
        /// Its architecture.
        arch: Architecture,
        /// Channels read from `g_a.0.weight`.
        n: usize,
        /// Channels read from `g_a.6.weight`.
        m: usize,
        /// Which tensors.
        detail: String,
    },
    /// The λ given is not a positive number.
    #[error("λ must be a positive number, not {0}")]
    Lambda(f64),
    /// Two checkpoints of one package given the same λ: their order by rate is unknown.
    #[error(
        "{} and {} are both given λ = {lambda}: the networks of a package are ordered by λ, \
         one per quality",
        first.display(),
        second.display()
    )]
    SameLambda {
        /// The λ.
        lambda: f64,
        /// One checkpoint.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The imported network could not be exported.
    #[error(transparent)]
    Package(#[from] PackageError),
}

/// CompressAI's layer indexes within `nn.Sequential`, as ansel's names.
const RENAMES: &[(&str, &str)] = &[
    (r"^g_a\.0\.", "g_a.conv0."),
    (r"^g_a\.1\.", "g_a.gdn0."),
    (r"^g_a\.2\.", "g_a.conv1."),
    (r"^g_a\.3\.", "g_a.gdn1."),
    (r"^g_a\.4\.", "g_a.conv2."),
    (r"^g_a\.5\.", "g_a.gdn2."),
    (r"^g_a\.6\.", "g_a.conv3."),
    (r"^g_s\.0\.", "g_s.deconv0."),
    (r"^g_s\.1\.", "g_s.igdn0."),
    (r"^g_s\.2\.", "g_s.deconv1."),
    (r"^g_s\.3\.", "g_s.igdn1."),
    (r"^g_s\.4\.", "g_s.deconv2."),
    (r"^g_s\.5\.", "g_s.igdn2."),
    (r"^g_s\.6\.", "g_s.deconv3."),
    (r"^h_a\.0\.", "h_a.conv0."),
    (r"^h_a\.2\.", "h_a.conv1."),
    (r"^h_a\.4\.", "h_a.conv2."),
    (r"^h_s\.0\.", "h_s.deconv0."),
    (r"^h_s\.2\.", "h_s.deconv1."),
    (r"^h_s\.4\.", "h_s.conv2."),
    // CompressAI before 1.2 named them `_matrix0`, …; later `matrices.0`, ….
    (
        r"^entropy_bottleneck\.(_matrix|matrices\.)(\d+)$",
        "density.matrices.$2",
    ),
    (
        r"^entropy_bottleneck\.(_bias|biases\.)(\d+)$",
        "density.biases.$2",
    ),
    (
        r"^entropy_bottleneck\.(_factor|factors\.)(\d+)$",
        "density.factors.$2",
    ),
    (r"^entropy_bottleneck\.quantiles$", "density.quantiles"),
];

/// Buffers of a CompressAI model that ansel derives itself (the coders' tables, the
/// reparametrisations' constants): left over without harm.
fn derived(name: &str) -> bool {
    name.starts_with("gaussian_conditional.")
        || name.contains("_reparam.")
        || [
            "entropy_bottleneck._offset",
            "entropy_bottleneck._quantized_cdf",
            "entropy_bottleneck._cdf_length",
            "entropy_bottleneck._medians",
            "entropy_bottleneck.target",
            "entropy_bottleneck.likelihood_lower_bound.bound",
        ]
        .contains(&name)
}

/// The scales of y's tables in an imported package.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScaleTable {
    /// ansel's ladder: 128 scales, each table built for the middle of its interval (see
    /// [`crate::entropy::gaussian_tables`]). Codes smaller.
    #[default]
    Ansel,
    /// CompressAI's: 64 scales, σ rounded up to the next (what CompressAI's own coder does).
    CompressAi,
}

/// How to import a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Its architecture.
    pub arch: Architecture,
    /// The λ it was trained with (CompressAI's zoo: 0.0018, 0.0035, 0.0067, 0.0130, 0.0250,
    /// 0.0483, 0.0932, 0.1800 for qualities 1–8), recorded as the package's ladder (what
    /// `--refine` weighs distortion with).
    pub lambda: f64,
    /// The scales of y's tables.
    pub scales: ScaleTable,
}

impl Options {
    /// A checkpoint of `arch` trained with `lambda`, coded with ansel's scale ladder.
    pub fn new(arch: Architecture, lambda: f64) -> Self {
        Self {
            arch,
            lambda,
            scales: ScaleTable::default(),
        }
    }
}

/// Imports one CompressAI checkpoint as a package whose every quality codes at the
/// checkpoint's rate.
pub fn compressai(path: &Path, options: &Options) -> Result<Package, ImportError> {
    let Options {
        arch,
        lambda,
        scales,
    } = *options;
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(ImportError::Lambda(lambda));
    }
    let (reader, key) = open(path)?;
    let shape = |name: &str| reader.get(name).map(|t| t.shape().to_vec());
    let first = shape("g_a.0.weight").ok_or_else(|| ImportError::NoModel(path.into()))?;
    let n = first[0];
    let m = shape("g_a.6.weight").map_or(0, |s| s[0]);
    let found = recognise(&shape, n, m);
    if found != Some(arch) {
        return Err(ImportError::WrongArchitecture {
            path: path.into(),
            expected: arch,
            found: found.map_or_else(|| "unrecognised".into(), |a| a.name().into()),
        });
    }
    let tensors = |detail: String| ImportError::Tensors {
        path: path.into(),
        arch,
        n,
        m,
        detail,
    };
    let config = NetworkConfig::new(n, m).with_hyperprior(arch.hyperprior());
    let device = Device::flex();
    // Names are mapped one by one (RENAMES); renumbering indices would rename a left-over
    // tensor in the error that reports it.
    let mut store = PytorchStore::from_file(path)
        .allow_partial(true)
        .map_indices_contiguous(false);
    if let Some(key) = key {
        store = store.with_top_level_key(key);
    }
    for (from, to) in RENAMES {
        store = store.with_key_remapping(from, *to);
    }
    let mut network = Network::new(config, &device);
    let result = network
        .load_from(&mut store)
        .map_err(|e| tensors(e.to_string()))?;
    let missing: Vec<&str> = result
        .missing
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("gains."))
        .collect();
    let unused: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|name| !derived(name))
        .collect();
    if let Some(e) = result.errors.first() {
        return Err(tensors(format!("{e}")));
    }
    if !missing.is_empty() {
        return Err(tensors(format!("missing {}", missing.join(", "))));
    }
    if !unused.is_empty() {
        return Err(tensors(format!("no place for {}", unused.join(", "))));
    }
    let network = network.with_unit_gains(&device);
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let provenance = Provenance {
        note: format!(
            "CompressAI {arch} (N = {n}, M = {m}, λ = {lambda}) imported from {file}{}",
            match scales {
                ScaleTable::Ansel => "",
                ScaleTable::CompressAi => ", CompressAI's scale table",
            }
        ),
        ..Provenance::default()
    };
    let y = match scales {
        ScaleTable::Ansel => gaussian_tables(&scale_ladder()),
        ScaleTable::CompressAi => gaussian_tables_at_keys(&compressai_scale_table()),
    };
    Ok(export_with(
        &network,
        config,
        &[lambda; RUNGS],
        &provenance,
        y,
    )?)
}

/// Imports CompressAI checkpoints of one architecture as one package, ordered by rate: by λ,
/// the smallest first, network k coding quality k (a package of several networks codes whole
/// qualities only). Between 1 and [`RUNGS`] checkpoints of distinct λ; one gives what
/// [`compressai`] gives.
pub fn compressai_set<P: AsRef<Path>>(
    checkpoints: &[(P, Options)],
) -> Result<Package, ImportError> {
    if !(1..=RUNGS).contains(&checkpoints.len()) {
        return Err(PackageError::NetworkCount(checkpoints.len()).into());
    }
    if let Some((_, o)) = checkpoints
        .iter()
        .find(|(_, o)| !(o.lambda.is_finite() && o.lambda > 0.0))
    {
        return Err(ImportError::Lambda(o.lambda));
    }
    let mut order: Vec<(&Path, &Options)> = checkpoints
        .iter()
        .map(|(path, options)| (path.as_ref(), options))
        .collect();
    order.sort_by(|a, b| a.1.lambda.total_cmp(&b.1.lambda));
    if let Some(pair) = order.windows(2).find(|p| p[0].1.lambda == p[1].1.lambda) {
        return Err(ImportError::SameLambda {
            lambda: pair[0].1.lambda,
            first: pair[0].0.into(),
            second: pair[1].0.into(),
        });
    }
    let packages = order
        .into_iter()
        .map(|(path, options)| compressai(path, options))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Package::bundle(packages)?)
}

/// The checkpoint's reader and the key its model sits under: none for a bare state dict,
/// `state_dict` for CompressAI's training checkpoints.
fn open(path: &Path) -> Result<(PytorchReader, Option<&'static str>), ImportError> {
    let not_one = |source| ImportError::NotACheckpoint {
        path: path.into(),
        source,
    };
    let reader = PytorchReader::new(path).map_err(not_one)?;
    if reader.get("g_a.0.weight").is_some() {
        return Ok((reader, None));
    }
    match PytorchReader::with_top_level_key(path, "state_dict") {
        Ok(nested) if nested.get("g_a.0.weight").is_some() => Ok((nested, Some("state_dict"))),
        _ => Err(ImportError::NoModel(path.into())),
    }
}

/// Which architecture the shape of the hyper-synthesis' last layer says: that of
/// [`NetworkConfig::hyper_synthesis_channels`] for its hyperprior (`2M` outputs from `3M/2`
/// in mbt2018-mean, `M` scales from `N` in bmshj2018-hyperprior).
fn recognise(
    shape: &dyn Fn(&str) -> Option<Vec<usize>>,
    n: usize,
    m: usize,
) -> Option<Architecture> {
    let last = shape("h_s.4.weight")?;
    [Architecture::Mbt2018Mean, Architecture::Bmshj2018Hyperprior]
        .into_iter()
        .find(|arch| {
            let config = NetworkConfig::new(n, m).with_hyperprior(arch.hyperprior());
            let [_, inputs, outputs] = config.hyper_synthesis_channels();
            last == [outputs, inputs, 3, 3]
        })
}
