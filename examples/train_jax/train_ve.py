#!/usr/bin/env python3
"""Train (or continue) a uq VE score prior with `uq train`'s recipe in JAX, on a GPU, for a time budget.

`uq train` runs this recipe on the CPU; this script runs the same one where an accelerator is at
hand and writes a model file that `score("…")` reads unchanged (tensor names and metadata as uq's;
`unet.py` holds the network, checked against `uq prior-eval` to 2e-6). The recipe, as
`src/score/train/`: batches drawn with replacement; random horizontal and vertical flips; with
probability 0.75 one rotation θ ~ U(−15°, 15°), scale exp(U(ln 0.9, ln 1.1)) about the centre and an
elastic warp bilinear from a 5 × 5 grid of N(0, (1.5 px · size/64)²) offsets, zero outside; with
probability 0.5 an intensity remapping c · max(x, 0)^γ, γ = exp(U(ln 0.7, ln 1.4)), c ~ U(0.85, 1.15);
signed σ with log-uniform |σ| in [σ_min, σ_max]; loss mean((u + σ · s(x + σu, σ))²); Adam (0.9, 0.999,
1e-8); an exponential moving average of the weights with the (1 + n)/(10 + n) warm-up, which is what
the file holds. Different from `uq train`: JAX's random streams (not ChaCha8), the learning rate
warmed up over 200 steps then cosine-decayed to lr/20 over the time budget, the average's decay 0.9995
(`--ema`; the recipe's `uq train` run used 0.999), and a held-out split by
NumPy's generator (`--seed`).

`--rotate`, `--scale`, `--aniso`, `--elastic`, `--p-warp`, `--p-sharp`, `--p-bias` (with `--bias`) and
`--p-noise` (with `--noise`) widen the augmentation as `uq train`'s flags of the same names do (defaults:
uq's); `--snapshots` keeps copies of the averaged weights along the way.

What made `models/mri64_ve2.safetensors` (models/README.md; its metadata records the command):
  python3 examples/train_jax/train_ve.py --data ../shared/data/mri_head_train_64.npy,target/prior-data/brain_train_64.npy \
    --init models/mri64_ve.safetensors --seconds 200 --batch 128 --lr 3e-4 --save-every 1000 \
    --rotate 20 --scale 0.8,1.25 --aniso --elastic 3 --p-warp 0.9 --p-sharp 0.5 --out models/mri64_ve2.safetensors
"""

import argparse
import json
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import load_safetensors, save_safetensors, score  # noqa: E402

P_GAMMA, GRID = 0.5, 5


