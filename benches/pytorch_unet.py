#!/usr/bin/env python3
"""PyTorch twin of `uq bench score`: the same benchmark U-Net, timed the same way, one JSON line per dtype.

A measurement tool, not a dependency of uq (see benches/README.md). The network is the one that
`src/score/unet.rs` builds and `src/cli/bench.rs` times (VE head, random weights):

- input: the image channels with the signed σ-map concatenated; output divided by |σ|;
- level embedding: sinusoidal features of 100 (ln|σ| + 7) → Linear(32, 128) → ReLU → Linear(128, 128)
  → ReLU, added (through one Linear per block) after the first ReLU of every block;
- residual block: 3 × (3×3 conv → GroupNorm(groups(c)) → ReLU), no ReLU after the third norm, a 1×1
  projection when channels change, ReLU after the residual sum;
- down, scale k: two blocks, then 2×2 average pooling except at the last scale (the block output is
  the skip); up, scale k from the bottom: above the bottom, a 2×2 stride-2 transposed conv from the
  scale below and concatenation [skip, upconv] (2·c_k channels), then two blocks; a 1×1 output conv.

The input-VJP is `torch.autograd.grad` of ⟨score, v⟩ with respect to the input only (weights frozen).
Times are medians over `--reps` rounds after `--warmup` untimed ones; a round calls forward then VJP.

With `--train`, a round is one training step as `uq train` takes it (`uq bench train` times the same):
a batch of clean images x and noise u with a log-uniform |σ| in [0.01, 20] of random sign per image,
`loss = mean((u + σ·net(x + σu, σ))²)`, backward through every weight, one Adam step (lr 1e-4).
"""

import argparse
import json
import math
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F

EMB_DIM = 32


def groups(c):
    """GroupNorm groups as in unet.rs: the largest of 8, 4, 2 dividing c with ≥ 4 channels per group."""
    for g in (8, 4, 2):
        if c % g == 0 and c // g >= 4:
            return g
    return 1


