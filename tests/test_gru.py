"""The hand-written CPU GRU (rvagene._gru) against torch's nn.GRU: C loops and Python loops."""

import ctypes
import hashlib
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from rvagene import _gru
from rvagene._gru import GRU, MAX_BATCH, _GRULayer
from rvagene.network import RVAE, RVAEConfig

needs_kernel = pytest.mark.skipif(
    _gru.kernel() is None,
    reason="no C loops here (no C compiler, or RVAGENE_NO_KERNEL is set): Python loops only",
)


@pytest.fixture
def python_loops(monkeypatch):
    """Run with the Python loops, as on a machine without a C compiler."""
    monkeypatch.setenv("RVAGENE_NO_KERNEL", "1")
    return monkeypatch


def _pair(input_size, hidden, depth, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    ref = nn.GRU(input_size, hidden, num_layers=depth, batch_first=True, dropout=dropout)
    ours = GRU(input_size, hidden, num_layers=depth, batch_first=True, dropout=dropout)
    ours.load_state_dict(ref.state_dict())  # the same parameters and keys
    return ref.double(), ours.double()


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("with_h0", [False, True])
def test_outputs_and_gradients_match_nn_gru(depth, with_h0):
    """float64: the Python loops (the C loops are float32 only), to rounding."""
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
    monkeypatch.setenv("RVAGENE_NO_KERNEL", "1")
    gru = GRU(1, 4, batch_first=True)
    with torch.no_grad():
        out, h_n = gru(torch.randn(2, 5, 1))
    assert out.shape == (2, 5, 4)
    assert h_n.shape == (1, 2, 4)
    # without the C loops, large batches use nn.GRU (faster there than the Python loops)
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


@needs_kernel
@pytest.mark.parametrize("depth", [1, 2])
# the C code's column blocks of 16, 8, 4 and 1: below, at and off them (29 = 16 + 8 + 4 + 1);
# one gene alone (a last batch of one) with one input (a gene's series, the decoder's input)
# once gave the loops a product laid out time-minor, read as if in C order
@pytest.mark.parametrize("batch", [1, 3, 16, 29, 37])
@pytest.mark.parametrize("n_inputs", [1, 2])
def test_c_loops_match_nn_gru(depth, batch, n_inputs):
    """float32 through the C loops: outputs and gradients as nn.GRU's, to float rounding."""
    torch.manual_seed(0)
    ref = nn.GRU(n_inputs, 10, num_layers=depth, batch_first=True)
    ours = GRU(n_inputs, 10, num_layers=depth, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(batch, 23, n_inputs, requires_grad=True)
    g_out, g_last = torch.randn(batch, 23, 10), torch.randn(depth, batch, 10)
    results = []
    for net in (ref, ours):
        out, h_n = net(x)
        loss = (out * g_out).sum() + (h_n * g_last).sum()
        results.append((out, h_n, torch.autograd.grad(loss, [x, *net.parameters()])))
    (out_r, h_r, grads_r), (out_o, h_o, grads_o) = results
    torch.testing.assert_close(out_o, out_r, rtol=0, atol=1e-6)
    torch.testing.assert_close(h_o, h_r, rtol=0, atol=1e-6)
    for g_r, g_o in zip(grads_r, grads_o, strict=True):
        torch.testing.assert_close(g_o, g_r, rtol=1e-5, atol=1e-5)


@needs_kernel
def test_c_loops_keep_nan():
    """A NaN input gives NaN outputs (the engine's non-finite check sees it)."""
    gru = GRU(1, 4, batch_first=True)
    x = torch.randn(2, 5, 1)
    x[0, 2, 0] = float("nan")
    out, _ = gru(x)
    assert torch.isnan(out[0, 2:]).all()
    assert torch.isfinite(out[1]).all()


@needs_kernel
def test_python_loops_match_c_loops_in_training(python_loops):
    """The fallback trains the same model: float32 gradients agree to float rounding."""
    torch.manual_seed(0)
    net = RVAE(RVAEConfig(hidden_size=8, latent_length=2))
    x = torch.randn(6, 12, 1)

    def grads():
        torch.manual_seed(1)  # the same z sample
        return torch.autograd.grad(net(x)[0].pow(2).sum(), list(net.parameters()))

    assert _gru.kernel() is None  # the Python loops
    grads_py = grads()
    python_loops.delenv("RVAGENE_NO_KERNEL")
    assert _gru.kernel() is not None  # the C loops: not the Python loops again
    grads_c = grads()
    for g_p, g_c in zip(grads_py, grads_c, strict=True):
        torch.testing.assert_close(g_c, g_p, rtol=1e-4, atol=1e-5)


def test_no_compiler_falls_back_to_python(monkeypatch, tmp_path):
    """No C compiler: kernel() is None, once, and training still works."""
    monkeypatch.setattr(_gru, "_kernel", False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing cached there
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    assert _gru.kernel() is None
    gru = GRU(1, 4, batch_first=True)
    out, h_n = gru(torch.randn(3, 5, 1))
    h_n.sum().backward()
    assert gru.weight_hh_l0.grad is not None


# ------------------------------------------------------------------ the kernel's cache


@pytest.fixture
def fresh_kernel(monkeypatch, tmp_path):
    """kernel() as on first use, with its cache under tmp_path/cache (XDG_CACHE_HOME)."""
    monkeypatch.setattr(_gru, "_kernel", False)
    monkeypatch.setattr(_gru, "_loaded_from", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RVAGENE_NO_KERNEL", raising=False)
    return tmp_path / "cache" / "rvagene"


def _again(monkeypatch):
    """Forget the loaded library, as a new process would."""
    monkeypatch.setattr(_gru, "_kernel", False)
    return _gru.kernel()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@needs_kernel
def test_kernel_cache_is_private(fresh_kernel):
    assert _gru.kernel() is not None
    assert _gru._loaded_from.parent == fresh_kernel
    assert _mode(fresh_kernel) == 0o700
    assert _mode(_gru._loaded_from) & 0o022 == 0  # no one else may write it


@needs_kernel
def test_kernel_cache_writable_by_others_is_refused(fresh_kernel, monkeypatch):
    fresh_kernel.mkdir(parents=True)
    os.chmod(fresh_kernel, 0o777)  # e.g. a shared XDG_CACHE_HOME
    planted = fresh_kernel / "planted.txt"
    planted.write_text("x")
    assert _gru.kernel() is not None
    where = _gru._loaded_from.parent
    assert where != fresh_kernel  # built in a private temporary folder instead
    assert _mode(where) == 0o700
    assert sorted(p.name for p in fresh_kernel.iterdir()) == ["planted.txt"]  # nothing added


def _cached_library(directory):
    """Build the library into the cache as an earlier process would, without loading it.

    (A library loaded in this process must not be overwritten: its pages are mapped.)
    """
    assert _gru._cache_problem(directory) is None
    compiler, version = _gru._compiler()
    target = directory / f"gru_kernel_{_gru._key(compiler, version)}.so"
    _gru._build(target, compiler)
    return target


def _train_step_is_finite():
    torch.manual_seed(0)
    gru = GRU(1, 4, batch_first=True)
    gru(torch.randn(3, 5, 1))[1].sum().backward()
    return bool(torch.isfinite(gru.weight_hh_l0.grad).all())


@needs_kernel
@pytest.mark.parametrize("damage", ["content changed", "unloadable, hash matches"])
def test_corrupted_cached_library_is_rebuilt(fresh_kernel, damage):
    library = _cached_library(fresh_kernel)
    garbage = b"not a shared library" * 10
    library.write_bytes(garbage)
    if damage == "unloadable, hash matches":  # passes the content check; loading fails
        library.with_suffix(".sha256").write_text(hashlib.sha256(garbage).hexdigest())
    assert _gru.kernel() is not None  # rebuilt, not given up for good
    assert _gru._loaded_from == library
    assert library.read_bytes() != garbage
    assert _train_step_is_finite()  # the rebuilt loops run


@needs_kernel
def test_cached_library_without_the_functions_is_rebuilt(fresh_kernel, tmp_path):
    """A library that loads but lacks gru_forward/gru_backward, its hash recorded."""
    library = _cached_library(fresh_kernel)
    source = tmp_path / "other.c"
    source.write_text("int other_function(void) { return 1; }\n")
    compiler, _ = _gru._compiler()
    subprocess.run([*shlex.split(compiler), "-shared", "-fPIC", "-o", str(library), str(source)],
                   check=True)  # fmt: skip
    foreign = library.read_bytes()
    library.with_suffix(".sha256").write_text(hashlib.sha256(foreign).hexdigest())
    lib = _gru.kernel()  # before: AttributeError, in every fit
    assert lib is not None
    assert hasattr(lib, "gru_forward")
    assert _gru._loaded_from == library
    assert library.read_bytes() != foreign
    assert _train_step_is_finite()


@needs_kernel
def test_compiler_command_with_arguments(fresh_kernel, monkeypatch):
    """$CC as make reads it, e.g. CC="ccache gcc": split into arguments, not one path."""
    compiler, _ = _gru._compiler()
    monkeypatch.setenv("CC", f"env {compiler}")  # a wrapper, like ccache
    assert _gru.kernel() is not None  # before: "env cc" was not found, so no C loops
    assert _gru._loaded_from.parent == fresh_kernel
    assert _train_step_is_finite()


@needs_kernel
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="chown needs root")
def test_cached_library_of_another_user_is_not_loaded(fresh_kernel):
    library = _cached_library(fresh_kernel)
    os.chown(library, 12345, 12345)
    assert _gru.kernel() is not None
    assert os.stat(library).st_uid == os.getuid()  # replaced by our own build


@needs_kernel
def test_compiler_version_is_part_of_the_key(fresh_kernel, monkeypatch):
    assert _gru.kernel() is not None
    first = _gru._loaded_from.name
    compiler, version = _gru._compiler()
    monkeypatch.setattr(_gru, "_compiler", lambda: (compiler, version + " (upgraded)"))
    assert _again(monkeypatch) is not None
    assert _gru._loaded_from.name != first


def _arm_cpuinfo(part: str, features: str = "fp asimd sve") -> str:
    """/proc/cpuinfo of a two-core 64-bit ARM Linux machine (no "model name", no "flags")."""
    return "".join(
        f"processor\t: {i}\nBogoMIPS\t: 50.00\nFeatures\t: {features}\n"
        "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\n"
        f"CPU part\t: {part}\nCPU revision\t: 1\n\n"
        for i in range(2)
    )


def test_the_key_tells_cpus_apart_on_arm_too(monkeypatch):
    """The library is built for the CPU at hand (-march=native), and the nodes of a cluster
    may share one home folder, so one cache. Before: the key kept only x86's "model name"
    and "flags" lines, empty on ARM, so an ARM node would load a library built on another
    kind of core, which a newer instruction stops with SIGILL."""
    read = Path.read_text
    text = {}

    def fake(self, *args, **kwargs):
        return text["now"] if str(self) == "/proc/cpuinfo" else read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", fake)
    ids = []
    for info in (
        _arm_cpuinfo("0xd40"),  # Neoverse V1
        _arm_cpuinfo("0xd40"),
        _arm_cpuinfo("0xd0c"),  # Neoverse N1
        _arm_cpuinfo("0xd40", features="fp asimd"),
    ):
        text["now"] = info
        ids.append(_gru._cpu_id())
    assert ids[0] == ids[1]  # the same CPU: the same library
    assert len(set(ids[1:])) == 3
    text["now"] = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.406\nflags\t\t: fpu\n"
    assert _gru._cpu_id() == "flags\t\t: fpu\nmodel name\t: AMD EPYC"  # x86: the key as before


@needs_kernel
def test_kernel_functions_declare_their_arguments(fresh_kernel):
    lib = _gru.kernel()
    assert len(lib.gru_forward.argtypes) == 9
    assert len(lib.gru_backward.argtypes) == 13
    with pytest.raises(TypeError):  # too few arguments: an error, not a wild write
        lib.gru_forward(1, 2, 3)
    with pytest.raises(ctypes.ArgumentError):
        lib.gru_forward("1", 2, 3, *[None] * 6)


def test_parallel_fits_say_once_that_the_c_loops_are_unavailable(tmp_path):
    """Before: each worker process of parallel fits tried the C loops again and logged the
    same 'GRU C loops unavailable' line (3 fits, 3 lines in train_and_gen.py's output)."""
    root = Path(__file__).resolve().parents[1]
    code = (
        "import logging; logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from rvagene import simulate\nfrom rvagene.pipeline import fit_ensemble\n"
        "X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=0)\n"
        "models = fit_ensemble(X, 3, random_state=0, n_jobs=2, hidden_size=4, latent_length=2,"
        " n_epochs=2)\nprint(len(models))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RVAGENE_NO_KERNEL"}
    env.update(
        CC=str(tmp_path / "no-such-compiler"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([str(root), env.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    said = [ln for ln in done.stderr.splitlines() if "GRU C loops unavailable" in ln]
    assert len(said) == 1, done.stderr
    assert "no-such-compiler" in said[0]
