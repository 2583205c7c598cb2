"""The training loop: one epoch over a tensor of series, and evaluation without gradients.

The data stay one tensor on the training device; a batch is an index slice of it, so nothing
is collated or copied per sample, and every gene is used in every epoch (no ``drop_last``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

from .network import RVAE, rvae_loss

logger = logging.getLogger(__name__)


def _batches(n: int, batch_size: int, order: torch.Tensor | None = None):
    """Yield index tensors (or slices) of at most ``batch_size`` rows covering all ``n``."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


def train_epoch(
    module: RVAE,
    X: torch.Tensor,
    mask: torch.Tensor | None,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    *,
    batch_size: int,
    kl_weight: float,
    balance: str,
    max_grad_norm: float | None,
    print_every: int = 0,
    log: Callable[[str], None] | None = None,
    epoch: int = 0,
    order: torch.Tensor | None = None,
) -> dict[str, float]:
    """Train ``module`` for one pass over the series ``X`` (n, time, features).

    ``order`` (row indices) trains on those rows, in that order, instead of a fresh random
    permutation of all rows: the caller's way to split a long epoch into parts.

    Returns the per-gene means of the objective's terms over the epoch: ``loss``,
    ``reconstruction`` (summed over time and features) and ``kl`` (summed over latent
    dimensions), whatever ``balance`` the gradient used. A non-finite loss stops the epoch
    at once and is returned as ``nan`` so the caller can restore the last good state.
    """
    module.train()
    if order is None:
        order = torch.randperm(X.shape[0], device=X.device)
    n = order.shape[0]
    totals = torch.zeros(3, dtype=torch.float64)
    for i, idx in enumerate(_batches(n, batch_size, order), start=1):
        x = X[idx]  # (batch, time, features)
        m = mask[idx] if mask is not None else None
        x_hat, mu, logvar = module(x)
        out = rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight, balance, m)
        if not torch.isfinite(out.loss):
            return {"loss": float("nan"), "reconstruction": float("nan"), "kl": float("nan")}
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(module.parameters(), max_grad_norm)
        optimizer.step()
        b = x.shape[0]
        scale = b if balance == "per-gene" else 1.0  # back to sums over genes
        rec, kl = out.reconstruction.detach() * scale, out.kl.detach() * b
        if balance == "original":
            kl = kl * mu.shape[1]  # the mean over latent dims -> a sum
        totals += torch.stack([rec + kl_weight * kl, rec, kl]).double().cpu()
        if print_every and log is not None and i % print_every == 0:
            log(f"epoch {epoch} batch {i}: loss per gene {(rec + kl_weight * kl).item() / b:.4f}")
    loss, rec, kl = (totals / n).tolist()
    return {"loss": loss, "reconstruction": rec, "kl": kl}


@torch.no_grad()
def evaluate(
    module: RVAE,
    X: torch.Tensor,
    mask: torch.Tensor | None,
    criterion: nn.Module,
    *,
    batch_size: int,
    kl_weight: float,
) -> dict[str, float]:
    """Per-gene objective of ``X`` with z at the posterior mean (deterministic)."""
    module.eval()
    totals = torch.zeros(3, dtype=torch.float64)
    for idx in _batches(X.shape[0], batch_size):
        x = X[idx]
        m = mask[idx] if mask is not None else None
        x_hat, mu, logvar = module(x)
        out = rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight, "per-gene", m)
        totals += torch.stack([out.loss, out.reconstruction, out.kl]).double().cpu() * x.shape[0]
    loss, rec, kl = (totals / X.shape[0]).tolist()
    return {"loss": loss, "reconstruction": rec, "kl": kl}


@torch.no_grad()
def encode(module: RVAE, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means and log-variances (n, latent), without decoding."""
    module.eval()
    parts = [module.encode(X[idx]) for idx in _batches(X.shape[0], batch_size)]
    return torch.cat([mu for mu, _ in parts]), torch.cat([lv for _, lv in parts])


@torch.no_grad()
def predict(module: RVAE, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means (n, latent) and reconstructions from them (n, time, features)."""
    module.eval()
    mus, recons = [], []
    for idx in _batches(X.shape[0], batch_size):
        mu, _ = module.encode(X[idx])
        mus.append(mu)
        recons.append(module.decode(mu, X.shape[1]))
    return torch.cat(mus), torch.cat(recons)
