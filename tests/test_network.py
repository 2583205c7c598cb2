import pytest
import torch

from rvagene.network import RVAE, RVAEConfig, kl_divergence, rvae_loss


@pytest.mark.parametrize("block", ["GRU", "LSTM"])
@pytest.mark.parametrize("depth", [1, 3])
def test_shapes(block, depth):
    cfg = RVAEConfig(
        number_of_features=2,
        hidden_size=8,
        hidden_layer_depth=depth,
        latent_length=3,
        block=block,
        dropout_rate=0.1,
    )
    net = RVAE(cfg)
    x = torch.randn(5, 7, 2)
    mu, logvar = net.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    x_hat, mu, logvar = net(x)
    assert x_hat.shape == x.shape
    for n in (1, 3, 1000):
        assert net.decode(torch.randn(n, 3), 11).shape == (n, 11, 2)


def test_loss_finite_and_backward():
    net = RVAE(RVAEConfig(hidden_size=8, latent_length=2))
    x = torch.randn(4, 6, 1)
    x_hat, mu, logvar = net(x)
    out = rvae_loss(x, x_hat, mu, logvar, torch.nn.MSELoss(reduction="none"))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_kl_zero_at_prior():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert torch.equal(kl_divergence(mu, logvar), torch.zeros(3, 4))


def test_encoder_uses_last_layer():
    """Changing only the last layer's weights changes the code (the original read layer 0)."""
    torch.manual_seed(0)
    net = RVAE(RVAEConfig(hidden_size=6, hidden_layer_depth=2, latent_length=2))
    x = torch.randn(3, 5, 1)
    before = net.encode(x)[0].detach().clone()
    with torch.no_grad():
        net.encoder.rnn.weight_hh_l1.add_(1.0)
    assert not torch.allclose(before, net.encode(x)[0])


def test_eval_mode_is_deterministic():
    net = RVAE(RVAEConfig(hidden_size=8, latent_length=2)).eval()
    x = torch.randn(4, 6, 1)
    assert torch.equal(net(x)[0], net(x)[0])


def test_reparameterize_draws_with_the_posterior_standard_deviation():
    """While training, z = mu + exp(logvar / 2) * eps: its spread is sqrt(variance)."""
    net = RVAE(RVAEConfig(hidden_size=4, latent_length=2)).train()
    mu = torch.tensor([[1.0, -2.0]]).expand(20000, 2)
    variance = torch.tensor([[4.0, 0.25]])
    z = net.reparameterize(mu, variance.log().expand(20000, 2), torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mu[0], atol=0.05)
    assert torch.allclose(z.std(0), variance[0].sqrt(), rtol=0.03)


def test_original_balance_and_mask():
    x = torch.randn(4, 6, 1)
    x_hat = torch.zeros_like(x)
    mu, logvar = torch.ones(4, 2), torch.zeros(4, 2)
    crit = torch.nn.MSELoss(reduction="none")
    per_gene = rvae_loss(x, x_hat, mu, logvar, crit)
    original = rvae_loss(x, x_hat, mu, logvar, crit, balance="original")
    assert torch.isclose(original.reconstruction, per_gene.reconstruction * 4)
    assert torch.isclose(original.kl, torch.tensor(0.5))  # mean of 0.5 * mu^2
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[0, 0, 0] = False
    x_nan = x.clone()
    x_nan[0, 0, 0] = float("nan")
    masked = rvae_loss(x_nan, x_hat, mu, logvar, crit, mask=mask)
    assert torch.isfinite(masked.loss)
    assert torch.isclose(masked.reconstruction, per_gene.reconstruction - x[0, 0, 0] ** 2 / 4)


def test_original_balance_weighs_the_kl_down_by_batch_times_latent():
    """Against the per-gene objective, the original's KL is worth 1 / (batch x latent).

    (The docstrings said batch x latent x time; the time points scale both terms alike.)
    """
    torch.manual_seed(0)
    batch, time, latent = 5, 7, 3
    x, x_hat = torch.randn(batch, time, 1), torch.randn(batch, time, 1)
    mu, logvar = torch.randn(batch, latent), torch.randn(batch, latent)
    crit = torch.nn.MSELoss(reduction="none")
    per_gene = rvae_loss(x, x_hat, mu, logvar, crit)
    original = rvae_loss(x, x_hat, mu, logvar, crit, balance="original")
    share = per_gene.kl / per_gene.reconstruction
    assert torch.isclose(share / (original.kl / original.reconstruction), torch.tensor(15.0))


# --------------------------------------------------------------------------- uneven times


def test_time_steps():
    from rvagene.network import time_steps

    steps = time_steps([0, 1, 2, 4, 8])  # gaps 1, 1, 2, 4; mean gap 2
    assert steps.shape == (5, 1)
    assert steps.ravel().tolist() == [0.0, 0.5, 0.5, 1.0, 2.0]
    assert time_steps([0, 3, 6, 9]).ravel().tolist() == [0.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("block", ["GRU", "LSTM"])
def test_times_are_an_input_of_encoder_and_decoder(block):
    """With times the encoder reads one more value per step and the decoder reads the steps;
    the same weights on another time grid give another code and another series."""
    base = dict(hidden_size=6, latent_length=2, block=block)
    torch.manual_seed(0)
    net = RVAE(RVAEConfig(times=(0, 0.5, 1, 2, 4, 8), **base)).eval()
    assert net.encoder.rnn.input_size == 2
    assert net.decoder.rnn.input_size == 1
    assert "steps" not in net.state_dict()  # derived from the config, not saved
    other = RVAE(RVAEConfig(times=(0, 1, 2, 3, 4, 5), **base)).eval()
    other.load_state_dict(net.state_dict())
    x, z = torch.randn(3, 6, 1), torch.randn(3, 2)
    assert not torch.allclose(net.encode(x)[0], other.encode(x)[0])
    assert not torch.allclose(net.decode(z, 6), other.decode(z, 6))
    assert net(x)[0].shape == (3, 6, 1)
    with pytest.raises(ValueError, match="built for 6 time points"):
        net.decode(z, 7)


def test_without_times_the_network_is_the_original():
    """times=None: the parameters of the original (one more encoder input with times), and
    the decoder reads zeros."""
    cfg = RVAEConfig(hidden_size=6, latent_length=2, number_of_features=2)
    torch.manual_seed(0)
    net = RVAE(cfg).eval()
    assert net.steps is None
    assert net.encoder.rnn.input_size == 2
    assert net.decoder.rnn.input_size == 1
    torch.manual_seed(0)
    timed = RVAE(RVAEConfig(hidden_size=6, latent_length=2, number_of_features=2, times=(0, 1)))
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in timed.state_dict().items()} | {
        "encoder.rnn.weight_ih_l0": (18, 2)
    }
    z = torch.randn(4, 2)
    h0 = net.decoder.latent_to_hidden(z).unsqueeze(0)
    out, _ = net.decoder.rnn(torch.zeros(4, 5, 1), h0)
    assert torch.equal(net.decode(z, 5), net.decoder.hidden_to_output(out))
