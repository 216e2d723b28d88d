"""A plain reference loop for the dreaming phase, the yardstick of `ganinv perf --measure reference`.

The same encoders and the same losses as `ganinv fit` (the data-free beta-ELBO of the dreaming
phase: reconstruction with inferred noise and true codes, reconstruction with inferred codes and
true noise, the KL terms, code recovery), written out plainly in one file: fp32, batch 64, Adam at
a constant learning rate, the Gumbel temperature annealed from 1.0 to 0.5 as the method says, and
nothing else: no warm-up or decay, no perturbed dreams, no autocast, no compile, a `.item()` per step.

Run alone (prints JSON):
    python benchmarks/reference_fit.py --generator builtin:mnist --steps 1000 --eval-every 100
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

SIGMA_X = 0.1  # observation std on the [-1, 1] scale
BETA = 1.0  # weight of the KL terms
LAMBDA_MI = 1.0  # weight of code recovery
TAU_START, TAU_END = 1.0, 0.5  # Gumbel-softmax temperature, annealed geometrically


def conv_trunk(image_shape, width, hidden):
    """Stride-2 4x4 convolutions until the map is at most 4x4 (channels doubled, at most 8x width), then Linear."""
    channels, size, _ = image_shape
    layers, c_in, c_out = [], channels, width
    while size > 4:
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        size = math.ceil(size / 2)
        c_in, c_out = c_out, min(c_out * 2, width * 8)
    convs = nn.Sequential(*layers)
    flat = convs(torch.zeros(1, *image_shape)).numel()
    return nn.Sequential(convs, nn.Flatten(), nn.Linear(flat, hidden), nn.LeakyReLU(0.2))


class Encoders(nn.Module):
    """q(z|x) = N(mu_z, exp(logvar_z)); q(d, c|x): logits over K and N(mu_c, exp(logvar_c)), one trunk."""

    def __init__(self, spec, width=64, hidden=512):
        super().__init__()
        self.nz, self.nc, self.k = spec.nz, spec.nc, spec.n_classes
        self.z_trunk = conv_trunk(spec.image_shape, width, hidden)
        self.z_head = nn.Linear(hidden, 2 * self.nz)
        self.code_trunk = conv_trunk(spec.image_shape, width, hidden) if self.nc or self.k else None
        self.d_head = nn.Linear(hidden, self.k) if self.k else None
        self.c_head = nn.Linear(hidden, 2 * self.nc) if self.nc else None

    def forward(self, x):
        mu_z, logvar_z = self.z_head(self.z_trunk(x)).chunk(2, dim=1)
        out = {"mu_z": mu_z, "logvar_z": logvar_z.clamp(-12, 6)}
        if self.code_trunk is not None:
            h = self.code_trunk(x)
            if self.d_head is not None:
                out["logits_d"] = self.d_head(h)
            if self.c_head is not None:
                mu_c, logvar_c = self.c_head(h).chunk(2, dim=1)
                out["mu_c"], out["logvar_c"] = mu_c, logvar_c.clamp(-12, 6)
        return out


def gaussian_nll(x, x_hat):
    d = x[0].numel()
    return ((x - x_hat).flatten(1).square().sum(dim=1) / (2 * SIGMA_X**2)).mean() + 0.5 * d * math.log(
        2 * math.pi * SIGMA_X**2
    )


def kl_to_standard(mu, logvar):
    return (0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(dim=1)).mean()


def gaussian_code_nll(target, mu, logvar):
    return (0.5 * ((target - mu).square() * (-logvar).exp() + logvar + math.log(2 * math.pi)).sum(dim=1)).mean()


def sample_priors(spec, n, device):
    z = torch.randn(n, spec.nz, device=device)
    c = torch.randn(n, spec.nc, device=device) if spec.nc else None
    d = (
        F.one_hot(torch.randint(spec.n_classes, (n,), device=device), spec.n_classes).float()
        if spec.n_classes
        else None
    )
    return z, c, d


def loss(G, spec, encoders, tau, batch_size, device):
    """One dreaming step's loss: dream x' = G(z~, c~, d~), then the terms, summed over pixels and averaged."""
    z_true, c_true, d_true = sample_priors(spec, batch_size, device)
    with torch.no_grad():
        x = G(z_true, c_true, d_true)  # (B, C, H, W) in [-1, 1]
    q = encoders(x)
    z = q["mu_z"] + (0.5 * q["logvar_z"]).exp() * torch.randn_like(q["mu_z"])
    total = gaussian_nll(x, G(z, c_true, d_true)) + BETA * kl_to_standard(q["mu_z"], q["logvar_z"])
    if "logits_d" in q or "mu_c" in q:
        d = c = None
        if "logits_d" in q:
            log_p = q["logits_d"].log_softmax(dim=1)
            total = total + BETA * ((log_p.exp() * log_p).sum(dim=1) + math.log(spec.n_classes)).mean()
            total = total - LAMBDA_MI * (d_true * log_p).sum(dim=1).mean()
            if spec.differentiable_codes:
                gumbel = -torch.empty_like(log_p).exponential_().log()
                d = ((q["logits_d"] + gumbel) / tau).softmax(dim=1)
            else:
                d = d_true
        if "mu_c" in q:
            total = total + BETA * kl_to_standard(q["mu_c"], q["logvar_c"])
            total = total + LAMBDA_MI * gaussian_code_nll(c_true, q["mu_c"], q["logvar_c"])
            c = q["mu_c"] + (0.5 * q["logvar_c"]).exp() * torch.randn_like(q["mu_c"])
        if spec.differentiable_codes or c is not None:
            total = total + gaussian_nll(x, G(z_true, c, d))
    return total


@torch.no_grad()
def held_out_mse(G, encoders, images, batch_size=256):
    """Mean squared error per pixel on the [0, 1] scale of G(posterior means) on held-out images."""
    encoders.eval()
    total = 0.0
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size]
        q = encoders(x)
        d = q["logits_d"].softmax(dim=1) if "logits_d" in q else None
        total += ((x - G(q["mu_z"], q.get("mu_c"), d)) / 2).square().flatten(1).mean(dim=1).sum().item()
    encoders.train()
    return total / images.shape[0]


def train(G, held_out, steps, batch_size=64, lr=1e-3, eval_every=100, seed=0, width=64, hidden=512):
    """Train the encoders of `G` (a frozen generator called as G(z, c, d), with `.spec` and `.device`) for `steps`.

    Returns the held-out MSE after every `eval_every` steps (and the last), each with the seconds spent
    training up to it (evaluation not counted), and the mean seconds per step.
    """
    torch.manual_seed(seed)
    spec, device = G.spec, G.device
    encoders = Encoders(spec, width, hidden).to(device)
    optimizer = torch.optim.Adam(encoders.parameters(), lr=lr)
    held_out = held_out.to(device)
    history, train_seconds = [], 0.0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        tau = TAU_START * (TAU_END / TAU_START) ** ((step - 1) / max(steps - 1, 1))
        total = loss(G, spec, encoders, tau, batch_size, device)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        last_loss = total.item()
        train_seconds += time.perf_counter() - start
        if step % eval_every == 0 or step == steps:
            history.append(
                {
                    "step": step,
                    "train_seconds": train_seconds,
                    "loss": last_loss,
                    "mse_per_pixel": held_out_mse(G, encoders, held_out),
                }
            )
    return {
        "history": history,
        "seconds_per_step": train_seconds / steps,
        "samples_per_s": steps * batch_size / train_seconds,
        "encoders": encoders,
    }


def main():
    from ganinv.evaluation import held_out_samples
    from ganinv.fit import EVAL_SEED_OFFSET
    from ganinv.sources import load_generator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="builtin:mnist")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    G = load_generator(args.generator, device=args.device)
    _, images = held_out_samples(G, args.eval_samples, seed=args.seed + EVAL_SEED_OFFSET)  # as `ganinv fit`'s
    result = train(G, images, args.steps, eval_every=args.eval_every, seed=args.seed)
    result.pop("encoders")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
