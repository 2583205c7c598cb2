"""The RVAgene network: a recurrent variational autoencoder over gene expression time series.

RVAgene (Mitra & MacLean, "RVAgene: generative modeling of gene expression time series data",
Bioinformatics 37(19):3252-3262, 2021) reads each gene's series with a recurrent encoder,
maps the encoder's final state to a Gaussian latent code, and rebuilds the series from the code
with a recurrent decoder:

    x (batch, time, features)
      -> Encoder: RNN (GRU or LSTM) -> last layer's final hidden state -> (mu, logvar)
      -> z = mu + exp(logvar / 2) * eps   (while training; z = mu at inference)
      -> Decoder: linear z -> initial hidden state of every layer,
                  RNN over `time` zero inputs, linear hidden -> features per step
      -> x_hat (batch, time, features)

With ``RVAEConfig.times`` set (series sampled at uneven times, e.g. 0, 0.5, 1, 2, 4, 8, 24 h),
the network sees the time grid: each step's gap to the previous time point, divided by the
mean gap (0 at the first point), is an extra encoder input next to the values, and it
replaces the decoder's zero inputs. Without times the network is the original one exactly.

This module is torch only; the scikit-learn style estimator lives in ``rvagene.model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from rvagene._gru import GRU

# nn.GRU with a faster hand-written CPU training step (rvagene._gru); nn.LSTM is fused by oneDNN.
BLOCKS = {"GRU": GRU, "LSTM": nn.LSTM}


@dataclass
class RVAEConfig:
    """Hyperparameters of :class:`RVAE` (the original tool's names)."""

    number_of_features: int = 1  # values per time point per gene (1 = one series per gene)
    hidden_size: int = 64  # RNN hidden units, encoder and decoder
    hidden_layer_depth: int = 1  # stacked RNN layers, encoder and decoder
    latent_length: int = 3  # size of the latent code
    dropout_rate: float = 0.0  # dropout between stacked RNN layers (only when depth > 1)
    block: str = "GRU"  # "GRU" (the paper's design) or "LSTM" (the original code)
    times: tuple[float, ...] | None = None  # increasing time of each point; None: even steps


def time_steps(times: Sequence[float]) -> torch.Tensor:
    """Per-step time input (time, 1): the gap to the previous point over the mean gap.

    The first point has no previous one and gets 0; evenly spaced times give 0, 1, 1, ...
    """
    t = torch.as_tensor(times, dtype=torch.float64)  # (time,)
    gaps = torch.diff(t)  # (time - 1,)
    steps = torch.cat([gaps.new_zeros(1), gaps / gaps.mean()])  # (time,)
    return steps.to(torch.float32).unsqueeze(1)  # (time, 1)


class Encoder(nn.Module):
    """RNN encoder: a series -> the last layer's final hidden state -> (mu, logvar)."""

    def __init__(self, config: RVAEConfig):
        super().__init__()
        rnn = BLOCKS[config.block]
        depth = config.hidden_layer_depth
        self.rnn = rnn(
            input_size=config.number_of_features + (config.times is not None),
            hidden_size=config.hidden_size,
            num_layers=depth,
            dropout=config.dropout_rate if depth > 1 else 0.0,
            batch_first=True,
        )
        self.to_mean = nn.Linear(config.hidden_size, config.latent_length)
        self.to_logvar = nn.Linear(config.hidden_size, config.latent_length)

    def forward(
        self, x: torch.Tensor, steps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if steps is not None:  # the time step as one more value per time point
            x = torch.cat([x, steps.expand(x.shape[0], -1, -1)], dim=2)  # (batch, time, F + 1)
        _, h = self.rnn(x)  # h: (depth, batch, hidden), or (h, c) for an LSTM
        if isinstance(h, tuple):
            h = h[0]
        h_last = h[-1]  # (batch, hidden): the LAST layer (the original took the first)
        return self.to_mean(h_last), self.to_logvar(h_last)  # (batch, latent) each


class Decoder(nn.Module):
    """RNN decoder: a latent code -> initial hidden state -> a series of zero (or time) inputs."""

    def __init__(self, config: RVAEConfig):
        super().__init__()
        rnn = BLOCKS[config.block]
        depth = config.hidden_layer_depth
        self.config = config
        self.latent_to_hidden = nn.Linear(config.latent_length, config.hidden_size)
        self.rnn = rnn(
            input_size=1,
            hidden_size=config.hidden_size,
            num_layers=depth,
            dropout=config.dropout_rate if depth > 1 else 0.0,
            batch_first=True,
        )
        self.hidden_to_output = nn.Linear(config.hidden_size, config.number_of_features)

    def forward(
        self, z: torch.Tensor, n_timepoints: int, steps: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, depth = z.shape[0], self.config.hidden_layer_depth
        h0 = self.latent_to_hidden(z)  # (batch, hidden)
        h0 = h0.unsqueeze(0).expand(depth, -1, -1).contiguous()  # (depth, batch, hidden)
        # Inputs built for the actual batch at call time, so any number of codes decodes.
        if steps is None:
            inputs = z.new_zeros(batch, n_timepoints, 1)  # (batch, time, 1)
        else:
            inputs = steps[:n_timepoints].expand(batch, -1, -1)  # (batch, time, 1)
        if isinstance(self.rnn, nn.LSTM):
            h0 = (h0, torch.zeros_like(h0))  # the cell state starts at zero, as in the original
        out, _ = self.rnn(inputs, h0)  # (batch, time, hidden)
        return self.hidden_to_output(out)  # (batch, time, features)


@dataclass
class LossOutput:
    """The terms of the training objective (each a scalar tensor)."""

    loss: torch.Tensor  # reconstruction + kl_weight * kl
    reconstruction: torch.Tensor
    kl: torch.Tensor


class RVAE(nn.Module):
    """The recurrent variational autoencoder.

    Parameters
    ----------
    config : RVAEConfig
        Network hyperparameters.
    """

    def __init__(self, config: RVAEConfig):
        super().__init__()
        if config.block not in BLOCKS:
            msg = f"block must be one of {sorted(BLOCKS)}, got {config.block!r}."
            raise ValueError(msg)
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        # Derived from the config, so not saved in the state_dict; None without times.
        steps = None if config.times is None else time_steps(config.times)  # (time, 1)
        self.register_buffer("steps", steps, persistent=False)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (batch, latent), of series x (batch, time, F)."""
        return self.encoder(x, self.steps)

    def reparameterize(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Sample z = mu + sigma * eps while training; return mu in eval mode."""
        if not self.training:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps  # (batch, latent)

    def decode(self, z: torch.Tensor, n_timepoints: int) -> torch.Tensor:
        """Series (batch, time, F) from latent codes z (batch, latent)."""
        if self.steps is not None and n_timepoints != self.steps.shape[0]:
            msg = (
                f"This network was built for {self.steps.shape[0]} time points "
                f"(config.times), not {n_timepoints}."
            )
            raise ValueError(msg)
        return self.decoder(z, n_timepoints, self.steps)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (x_hat, mu, logvar) for series x (batch, time, F)."""
        mu, logvar = self.encode(x)  # (batch, latent) each
        z = self.reparameterize(mu, logvar, generator)  # (batch, latent)
        return self.decode(z, x.shape[1]), mu, logvar  # (batch, time, F), ...


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per series and latent dimension, (batch, latent)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def rvae_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    criterion: nn.Module,
    kl_weight: float = 1.0,
    balance: str = "per-gene",
    mask: torch.Tensor | None = None,
) -> LossOutput:
    """The training objective: reconstruction + kl_weight * KL to N(0, I).

    Parameters
    ----------
    x, x_hat : Tensor of shape (batch, time, features)
        Observed series and reconstruction. NaN entries of ``x`` are ignored when ``mask``
        is given.
    mu, logvar : Tensor of shape (batch, latent)
        Posterior parameters.
    criterion : torch loss module
        Elementwise reconstruction loss; it is called with ``reduction="none"`` semantics
        (its ``reduction`` attribute is set to ``"none"`` by the caller).
    kl_weight : float, default=1.0
        Weight of the KL term.
    balance : {"per-gene", "original"}, default="per-gene"
        How the terms are reduced.

        - ``"per-gene"``: the reconstruction loss is summed over time points and features and
          the KL over latent dimensions, both then averaged over the genes of the batch. With
          ``kl_weight=1`` and ``MSELoss`` this is the negative ELBO of a Gaussian decoder (up
          to constants), independent of the batch size.
        - ``"original"``: the published tool's balance: reconstruction **summed** over batch,
          time and features, KL **averaged** over batch and latent dimensions. The KL is then
          weighted down by batch x latent relative to the ELBO (and the whole objective
          scaled up by batch).
    mask : bool Tensor of shape (batch, time, features), optional
        True where ``x`` is observed. Unobserved entries add nothing to the reconstruction.

    Returns
    -------
    LossOutput
    """
    if mask is not None:
        x = torch.where(mask, x, x_hat.detach())
    per_value = criterion(x_hat, x)  # (batch, time, features)
    if mask is not None:
        per_value = per_value * mask
    kl = kl_divergence(mu, logvar)  # (batch, latent)
    if balance == "per-gene":
        reconstruction = per_value.sum() / x.shape[0]
        kl = kl.sum() / x.shape[0]
    elif balance == "original":
        reconstruction = per_value.sum()
        kl = kl.mean()
    else:
        msg = f"balance must be 'per-gene' or 'original', got {balance!r}."
        raise ValueError(msg)
    return LossOutput(reconstruction + kl_weight * kl, reconstruction, kl)
