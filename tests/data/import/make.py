"""Test data of tests/import.rs: small CompressAI networks of both architectures, trained for a
few hundred steps so their weights are not random, saved as torch.save writes them, and
CompressAI's own results (compress() bytes, PSNR of decompress()) on a 64x64 test image and on
three Kodak images.

Run by hand, never in CI, from this folder:
    python make.py [--kodak ../../../../shared/datasets/kodak] [--train ../../../../shared/datasets/train]
with torch==2.15.0 and compressai==1.2.8 (numpy, Pillow). The files it writes:
- mbt2018-mean-small.pth.tar: MeanScaleHyperprior(N=16, M=24) as a bare state dict after
  update(), with every buffer CompressAI keeps (its entropy tables), as the zoo ships models;
- bmshj2018-hyperprior-small.pth.tar: ScaleHyperprior(N=16, M=24) as CompressAI's training
  script saves it ({"epoch", "state_dict", "loss", "aux_optimizer", ...});
- input.png and compressai-<arch>.png: the 64x64 image and CompressAI's decode of it;
- compressai-results.json: bytes and PSNR of every image under each architecture;
- malformed-*.pth.tar, not-a-model.pth.tar: checkpoints the import must refuse, from an
  untrained MeanScaleHyperprior(N=4, M=6) (`python make.py --only-malformed` remakes just these).
Training never sees Kodak: the crops come from the training set only."""
import argparse, glob, json, math, os, random

import numpy as np
import torch
from PIL import Image
from compressai.models import MeanScaleHyperprior, ScaleHyperprior

LAMBDA = 0.013
N, M = 16, 24
STEPS, BATCH, PATCH = 600, 8, 128
KODAK = ["kodim01.png", "kodim05.png", "kodim23.png"]

ap = argparse.ArgumentParser()
here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "../../../../shared/datasets")
ap.add_argument("--train", default=os.path.join(shared, "train"))
ap.add_argument("--kodak", default=os.path.join(shared, "kodak"))
ap.add_argument("--only-malformed", action="store_true")
args = ap.parse_args()
os.chdir(here)
torch.set_num_threads(1)


def malformed():
    """A tensor missing, one left over, one of the wrong shape, and a checkpoint of no model."""
    torch.manual_seed(3)
    sd = MeanScaleHyperprior(N=4, M=6).state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith("gaussian_conditional.")}
    torch.save({k: v for k, v in sd.items() if k != "g_s.6.bias"}, "malformed-missing.pth.tar")
    torch.save(dict(sd, **{"g_s.7.weight": torch.zeros(3)}), "malformed-extra.pth.tar")
    torch.save(dict(sd, **{"g_s.0.weight": sd["g_s.0.weight"][:, :2].clone()}), "malformed-shape.pth.tar")
    torch.save({"epoch": 3, "weights": torch.zeros(4)}, "not-a-model.pth.tar")


malformed()
if args.only_malformed:
    raise SystemExit
torch.manual_seed(7)
random.seed(7)

photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(glob.glob(os.path.join(args.train, "*.png")))]
photos = [p for p in photos if min(p.shape[:2]) >= PATCH]


def batch():
    crops = []
    for _ in range(BATCH):
        p = random.choice(photos)
        y, x = random.randrange(p.shape[0] - PATCH + 1), random.randrange(p.shape[1] - PATCH + 1)
        crops.append(p[y:y + PATCH, x:x + PATCH])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


def train(net):
    """CompressAI's recipe (examples/train.py) at one λ: MSE·255²·λ + bpp, and the aux loss."""
    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(main, lr=1e-3), torch.optim.Adam(aux, lr=1e-3)
    net.train()
    for step in range(STEPS):
        x = batch()
        out = net(x)
        bpp = sum(torch.log(l).sum() for l in out["likelihoods"].values()) / (-math.log(2) * x.numel() / 3)
        loss = LAMBDA * 255 ** 2 * torch.mean((out["x_hat"] - x) ** 2) + bpp
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(main, 1.0); opt.step()
        aux_loss = net.aux_loss()
        aux_opt.zero_grad(); aux_loss.backward(); aux_opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"{type(net).__name__} step {step} loss {loss.item():.3f} bpp {bpp.item():.3f}")
    net.eval()
    net.update(force=True)
    return net, aux_opt


def code(net, img):
    """compress() bytes (z + y strings) and the PSNR of decompress(), rounded to 8 bits."""
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        out = net.compress(x)
        rec = net.decompress(out["strings"], out["shape"])["x_hat"]
    rec = (rec[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    mse = np.mean((rec.astype(np.float64) - img.astype(np.float64)) ** 2)
    sizes = [sum(len(s) for s in strings) for strings in out["strings"]]
    return rec, {"bytes": sum(sizes), "y_bytes": sizes[0], "z_bytes": sizes[1], "psnr": 10 * math.log10(255 ** 2 / mse)}


yy, xx = np.mgrid[0:64, 0:64]
small = np.stack([(xx * 4) % 256, (yy * 4) % 256, ((xx + yy) * 2 + (xx * yy) % 31) % 256], -1).astype(np.uint8)
Image.fromarray(small).save("input.png")
images = {"input.png": small}
images.update({k: np.asarray(Image.open(os.path.join(args.kodak, k)).convert("RGB")) for k in KODAK})

results = {"lambda": LAMBDA, "torch": torch.__version__, "compressai": __import__("compressai").__version__}
for arch, cls in [("mbt2018-mean", MeanScaleHyperprior), ("bmshj2018-hyperprior", ScaleHyperprior)]:
    net, aux_opt = train(cls(N=N, M=M))
    results[arch] = {}
    for name, img in images.items():
        rec, r = code(net, img)
        results[arch][name] = r
        if name == "input.png":
            Image.fromarray(rec).save(f"compressai-{arch}.png")
    sd = net.state_dict()
    if arch == "mbt2018-mean":
        torch.save(sd, f"{arch}-small.pth.tar")
    else:
        nested = {k: v for k, v in sd.items() if not k.startswith("gaussian_conditional.")}
        torch.save({"epoch": 0, "state_dict": nested, "loss": 1.0, "aux_optimizer": aux_opt.state_dict()}, f"{arch}-small.pth.tar")
with open("compressai-results.json", "w") as f:
    json.dump(results, f, indent=1)
print(json.dumps(results, indent=1))
