"""PyTorch reference of ansel's training step, used only as a yardstick for its speed.

The same network as `ansel train` (CompressAI's mean-scale hyperprior layout with GDN: g_a, h_a,
h_s, g_s, gain units per quality rung, a factorized prior for z), the same loss
(λ·255²·MSE + bpp, noise for the rates, rounded latents into the synthesis through a
straight-through estimator), Adam on the network and a second Adam on the prior's quantiles.
Crops are random pixels: a step's arithmetic does not depend on them.

Prints one JSON line: {"steps_per_s": …, "precision": …, "threads": …, "steps": …}.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LADDER = [0.0003 * 2.49**i for i in range(8)]


def lower_bound(x, bound):
    # Identity gradient below the bound, as CompressAI's LowerBound.
    return x + (x.clamp_min(bound) - x).detach()


class GDN(nn.Module):
    def __init__(self, c, inverse):
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.sqrt(torch.ones(c) + 2**-36))
        self.gamma = nn.Parameter(torch.sqrt(0.1 * torch.eye(c) + 2**-36))

    def forward(self, x):
        c = x.shape[1]
        beta = lower_bound(self.beta, math.sqrt(1e-6 + 2**-36)) ** 2 - 2**-36
        gamma = lower_bound(self.gamma, 2**-18) ** 2 - 2**-36
        norm = F.conv2d(x * x, gamma.reshape(c, c, 1, 1), beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def conv(cin, cout, k, s):
    return nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)


def deconv(cin, cout, k, s):
    return nn.ConvTranspose2d(cin, cout, k, stride=s, padding=k // 2, output_padding=s - 1)


class Density(nn.Module):
    """CompressAI's EntropyBottleneck: per-channel 1→3→3→3→3→1 monotone cumulative."""

    def __init__(self, c, filters=(3, 3, 3, 3), init_scale=10.0):
        super().__init__()
        dims = (1,) + filters + (1,)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((c, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(c, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(c, dims[i + 1], 1)))
        q = torch.tensor([-init_scale, 0.0, init_scale]).repeat(c, 1, 1)
        self.quantiles = nn.Parameter(q)

    def logits(self, x, detach=False):
        for i in range(len(self.matrices)):
            m, b = self.matrices[i], self.biases[i]
            if detach:
                m, b = m.detach(), b.detach()
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                f = self.factors[i].detach() if detach else self.factors[i]
                x = x + torch.tanh(f) * torch.tanh(x)
        return x

    def likelihood(self, z):
        b, c, h, w = z.shape
        v = z.transpose(0, 1).reshape(c, 1, -1)
        lower, upper = self.logits(v - 0.5), self.logits(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return lik.reshape(c, b, h, w).transpose(0, 1)

    def medians(self):
        return self.quantiles[:, :, 1:2].reshape(1, -1, 1, 1)

    def aux_loss(self):
        t = math.log(2 / 1e-9 - 1)
        target = torch.tensor([-t, 0.0, t])
        return torch.abs(self.logits(self.quantiles, detach=True) - target).sum()


def gaussian_likelihood(y, means, scales):
    s = lower_bound(scales, 0.11)
    a = -torch.abs(y - means)
    cdf = lambda v: 0.5 * (1 + torch.erf(v * (0.5**0.5)))
    return (cdf((a + 0.5) / s) - cdf((a - 0.5) / s)).clamp_min(1e-9)


def bits(lik):
    return -torch.log(lik.clamp_min(1e-9)).flatten(1).sum(1) / math.log(2)


def ste_round(x, offset):
    return x + (torch.round(x - offset) + offset - x).detach()


class Network(nn.Module):
    def __init__(self, n, m):
        super().__init__()
        self.g_a = nn.Sequential(conv(3, n, 5, 2), GDN(n, False), conv(n, n, 5, 2), GDN(n, False),
                                 conv(n, n, 5, 2), GDN(n, False), conv(n, m, 5, 2))
        self.g_s = nn.Sequential(deconv(m, n, 5, 2), GDN(n, True), deconv(n, n, 5, 2), GDN(n, True),
                                 deconv(n, n, 5, 2), GDN(n, True), deconv(n, 3, 5, 2))
        self.h_a = nn.Sequential(conv(m, n, 3, 1), nn.LeakyReLU(0.01), conv(n, n, 5, 2),
                                 nn.LeakyReLU(0.01), conv(n, n, 5, 2))
        self.h_s = nn.Sequential(deconv(n, m, 5, 2), nn.LeakyReLU(0.01), deconv(m, m * 3 // 2, 5, 2),
                                 nn.LeakyReLU(0.01), conv(m * 3 // 2, m * 2, 3, 1))
        self.gain = nn.ParameterList([nn.Parameter(torch.zeros(8, c)) for c in (m, m, n, n)])
        self.density = Density(n)

    def forward(self, x, rungs):
        g = [p[rungs].exp()[:, :, None, None] for p in self.gain]
        y = self.g_a(x) * g[0]
        z = self.h_a(y) * g[2]
        z_noisy = z + torch.rand_like(z) - 0.5
        z_hat = ste_round(z, self.density.medians())
        bits_z = bits(self.density.likelihood(z_noisy))
        scales, means = self.h_s(z_hat * g[3]).chunk(2, 1)
        y_noisy = y + torch.rand_like(y) - 0.5
        bits_y = bits(gaussian_likelihood(y_noisy, means, scales.abs()))
        x_hat = self.g_s(ste_round(y, means) * g[1])
        return x_hat, bits_y, bits_z


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--m", type=int, default=192)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    net = Network(args.n, args.m)
    aux_params = [net.density.quantiles]
    main_params = [p for p in net.parameters() if p is not net.density.quantiles]
    opt = torch.optim.Adam(main_params, lr=1e-4)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    b, p = args.batch, args.patch
    lambdas = torch.tensor(LADDER)

    def step(i):
        x = torch.rand(b, 3, p, p)
        rungs = torch.randint(0, 8, (b,))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            x_hat, bits_y, bits_z = net(x, rungs)
        mse = ((x_hat.float() - x) ** 2).flatten(1).mean(1)
        bpp = (bits_y.float() + bits_z.float()) / (p * p)
        loss = (lambdas[rungs] * 255**2 * mse + bpp).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        aux_opt.zero_grad(set_to_none=True)
        net.density.aux_loss().backward()
        aux_opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(i)
    seconds = time.perf_counter() - t0
    print(json.dumps({"steps_per_s": args.steps / seconds, "precision": args.precision,
                      "threads": args.threads, "steps": args.steps,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
