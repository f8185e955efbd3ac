//! State dicts as `torch.save` writes them (a zip of a pickle and raw storages), for tests that
//! need a checkpoint too large to commit: f32 and i32 tensors, protocol-2 pickle.

use std::io::Write;
use std::path::Path;

use ansel::import::Architecture;
use ansel::NetworkConfig;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A tensor of a state dict.
pub enum Values {
    /// `torch.float32`.
    F32(Vec<f32>),
    /// `torch.int32` (CompressAI's table buffers).
    I32(Vec<i32>),
}

/// Name, shape and values.
pub type Entry = (String, Vec<usize>, Values);

/// Writes `entries` as `torch.save(OrderedDict(entries), path)` does.
pub fn write(path: &Path, entries: &[Entry]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", options).unwrap();
    zip.write_all(&pickle(entries)).unwrap();
    zip.start_file("archive/byteorder", options).unwrap();
    zip.write_all(b"little").unwrap();
    for (i, (_, _, values)) in entries.iter().enumerate() {
        zip.start_file(format!("archive/data/{i}"), options)
            .unwrap();
        let bytes: Vec<u8> = match values {
            Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Values::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        zip.write_all(&bytes).unwrap();
    }
    zip.start_file("archive/version", options).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

/// `OrderedDict(name → torch._utils._rebuild_tensor_v2(storage i, 0, shape, stride, False,
/// OrderedDict()))`, storages by persistent id `("storage", kind, "i", "cpu", numel)`.
fn pickle(entries: &[Entry]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    let text = |p: &mut Vec<u8>, s: &str| {
        p.push(b'X');
        p.extend((s.len() as u32).to_le_bytes());
        p.extend(s.as_bytes());
    };
    let int = |p: &mut Vec<u8>, v: usize| {
        p.push(b'J');
        p.extend((v as i32).to_le_bytes());
    };
    let ordered_dict = |p: &mut Vec<u8>| p.extend(b"ccollections\nOrderedDict\n)R");
    ordered_dict(&mut p);
    p.push(b'(');
    for (i, (name, shape, values)) in entries.iter().enumerate() {
        let (kind, numel) = match values {
            Values::F32(v) => ("FloatStorage", v.len()),
            Values::I32(v) => ("IntStorage", v.len()),
        };
        assert_eq!(numel, shape.iter().product::<usize>(), "{name}");
        text(&mut p, name);
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        text(&mut p, "storage");
        p.extend(format!("ctorch\n{kind}\n").as_bytes());
        text(&mut p, &i.to_string());
        text(&mut p, "cpu");
        int(&mut p, numel);
        p.extend(b"tQ");
        int(&mut p, 0);
        p.push(b'(');
        for &d in shape {
            int(&mut p, d);
        }
        p.extend(b"t(");
        for k in 0..shape.len() {
            int(&mut p, shape[k + 1..].iter().product());
        }
        p.extend(b"t\x89");
        ordered_dict(&mut p);
        p.extend(b"tR");
    }
    p.extend(b"u.");
    p
}

/// Random tensors under CompressAI's names.
struct Builder {
    rng: StdRng,
    entries: Vec<Entry>,
}

impl Builder {
    fn tensor(&mut self, name: String, shape: &[usize], lo: f32, hi: f32) {
        let len = shape.iter().product();
        let values = (0..len).map(|_| self.rng.random_range(lo..hi)).collect();
        self.entries
            .push((name, shape.to_vec(), Values::F32(values)));
    }

    fn conv(&mut self, name: &str, [out, inp, k]: [usize; 3]) {
        self.tensor(format!("{name}.weight"), &[out, inp, k, k], -0.02, 0.02);
        self.tensor(format!("{name}.bias"), &[out], -0.01, 0.01);
    }

    /// Transposed convolutions store their weight as `[in, out, k, k]`.
    fn deconv(&mut self, name: &str, [inp, out, k]: [usize; 3]) {
        self.tensor(format!("{name}.weight"), &[inp, out, k, k], -0.02, 0.02);
        self.tensor(format!("{name}.bias"), &[out], -0.01, 0.01);
    }

    fn gdn(&mut self, name: &str, c: usize) {
        self.tensor(format!("{name}.beta"), &[c], 0.9, 1.1);
        self.tensor(format!("{name}.gamma"), &[c, c], 0.0, 0.01);
        for p in ["beta", "gamma"] {
            self.tensor(format!("{name}.{p}_reparam.pedestal"), &[1], 0.0, 1e-9);
            self.tensor(
                format!("{name}.{p}_reparam.lower_bound.bound"),
                &[1],
                0.0,
                1e-3,
            );
        }
    }

    fn int(&mut self, name: &str, shape: &[usize]) {
        let len = shape.iter().product();
        self.entries
            .push((name.into(), shape.to_vec(), Values::I32(vec![1; len])));
    }
}

/// The state dict of a CompressAI zoo model of `arch` with `n` and `m` channels: its key names
/// and shapes, random values (GDN's and the density's positive where they must be), and the
/// buffers CompressAI's `update()` adds.
pub fn zoo_state_dict(arch: Architecture, n: usize, m: usize) -> Vec<Entry> {
    let mut b = Builder {
        rng: StdRng::seed_from_u64(5),
        entries: Vec::new(),
    };
    b.tensor(
        "entropy_bottleneck.quantiles".into(),
        &[n, 1, 3],
        -10.0,
        10.0,
    );
    b.tensor("entropy_bottleneck.target".into(), &[3], -1.0, 1.0);
    b.tensor(
        "entropy_bottleneck.likelihood_lower_bound.bound".into(),
        &[1],
        0.0,
        1e-9,
    );
    for (i, (r, c)) in [(3, 1), (3, 3), (3, 3), (3, 3), (1, 3)]
        .into_iter()
        .enumerate()
    {
        b.tensor(
            format!("entropy_bottleneck.matrices.{i}"),
            &[n, r, c],
            0.5,
            1.5,
        );
        b.tensor(
            format!("entropy_bottleneck.biases.{i}"),
            &[n, r, 1],
            -0.5,
            0.5,
        );
        if i < 4 {
            b.tensor(
                format!("entropy_bottleneck.factors.{i}"),
                &[n, r, 1],
                -0.1,
                0.1,
            );
        }
    }
    b.conv("g_a.0", [n, 3, 5]);
    b.gdn("g_a.1", n);
    b.conv("g_a.2", [n, n, 5]);
    b.gdn("g_a.3", n);
    b.conv("g_a.4", [n, n, 5]);
    b.gdn("g_a.5", n);
    b.conv("g_a.6", [m, n, 5]);
    b.deconv("g_s.0", [m, n, 5]);
    b.gdn("g_s.1", n);
    b.deconv("g_s.2", [n, n, 5]);
    b.gdn("g_s.3", n);
    b.deconv("g_s.4", [n, n, 5]);
    b.gdn("g_s.5", n);
    b.deconv("g_s.6", [n, 3, 5]);
    b.conv("h_a.0", [n, m, 3]);
    b.conv("h_a.2", [n, n, 5]);
    b.conv("h_a.4", [n, n, 5]);
    let [h0, h1, h2] = NetworkConfig::new(n, m)
        .with_hyperprior(arch.hyperprior())
        .hyper_synthesis_channels();
    b.deconv("h_s.0", [n, h0, 5]);
    b.deconv("h_s.2", [h0, h1, 5]);
    b.conv("h_s.4", [h2, h1, 3]);
    b.int("entropy_bottleneck._offset", &[n]);
    b.int("entropy_bottleneck._quantized_cdf", &[n, 23]);
    b.int("entropy_bottleneck._cdf_length", &[n]);
    b.int("gaussian_conditional._offset", &[64]);
    b.int("gaussian_conditional._quantized_cdf", &[64, 3133]);
    b.int("gaussian_conditional._cdf_length", &[64]);
    b.tensor(
        "gaussian_conditional.scale_table".into(),
        &[64],
        0.11,
        256.0,
    );
    for name in [
        "scale_bound",
        "likelihood_lower_bound.bound",
        "lower_bound_scale.bound",
    ] {
        b.tensor(format!("gaussian_conditional.{name}"), &[1], 0.0, 0.11);
    }
    b.entries
}