class ConvNorm(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.GroupNorm(groups(cout), cout, eps=1e-5)

    def forward(self, x):
        return self.norm(self.conv(x))


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.c0, self.c1, self.c2 = ConvNorm(cin, cout), ConvNorm(cout, cout), ConvNorm(cout, cout)
        self.emb = nn.Linear(4 * EMB_DIM, cout)

    def forward(self, x, emb):
        e = self.emb(emb)[:, :, None, None]
        h = F.relu(self.c0(x)) + e
        h = F.relu(self.c1(h))
        h = self.c2(h)
        skip = self.proj(x) if self.proj is not None else x
        return F.relu(h + skip)


class UNet(nn.Module):
    def __init__(self, channels, image_channels):
        super().__init__()
        self.channels = channels
        cin = image_channels + 1
        self.down = nn.ModuleList()
        prev = cin
        for c in channels:
            self.down.append(nn.ModuleList([ResBlock(prev, c), ResBlock(c, c)]))
            prev = c
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        for k, c in enumerate(channels):
            first_in = 2 * c if k + 1 < len(channels) else c
            self.up.append(nn.ModuleList([ResBlock(first_in, c), ResBlock(c, c)]))
            if k + 1 < len(channels):
                self.upconv.append(nn.ConvTranspose2d(channels[k + 1], c, 2, stride=2))
        self.emb1 = nn.Linear(EMB_DIM, 4 * EMB_DIM)
        self.emb2 = nn.Linear(4 * EMB_DIM, 4 * EMB_DIM)
        self.out = nn.Conv2d(channels[0], image_channels, 1)
        half = EMB_DIM // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float64) / half)
        self.register_buffer("freqs", freqs.float())

    def forward(self, x, level):
        b, _, h, w = x.shape
        smap = level.reshape(b, 1, 1, 1).expand(b, 1, h, w)
        hcur = torch.cat([x, smap], 1)
        c = (level.abs().log() + 7.0) * 100.0
        args = c[:, None] * self.freqs[None, :]
        emb = F.relu(self.emb2(F.relu(self.emb1(torch.cat([args.sin(), args.cos()], 1)))))
        last = len(self.channels) - 1
        skips = []
        for k, (b0, b1) in enumerate(self.down):
            hcur = b1(b0(hcur, emb), emb)
            if k < last:
                skips.append(hcur)
                hcur = F.avg_pool2d(hcur, 2)
        for k in reversed(range(len(self.channels))):
            b0, b1 = self.up[k]
            if k < last:
                hcur = torch.cat([skips[k], self.upconv[k](hcur)], 1)
            hcur = b1(b0(hcur, emb), emb)
        return self.out(hcur) / level.abs().reshape(b, 1, 1, 1)


def flops(channels, ic, b, s):
    """2 × multiply–adds of the convolutions, counted as FastUNet::flops counts them."""
    total = 0.0

    def block(cin, cout, px):
        f = 2 * 9 * px * (cin * cout + 2 * cout * cout)
        return f + (2 * px * cin * cout if cin != cout else 0)

    prev = ic + 1
    last = len(channels) - 1
    for k, c in enumerate(channels):
        px = (s >> k) ** 2
        total += block(prev, c, px) + block(c, c, px)
        prev = c
        first_in = 2 * c if k < last else c
        total += block(first_in, c, px) + block(c, c, px)
        if k < last:
            total += 2 * 4 * channels[k + 1] * c * (s >> (k + 1)) ** 2
    total += 2 * channels[0] * ic * s * s
    return b * total


def medians_ms(warmup, reps, fs):
    for _ in range(warmup):
        for f in fs:
            f()
    times = [[] for _ in fs]
    for _ in range(reps):
        for f, t in zip(fs, times):
            t0 = time.perf_counter()
            f()
            t.append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def train_bench(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    channels = [int(c) for c in a.channels.split(",")]
    b, s, ic = a.batch, a.size, a.image_channels
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    net = UNet(channels, ic).train().to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    images = torch.rand(32, ic, s, s)

    def step():
        idx = torch.randint(0, images.shape[0], (b,))
        x = images[idx]
        u = torch.randn_like(x)
        mag = torch.exp(math.log(0.01) + torch.rand(b) * (math.log(20.0) - math.log(0.01)))
        sigma = mag * (torch.randint(0, 2, (b,)) * 2 - 1)
        xt = (x + sigma.reshape(b, 1, 1, 1) * u).contiguous(memory_format=fmt)
        opt.zero_grad(set_to_none=True)
        out = net(xt, sigma)
        loss = ((u + sigma.reshape(b, 1, 1, 1) * out) ** 2).mean()
        loss.backward()
        opt.step()

    (t,) = medians_ms(a.warmup, max(a.reps, 10), [step])
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "what": "train_step",
        "dtype": "f32",
        "channels_last": a.channels_last,
        "channels": channels,
        "size": s,
        "batch": b,
        "image_channels": ic,
        "threads": torch.get_num_threads(),
        "reps": max(a.reps, 10),
        "step_ms": t,
    }), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", default="32,64,128")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--image-channels", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", default="f32,bf16", help="comma-separated: f32, bf16")
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format (oneDNN's preferred)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", action="store_true", help="time a training step (f32) instead")
    a = ap.parse_args()
    if a.train:
        return train_bench(a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    channels = [int(c) for c in a.channels.split(",")]
    b, s, ic = a.batch, a.size, a.image_channels
    base = UNet(channels, ic).eval()
    for p in base.parameters():
        p.requires_grad_(False)
    x0 = torch.rand(b, ic, s, s) * 2 - 1
    v0 = torch.rand(b, ic, s, s) * 2 - 1
    lv0 = 0.05 + 0.1 * torch.arange(b, dtype=torch.float32)
    fl = flops(channels, ic, b, s)
    for name in a.dtypes.split(","):
        dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[name]
        net = base.to(dtype)
        fmt = torch.channels_last if a.channels_last else torch.contiguous_format
        net = net.to(memory_format=fmt)
        x, v = (t.to(dtype).contiguous(memory_format=fmt) for t in (x0, v0))
        lv = lv0.to(dtype)

        def fwd():
            with torch.no_grad():
                net(x, lv)

        def vjp():
            xg = x.detach().requires_grad_(True)
            y = net(xg, lv)
            (g,) = torch.autograd.grad(y, xg, grad_outputs=v)
            return y, g

        t_fwd, t_vjp = medians_ms(a.warmup, max(a.reps, 10), [fwd, vjp])
        print(json.dumps({
            "impl": "pytorch",
            "torch": torch.__version__,
            "dtype": name,
            "channels_last": a.channels_last,
            "channels": channels,
            "size": s,
            "batch": b,
            "image_channels": ic,
            "threads": torch.get_num_threads(),
            "reps": max(a.reps, 10),
            "gflop_fwd": fl / 1e9,
            "fwd_ms": t_fwd,
            "vjp_ms": t_vjp,
            "gflops_fwd": fl / t_fwd / 1e6,
            "gflops_vjp": 2 * fl / t_vjp / 1e6,
        }), flush=True)


if __name__ == "__main__":
    main()
