"""The hand-written CPU GRU (rvagene._gru) against torch's nn.GRU."""

import pytest
import torch
from torch import nn

from rvagene._gru import GRU, MAX_BATCH, _GRULayer
from rvagene.network import RVAE, RVAEConfig


def _pair(input_size, hidden, depth, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    ref = nn.GRU(input_size, hidden, num_layers=depth, batch_first=True, dropout=dropout)
    ours = GRU(input_size, hidden, num_layers=depth, batch_first=True, dropout=dropout)
    ours.load_state_dict(ref.state_dict())  # the same parameters and keys
    return ref.double(), ours.double()


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("with_h0", [False, True])
def test_outputs_and_gradients_match_nn_gru(depth, with_h0):
    ref, ours = _pair(input_size=2, hidden=6, depth=depth)
    x = torch.randn(5, 9, 2, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(depth, 5, 6, dtype=torch.double, requires_grad=True) if with_h0 else None
    g_out = torch.randn(5, 9, 6, dtype=torch.double)
    g_last = torch.randn(depth, 5, 6, dtype=torch.double)
    results = []
    for net in (ref, ours):
        out, h_n = net(x, h0)
        leaves = [x, *net.parameters()] + ([h0] if with_h0 else [])
        grads = torch.autograd.grad((out * g_out).sum() + (h_n * g_last).sum(), leaves)
        results.append((out, h_n, grads))
    (out_r, h_r, grads_r), (out_o, h_o, grads_o) = results
    torch.testing.assert_close(out_o, out_r, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_o, h_r, rtol=0, atol=1e-12)
    assert len(grads_r) == len(grads_o)
    for g_r, g_o in zip(grads_r, grads_o, strict=True):
        torch.testing.assert_close(g_o, g_r, rtol=0, atol=1e-10)


def test_gradcheck():
    torch.manual_seed(1)
    x = torch.randn(4, 3, 2, dtype=torch.double, requires_grad=True)  # (time, in, batch)
    h0 = torch.randn(5, 2, dtype=torch.double, requires_grad=True)  # (hidden, batch)
    weights = [
        torch.randn(shape, dtype=torch.double, requires_grad=True)
        for shape in [(15, 3), (15, 5), (15,), (15,)]
    ]
    assert torch.autograd.gradcheck(_GRULayer.apply, (x, h0, *weights))


def test_only_final_state_used():
    """The encoder uses h_n only: the output's gradient arrives as None or zeros."""
    ref, ours = _pair(input_size=1, hidden=4, depth=2)
    x = torch.randn(3, 7, 1, dtype=torch.double)
    g = [torch.autograd.grad(net(x)[1].sum(), list(net.parameters())) for net in (ref, ours)]
    for g_r, g_o in zip(*g, strict=True):
        torch.testing.assert_close(g_o, g_r, rtol=0, atol=1e-10)


def test_inference_and_fallbacks_use_nn_gru(monkeypatch):
    def fail(*args):
        msg = "the hand-written path ran"
        raise AssertionError(msg)

    monkeypatch.setattr(_GRULayer, "apply", fail)
    gru = GRU(1, 4, batch_first=True)
    with torch.no_grad():
        out, h_n = gru(torch.randn(2, 5, 1))
    assert out.shape == (2, 5, 4)
    assert h_n.shape == (1, 2, 4)
    assert gru(torch.randn(MAX_BATCH + 1, 5, 1))[0].shape == (MAX_BATCH + 1, 5, 4)
    time_major = GRU(1, 4)  # batch_first=False: nn.GRU's own forward
    assert time_major(torch.randn(5, 2, 1))[0].shape == (5, 2, 4)
    with pytest.raises(AssertionError, match="hand-written"):
        gru(torch.randn(2, 5, 1))  # training on CPU takes it


def test_dropout_between_layers_only_while_training():
    _, ours = _pair(input_size=1, hidden=8, depth=2, dropout=0.5)
    x = torch.randn(4, 6, 1, dtype=torch.double)
    ours.eval()
    with torch.enable_grad():
        a, _ = ours(x)
        b, _ = ours(x)
    torch.testing.assert_close(a, b)  # no dropout in eval mode
    ours.train()
    torch.manual_seed(0)
    c, _ = ours(x)
    torch.manual_seed(1)
    d, _ = ours(x)
    assert not torch.allclose(c, d)  # dropout acts while training


def test_rvae_state_dict_loads_into_nn_gru_network():
    """Saved models keep nn.GRU's keys, so they load whichever class is in use."""
    net = RVAE(RVAEConfig(hidden_size=8, latent_length=2, hidden_layer_depth=2))
    assert isinstance(net.encoder.rnn, GRU)
    assert isinstance(net.encoder.rnn, nn.GRU)
    ref = nn.GRU(1, 8, num_layers=2, batch_first=True)
    ref.load_state_dict(net.encoder.rnn.state_dict())
