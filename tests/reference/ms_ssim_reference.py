#!/usr/bin/env python3
"""Independent reference for ansel's PSNR / MS-SSIM (src/eval/metrics.rs).

Generates the small PNG fixtures under tests/data/metrics/ from Kodak crops with known distortions and writes the
reference values to tests/data/metrics/reference.json, which the Rust tests read.

Written from the published definition (Wang, Simoncelli, Bovik 2003, "Multi-scale structural similarity for image
quality assessment") with the conventions of pytorch_msssim / CompressAI's evaluation:
  * 11x11 Gaussian window, sigma 1.5, normalised to sum 1; "valid" filtering (no padding);
  * C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, data range 255;
  * 5 scales, weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]; contrast-structure term (mean of cs map) at scales
    1..4, full SSIM (mean of ssim map) at scale 5, each clamped at 0, combined as prod(v_i ** w_i);
  * 2x2 average pooling between scales; an odd side is zero-padded by one on both ends and the zeros count in the
    average (torch avg_pool2d with padding = side % 2, count_include_pad=True);
  * computed per channel of RGB, then the mean over the three channels.
The 2-D filter here is a direct 121-tap sum over shifted arrays (not separable), so it shares no code path with Rust.

Only NumPy and Pillow are needed:  pip install numpy pillow
Run from the repository root:      python3 tests/reference/ms_ssim_reference.py [KODAK_DIR]
(KODAK_DIR defaults to ../shared/datasets/kodak). Output is deterministic (seeded NumPy PCG64 noise).
"""

import json
import os
import sys

import numpy as np
from PIL import Image

WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
C1 = (0.01 * 255.0) ** 2
C2 = (0.03 * 255.0) ** 2


def gaussian_window(size=11, sigma=1.5):
    coords = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


WIN = gaussian_window()


def filter_valid(x):
    """2-D 'valid' correlation with the 11x11 window, as an explicit sum of shifted copies."""
    k = WIN.shape[0]
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    out = np.zeros((h, w))
    for i in range(k):
        for j in range(k):
            out += WIN[i, j] * x[i : i + h, j : j + w]
    return out


def ssim_cs(x, y):
    mu_x, mu_y = filter_valid(x), filter_valid(y)
    sxx = filter_valid(x * x) - mu_x**2
    syy = filter_valid(y * y) - mu_y**2
    sxy = filter_valid(x * y) - mu_x * mu_y
    cs_map = (2.0 * sxy + C2) / (sxx + syy + C2)
    ssim_map = (2.0 * mu_x * mu_y + C1) / (mu_x**2 + mu_y**2 + C1) * cs_map
    return ssim_map.mean(), cs_map.mean()


def avg_pool2(x):
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    x = np.pad(x, ((ph, ph), (pw, pw)))  # zeros, counted in the average
    h, w = x.shape[0] // 2, x.shape[1] // 2
    x = x[: 2 * h, : 2 * w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def ms_ssim_channel(x, y):
    values = []
    for level in range(5):
        ssim, cs = ssim_cs(x, y)
        if level < 4:
            values.append(max(cs, 0.0))
            x, y = avg_pool2(x), avg_pool2(y)
        else:
            values.append(max(ssim, 0.0))
    return float(np.prod(np.array(values) ** np.array(WEIGHTS)))


def ms_ssim_rgb(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.mean([ms_ssim_channel(a[:, :, c], b[:, :, c]) for c in range(3)]))


def mse_rgb(a, b):
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr_rgb(a, b):
    return float(10.0 * np.log10(255.0**2 / mse_rgb(a, b)))


def box_blur3(img):
    """3x3 mean with edge replication, rounded half up."""
    x = np.pad(img.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    acc = sum(x[i : i + h, j : j + w] for i in range(3) for j in range(3))
    return np.floor(acc / 9.0 + 0.5).astype(np.uint8)


def add_noise(img, sigma, seed):
    rng = np.random.default_rng(seed)
    noisy = img.astype(np.float64) + rng.normal(0.0, sigma, img.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def quantize16(img):
    """Uniform quantisation to 16 levels, reconstructed at bin centres (also done in Rust: (v / 16) * 16 + 8)."""
    return ((img // 16) * 16 + 8).astype(np.uint8)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    kodak = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "datasets", "kodak")
    out_dir = os.path.join(root, "tests", "data", "metrics")
    os.makedirs(out_dir, exist_ok=True)

    def load(name):
        return np.asarray(Image.open(os.path.join(kodak, name)).convert("RGB"))

    def save(name, arr):
        Image.fromarray(arr).save(os.path.join(out_dir, name), optimize=True)

    # Crops: 192x192 is above the 161-pixel minimum; 177x169 exercises the odd-size padding at every scale.
    k01 = load("kodim01.png")[160:352, 288:480]
    k23 = load("kodim23.png")[100:269, 300:477]
    save("kodim01_crop.png", k01)
    save("kodim23_crop.png", k23)

    pairs = {
        "kodim01_crop_noise8": ("kodim01_crop.png", "kodim01_crop_noise8.png", add_noise(k01, 8.0, 2024)),
        "kodim01_crop_blur3": ("kodim01_crop.png", "kodim01_crop_blur3.png", box_blur3(k01)),
        "kodim23_crop_quant16": ("kodim23_crop.png", "kodim23_crop_quant16.png", quantize16(k23)),
        "kodim23_crop_noise20": ("kodim23_crop.png", "kodim23_crop_noise20.png", add_noise(k23, 20.0, 7)),
    }
    originals = {"kodim01_crop.png": k01, "kodim23_crop.png": k23}
    cases = []
    for name, (ref_file, dist_file, dist) in pairs.items():
        save(dist_file, dist)
        ref = originals[ref_file]
        cases.append(
            {
                "name": name,
                "reference": ref_file,
                "distorted": dist_file,
                "mse_rgb": mse_rgb(ref, dist),
                "psnr_rgb": psnr_rgb(ref, dist),
                "ms_ssim_rgb": ms_ssim_rgb(ref, dist),
            }
        )

    # Full-size Kodak image, distortion recomputed in Rust (no fixture needed).
    full = load("kodim01.png")
    q = quantize16(full)
    full_case = {
        "name": "kodim01_quant16",
        "image": "kodim01.png",
        "mse_rgb": mse_rgb(full, q),
        "psnr_rgb": psnr_rgb(full, q),
        "ms_ssim_rgb": ms_ssim_rgb(full, q),
    }

    doc = {
        "generator": "tests/reference/ms_ssim_reference.py (NumPy float64, direct 2-D filtering)",
        "numpy": np.__version__,
        "cases": cases,
        "full_image_cases": [full_case],
    }
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for c in cases + [full_case]:
        print(f"{c['name']:24s} psnr {c['psnr_rgb']:.6f}  ms-ssim {c['ms_ssim_rgb']:.10f}")


if __name__ == "__main__":
    main()
