"""uq's VE score U-Net (`src/score/unet.rs`, architecture "ramzi_unet") in JAX, on uq's tensor names.

The same network as `benches/pytorch_unet.py` describes, written as pure functions of a dict of
arrays named as uq's model files name them, so a uq `.safetensors` file loads into it and what it
trains saves back into one that `score("…")` reads unchanged:

- input: the image channels with the signed σ-map concatenated; output divided by |σ|;
- level embedding `emb.0`, `emb.1`: sinusoidal features of 100 (ln|σ| + 7) → Linear(32, 128) → ReLU
  → Linear(128, 128) → ReLU, added (through each block's `emb` Linear) after the first ReLU;
- residual block: 3 × (3×3 conv → GroupNorm → ReLU), no ReLU after the third norm, a 1×1 `proj` when
  channels change, ReLU after the residual sum;
- down path: two blocks per scale, 2×2 average pooling between scales; up path: 2×2 stride-2
  transposed conv `upconv.k` (PyTorch layout [in, out, 2, 2]), concatenation [skip, upconv], two
  blocks; a 1×1 `out` conv.

Also the minimal safetensors reader and writer these scripts need (f32 tensors, string metadata).
"""

import json
import math
import struct

import jax
import jax.numpy as jnp
import numpy as np

EMB_DIM = 32
GN_EPS = 1e-5


def groups(c):
    """GroupNorm groups as in unet.rs: the largest of 8, 4, 2 dividing c with ≥ 4 channels per group."""
    for g in (8, 4, 2):
        if c % g == 0 and c // g >= 4:
            return g
    return 1


def conv(p, name, x, pad):
    w, b = p[name + ".weight"], p[name + ".bias"]
    y = jax.lax.conv_general_dilated(
        x, w, (1, 1), [(pad, pad), (pad, pad)], dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return y + b[None, :, None, None]


def group_norm(p, name, x):
    n, c, h, w = x.shape
    g = groups(c)
    xg = x.reshape(n, g, c // g, h, w)
    mean = xg.mean(axis=(2, 3, 4), keepdims=True)
    var = ((xg - mean) ** 2).mean(axis=(2, 3, 4), keepdims=True)
    xn = ((xg - mean) / jnp.sqrt(var + GN_EPS)).reshape(n, c, h, w)
    return xn * p[name + ".weight"][None, :, None, None] + p[name + ".bias"][None, :, None, None]


def linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def block(p, name, x, emb):
    e = linear(p, name + ".emb", emb)[:, :, None, None]
    h = jax.nn.relu(group_norm(p, name + ".c0.norm", conv(p, name + ".c0.conv", x, 1))) + e
    h = jax.nn.relu(group_norm(p, name + ".c1.norm", conv(p, name + ".c1.conv", h, 1)))
    h = group_norm(p, name + ".c2.norm", conv(p, name + ".c2.conv", h, 1))
    skip = conv(p, name + ".proj", x, 0) if name + ".proj.weight" in p else x
    return jax.nn.relu(h + skip)


def upconv(p, name, x):
    """2×2 stride-2 transposed convolution, weight [in, out, 2, 2] as PyTorch and uq store it."""
    w, b = p[name + ".weight"], p[name + ".bias"]
    n, _, h, wd = x.shape
    y = jnp.einsum("ncij,coab->noiajb", x, w).reshape(n, w.shape[1], 2 * h, 2 * wd)
    return y + b[None, :, None, None]


def score(p, channels, x, sigma):
    """The VE score s(x, σ) for a batch x [B, C, H, W] and signed levels σ [B]."""
    b, _, h, w = x.shape
    smap = jnp.broadcast_to(sigma.reshape(b, 1, 1, 1), (b, 1, h, w))
    hcur = jnp.concatenate([x, smap], axis=1)
    c = (jnp.log(jnp.abs(sigma)) + 7.0) * 100.0
    half = EMB_DIM // 2
    freqs = jnp.exp(-math.log(10_000.0) * jnp.arange(half, dtype=jnp.float32) / half)
    args = c[:, None] * freqs[None, :]
    emb = jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=1)
    emb = jax.nn.relu(linear(p, "emb.1", jax.nn.relu(linear(p, "emb.0", emb))))
    last = len(channels) - 1
    skips = []
    for k in range(len(channels)):
        hcur = block(p, f"down.{k}.1", block(p, f"down.{k}.0", hcur, emb), emb)
        if k < last:
            skips.append(hcur)
            n_, c_, h_, w_ = hcur.shape
            hcur = hcur.reshape(n_, c_, h_ // 2, 2, w_ // 2, 2).mean(axis=(3, 5))
    for k in reversed(range(len(channels))):
        if k < last:
            hcur = jnp.concatenate([skips[k], upconv(p, f"upconv.{k}", hcur)], axis=1)
        hcur = block(p, f"up.{k}.1", block(p, f"up.{k}.0", hcur, emb), emb)
    return conv(p, "out", hcur, 0) / jnp.abs(sigma).reshape(b, 1, 1, 1)


def load_safetensors(path):
    """(tensors as float32 numpy arrays, metadata dict) of a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        if v["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {k} is {v['dtype']}, expected F32")
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy()
    return out, meta


def save_safetensors(path, tensors, meta):
    """Write f32 tensors (sorted by name) and string metadata; to `path + '.tmp'`, then renamed."""
    import os

    header, blobs, off = {"__metadata__": {k: str(v) for k, v in meta.items()}}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[k], dtype="<f4"))
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)
