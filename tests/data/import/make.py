"""Test data of tests/import.rs: tiny CompressAI networks (N = 8, M = 12) with perturbed random
weights, saved as torch.save writes them, a 64x64 image, and CompressAI's decode of it.

Made with CompressAI 1.2.8 and PyTorch 2.15 on 2026-12-06: `python make.py` in this folder."""
import torch, numpy as np
from PIL import Image
from compressai.models import MeanScaleHyperprior, ScaleHyperprior
torch.manual_seed(7)
net = MeanScaleHyperprior(N=8, M=12).eval()
with torch.no_grad():
    for name, p in net.named_parameters():
        if "quantiles" in name:
            continue
        p.add_((0.5 if name.startswith("g_a") else 0.05) * torch.randn_like(p))
        if name.endswith("beta") or name.endswith("gamma"):
            p.abs_()
net.update(force=True)
sd = net.state_dict()
torch.save(sd, "mbt2018-mean-tiny.pth.tar")
nested = {k: v for k, v in sd.items() if not k.startswith("gaussian_conditional.")}
torch.save({"epoch": 3, "state_dict": nested, "loss": 1.5}, "mbt2018-mean-tiny-checkpoint.pth.tar")
other = ScaleHyperprior(N=8, M=12).eval()
torch.save({k: v for k, v in other.state_dict().items() if not k.startswith("gaussian_conditional.")}, "bmshj2018-hyperprior-tiny.pth.tar")
# A 64x64 test image and CompressAI's round trip of it.
yy, xx = np.mgrid[0:64, 0:64]
img = np.stack([(xx * 4) % 256, (yy * 4) % 256, ((xx + yy) * 2 + (xx * yy) % 31) % 256], -1).astype(np.uint8)
Image.fromarray(img).save("input.png")
x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
with torch.no_grad():
    out = net.compress(x)
    rec = net.decompress(out["strings"], out["shape"])["x_hat"]
Image.fromarray((rec[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save("compressai-decoded.png")
# pytorch-reader 0.22.1 cannot open the archive PyTorch 2.15 writes for the bare state dict (its
# 800 KB gaussian_conditional._quantized_cdf: "Invalid Central Directory header"); the file
# committed is the same state dict re-saved with PyTorch 2.9.0:
#   python2.9 -c "import torch; torch.save(torch.load(F), F)"   (F = mbt2018-mean-tiny.pth.tar)