def warp_one(key, img, size, aug):
    """One image [C, S, S] through a random rotation, scale and elastic warp (augment.rs's `warp`;
    with `aug.aniso` the two axes draw their scales independently)."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    theta = jax.random.uniform(k1, minval=-1.0, maxval=1.0) * math.radians(aug.rotate)
    lo, hi = math.log(aug.scale[0]), math.log(aug.scale[1])
    scale = jnp.exp(jax.random.uniform(k2, minval=lo, maxval=hi))
    scale_x = jnp.exp(jax.random.uniform(k4, minval=lo, maxval=hi)) if aug.aniso else scale
    field = aug.elastic * size / 64.0 * jax.random.normal(k3, (GRID, GRID, 2))
    c = (size - 1) / 2.0
    yy, xx = jnp.meshgrid(jnp.arange(size, dtype=jnp.float32), jnp.arange(size, dtype=jnp.float32), indexing="ij")
    g = (GRID - 1) / (size - 1)
    gy, gx = yy * g, xx * g
    y0 = jnp.clip(jnp.floor(gy), 0, GRID - 2).astype(jnp.int32)
    x0 = jnp.clip(jnp.floor(gx), 0, GRID - 2).astype(jnp.int32)
    fy, fx = (gy - y0)[..., None], (gx - x0)[..., None]
    a = field[y0, x0] * (1 - fx) + field[y0, x0 + 1] * fx
    b = field[y0 + 1, x0] * (1 - fx) + field[y0 + 1, x0 + 1] * fx
    d = a * (1 - fy) + b * fy
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    dy, dx = yy - c, xx - c
    sy = c + (cos * dy - sin * dx) / scale + d[..., 0]
    sx = c + (sin * dy + cos * dx) / scale_x + d[..., 1]
    fy0, fx0 = jnp.floor(sy), jnp.floor(sx)
    wy, wx = sy - fy0, sx - fx0

    def at(yi, xi):
        ok = (yi >= 0) & (xi >= 0) & (yi < size) & (xi < size)
        yc, xc = jnp.clip(yi, 0, size - 1).astype(jnp.int32), jnp.clip(xi, 0, size - 1).astype(jnp.int32)
        return jnp.where(ok[None], img[:, yc, xc], 0.0)

    top = at(fy0, fx0) * (1 - wx) + at(fy0, fx0 + 1) * wx
    bot = at(fy0 + 1, fx0) * (1 - wx) + at(fy0 + 1, fx0 + 1) * wx
    return top * (1 - wy) + bot * wy


def augment_one(key, img, size, aug):
    kf, kw, kpw, kg, kpg, kc = jax.random.split(key, 6)
    fh, fv = jax.random.bernoulli(kf, 0.5, (2,))
    img = jnp.where(fh, img[:, :, ::-1], img)
    img = jnp.where(fv, img[:, ::-1, :], img)
    img = jnp.where(jax.random.uniform(kpw) < aug.p_warp, warp_one(kw, img, size, aug), img)
    gamma = jnp.exp(jax.random.uniform(kg, minval=math.log(0.7), maxval=math.log(1.4)))
    cc = jax.random.uniform(kc, minval=0.85, maxval=1.15)
    remapped = cc * jnp.maximum(img, 0.0) ** gamma
    img = jnp.where(jax.random.uniform(kpg) < P_GAMMA, remapped, img)
    if aug.p_sharp > 0:
        # Resolution: x + a (x − G₁ x), a ~ U(−0.6, 1): blurred (a < 0) or sharpened, as scanners differ.
        ks, ka = jax.random.split(jax.random.fold_in(key, 7))
        g = jnp.exp(-0.5 * jnp.arange(-2.0, 3.0) ** 2)
        g = g / g.sum()
        blur = jax.scipy.signal.convolve(img[0], g[:, None] * g[None, :], mode="same")[None]
        amount = jax.random.uniform(ka, minval=-0.6, maxval=1.0)
        img = jnp.where(jax.random.uniform(ks) < aug.p_sharp, jnp.maximum(img + amount * (img - blur), 0.0), img)
    if aug.p_bias > 0:
        # Bias field x · exp(b), b = Σ c_ij P_i(u) P_j(v) over Legendre polynomials, 1 ≤ i + j ≤ 3,
        # c_ij ~ N(0, bias²), u along columns and v along rows in [−1, 1] (augment.rs's `bias_field`).
        kb, kp = jax.random.split(jax.random.fold_in(key, 13))
        u = jnp.linspace(-1.0, 1.0, size)
        leg = [jnp.ones_like(u), u, 0.5 * (3 * u**2 - 1), 0.5 * (5 * u**3 - 3 * u)]
        terms = [(i, j) for i in range(4) for j in range(4 - i) if i + j > 0]
        c = aug.bias * jax.random.normal(kb, (len(terms),))
        b = sum(c[k] * leg[j][:, None] * leg[i][None, :] for k, (i, j) in enumerate(terms))
        img = jnp.where(jax.random.uniform(kp) < aug.p_bias, img * jnp.exp(b)[None], img)
    if aug.p_noise > 0:
        # Acquisition noise: a magnitude image |x + s(n₁ + i n₂)| inside the image's support (the sets'
        # backgrounds are masked to 0), s log-uniform: Colin27 averages 27 scans, one scan is noisier.
        kn, kp, kl = jax.random.split(jax.random.fold_in(key, 11), 3)
        s = jnp.exp(jax.random.uniform(kl, minval=math.log(aug.noise[0]), maxval=math.log(aug.noise[1])))
        n = s * jax.random.normal(kn, (2,) + img.shape)
        noisy = jnp.where(img > 0, jnp.sqrt((img + n[0]) ** 2 + n[1] ** 2), 0.0)
        img = jnp.where(jax.random.uniform(kp) < aug.p_noise, noisy, img)
    return img


def signed_sigma(key, n, smin, smax):
    km, ks = jax.random.split(key)
    mag = jnp.exp(jax.random.uniform(km, (n,), minval=math.log(smin), maxval=math.log(smax)))
    return jnp.where(jax.random.bernoulli(ks, 0.5, (n,)), mag, -mag)


def loss_fn(p, channels, x, u, sigma):
    out = score(p, channels, x + sigma[:, None, None, None] * u, sigma)
    return jnp.mean((u + sigma[:, None, None, None] * out) ** 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="comma-separated .npy files of [N, S, S] real images")
    ap.add_argument("--init", required=True, help="a uq VE model file: the architecture, σ range and start weights")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=420.0, help="training time budget")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--ema", type=float, default=0.9995)
    ap.add_argument("--holdout", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rotate", type=float, default=15.0, help="largest rotation, degrees")
    ap.add_argument("--scale", default="0.9,1.1", help="range of the log-uniform scale")
    ap.add_argument("--aniso", action="store_true", help="scale the two axes independently")
    ap.add_argument("--elastic", type=float, default=1.5, help="sd of the warp grid's offsets, px at 64×64")
    ap.add_argument("--p-warp", type=float, default=0.75, help="probability of the geometric warp")
    ap.add_argument("--p-sharp", type=float, default=0.0, help="probability of a random blur or sharpening")
    ap.add_argument("--p-bias", type=float, default=0.0, help="probability of a smooth multiplicative bias field")
    ap.add_argument("--bias", type=float, default=0.1, help="sd of the bias field's Legendre coefficients (log scale)")
    ap.add_argument("--p-noise", type=float, default=0.0, help="probability of Rician acquisition noise")
    ap.add_argument("--noise", default="0.005,0.05", help="range of the log-uniform noise sd")
    ap.add_argument("--snapshots", default="", help="also keep the averaged weights at these seconds, as OUT.<s>s")
    ap.add_argument("--save-every", type=float, default=60.0, help="seconds between saves of the averaged weights")
    a = ap.parse_args()
    a.scale = [float(v) for v in a.scale.split(",")]
    try:
        a.noise = [float(v) for v in a.noise.split(",")]
    except ValueError:
        raise SystemExit(f"--noise takes LO,HI (two numbers); got {a.noise!r}")
    if not 0 <= a.p_bias <= 1 or not 0 <= a.bias <= 2:
        raise SystemExit(f"--p-bias takes a probability and --bias a value in [0, 2]; got {a.p_bias}, {a.bias}")
    if len(a.noise) != 2 or not 0 < a.noise[0] <= a.noise[1] or not 0 <= a.p_noise <= 1:
        raise SystemExit(f"--noise takes LO,HI with 0 < LO <= HI and --p-noise a probability; got {a.noise}, {a.p_noise}")
    snapshots = sorted(float(v) for v in a.snapshots.split(",") if v)
    t_start = time.time()

    params, meta = load_safetensors(a.init)
    if meta.get("kind") != "ve" or meta.get("image_channels") != "1":
        raise SystemExit(f"{a.init}: this script trains real VE networks (kind ve, image_channels 1)")
    channels = [int(c) for c in meta["channels"].split(",")]
    smin, smax = float(meta["sigma_min"]), float(meta["sigma_max"])
    size = int(meta["image_shape"].split(",")[0])
    images = np.concatenate([np.load(f).astype(np.float32) for f in a.data.split(",")])
    if images.ndim != 3 or images.shape[1:] != (size, size) or not np.isfinite(images).all():
        raise SystemExit(f"training images must be finite [N, {size}, {size}]; got {images.shape}")
    order = np.random.default_rng(a.seed).permutation(len(images))
    n_held = max(1, round(len(images) * a.holdout))
    held, train = jnp.asarray(images[order[:n_held]][:, None]), jnp.asarray(images[order[n_held:]][:, None])
    print(f"{len(train)} training and {n_held} held-out images of {size}×{size}; devices {jax.devices()}", flush=True)

    p = {k: jnp.asarray(v) for k, v in params.items()}
    m = jax.tree_util.tree_map(jnp.zeros_like, p)
    v = jax.tree_util.tree_map(jnp.zeros_like, p)
    ema = p
    grad_fn = jax.value_and_grad(loss_fn)

    @jax.jit
    def step(p, m, v, ema, key, n, lr):
        kb, ka, ku, ks = jax.random.split(key, 4)
        idx = jax.random.randint(kb, (a.batch,), 0, train.shape[0])
        x = jax.vmap(lambda k, im: augment_one(k, im, size, a))(jax.random.split(ka, a.batch), train[idx])
        u = jax.random.normal(ku, x.shape)
        sigma = signed_sigma(ks, a.batch, smin, smax)
        loss, g = grad_fn(p, channels, x, u, sigma)
        t = n + 1.0
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        p = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
        d = jnp.minimum(a.ema, (1.0 + n) / (10.0 + n))
        ema = jax.tree_util.tree_map(lambda e, w: d * e + (1 - d) * w, ema, p)
        return p, m, v, ema, loss

    hkey = jax.random.PRNGKey(a.seed ^ 0xDE1D0F)
    hx = jnp.repeat(held, 4, axis=0)
    hu = jax.random.normal(hkey, hx.shape)
    hs = signed_sigma(jax.random.fold_in(hkey, 1), hx.shape[0], smin, smax)
    heldout = jax.jit(lambda p: loss_fn(p, channels, hx, hu, hs))
    print(f"held-out loss of the start weights: {float(heldout(p)):.5f}", flush=True)

    def save(n, losses, seconds, final, path=None):
        h = float(heldout(ema))
        md = dict(meta)
        md.update({
            "train_command": "python3 examples/train_jax/train_ve.py " + " ".join(sys.argv[1:]),
            "train_steps": str(n), "train_seconds": str(round(seconds)), "train_batch": str(a.batch),
            "train_lr": str(a.lr), "train_seed": str(a.seed), "train_data": a.data,
            "train_images": str(len(train)), "heldout_images": str(n_held),
            "train_loss": f"{np.mean(losses[-200:]):e}", "heldout_loss": f"{h:e}",
            "train_framework": f"JAX {jax.__version__} on {jax.devices()[0].device_kind}, continued from {a.init}",
            "train_ema": str(a.ema),
        })
        save_safetensors(path or a.out, {k: np.asarray(x) for k, x in ema.items()}, md)
        print(json.dumps({"step": n, "seconds": round(seconds, 1), "train_loss": float(np.mean(losses[-200:])),
                          "heldout_loss_ema": h, "final": final, "file": path or a.out}), flush=True)

    key = jax.random.PRNGKey(a.seed)
    n, losses, last_save = 0, [], time.time()
    t0 = time.time()
    while True:
        el = time.time() - t0
        if el >= a.seconds:
            break
        frac = el / a.seconds
        lr = a.lr * min(1.0, (n + 1) / 200) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        key, sk = jax.random.split(key)
        p, m, v, ema, loss = step(p, m, v, ema, sk, jnp.float32(n), jnp.float32(lr))
        n += 1
        if n % 50 == 0:
            losses.append(float(loss))
            if not np.isfinite(losses[-1]):
                raise SystemExit(f"loss is {losses[-1]} at step {n}; the last saved weights stay in {a.out}")
        if n == 20 or n % 2000 == 0:
            print(f"step {n}, {time.time() - t0:.1f} s, loss {float(loss):.5f}, lr {lr:.2e}", flush=True)
        if snapshots and time.time() - t0 >= snapshots[0]:
            save(n, losses or [float(loss)], time.time() - t0, False, f"{a.out}.{snapshots.pop(0):g}s")
        if time.time() - last_save > a.save_every:
            save(n, losses or [float(loss)], time.time() - t0, False)
            last_save = time.time()
    save(n, losses or [float(loss)], time.time() - t0, True)
    print(f"done: {n} steps in {time.time() - t0:.0f} s ({time.time() - t_start:.0f} s with start-up)", flush=True)


if __name__ == "__main__":
    main()
