"""Build the diffusers fixtures of tests/diffusers.rs: random-init `UNet2DModel`s saved by diffusers'
own `save_pretrained`, with their DDPM schedulers, inputs, PyTorch outputs and input VJPs.

Run from the repository root in a scratch environment:
    python3 -m venv /tmp/dvenv && /tmp/dvenv/bin/pip install torch diffusers safetensors numpy
    /tmp/dvenv/bin/python examples/diffusers/make_fixtures.py
It writes tests/fixtures/diffusers/{small32,pipe64}/ (float32, a few hundred KB each).
"""
import json
import os

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

ROOT = os.path.join("tests", "fixtures", "diffusers")


def perturb(model, seed):
    """diffusers' init leaves GroupNorm at (1, 0) and biases small: perturb every parameter so that
    each one (norm affines, biases, embeddings) changes the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def reference(model, folder, channels, size, timesteps, seed):
    """x, a cotangent v, and for each timestep the output and vᵀ ∂out/∂x (PyTorch autograd)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((2, channels, size, size), generator=g)
    v = torch.randn((2, channels, size, size), generator=g)
    np.save(os.path.join(folder, "x.npy"), x.numpy())
    np.save(os.path.join(folder, "v.npy"), v.numpy())
    meta = {"timesteps": timesteps}
    for t in timesteps:
        xr = x.clone().requires_grad_(True)
        out = model(xr, t).sample
        (grad,) = torch.autograd.grad((out * v).sum(), xr)
        np.save(os.path.join(folder, f"out_t{t}.npy"), out.detach().numpy())
        np.save(os.path.join(folder, f"vjp_t{t}.npy"), grad.numpy())
        meta[f"out_t{t}_norm"] = float(out.norm())
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)


def small32():
    """(a) 32×32, 1 channel, attention down/up blocks, ε-prediction, linear schedule; the scheduler
    saved beside the model."""
    torch.manual_seed(1)
    model = UNet2DModel(
        sample_size=32,
        in_channels=1,
        out_channels=1,
        block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        norm_num_groups=8,
        attention_head_dim=8,
    ).eval()
    perturb(model, 11)
    folder = os.path.join(ROOT, "small32")
    model.save_pretrained(folder, safe_serialization=True)
    DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon").save_pretrained(folder)
    reference(model, folder, 1, 32, [7, 500], 21)


def pipe64():
    """(b) 64×64, 2 channels (complex), attention, cosine schedule, v-prediction, scale-shift ResNets,
    downsample padding 0, no sin/cos flip; saved as a pipeline: unet/ and scheduler/."""
    torch.manual_seed(2)
    model = UNet2DModel(
        sample_size=64,
        in_channels=2,
        out_channels=2,
        block_out_channels=(8, 16, 16),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        norm_num_groups=4,
        attention_head_dim=8,
        resnet_time_scale_shift="scale_shift",
        downsample_padding=0,
        flip_sin_to_cos=False,
        freq_shift=1,
    ).eval()
    perturb(model, 12)
    folder = os.path.join(ROOT, "pipe64")
    model.save_pretrained(os.path.join(folder, "unet"), safe_serialization=True)
    DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction"
    ).save_pretrained(os.path.join(folder, "scheduler"))
    reference(model, os.path.join(folder, "unet"), 2, 64, [0, 999], 22)


if __name__ == "__main__":
    small32()
    pipe64()
