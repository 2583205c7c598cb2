"""A GRU whose CPU training step is written out by hand: the same model, a cheaper step.

PyTorch's CPU ``nn.GRU`` runs its forward time loop in C++ but leaves the backward pass to
autograd, which records about fifteen small operations per time step and replays them one by
one; on gene series (a few dozen genes per batch, 64 hidden units, ~100 time points) that
bookkeeping, not arithmetic, is most of a training step. (The CPU ``nn.LSTM`` goes through
oneDNN's fused kernels instead; oneDNN's GRU is not reachable from PyTorch:
``torch.mkldnn_rnn_layer`` accepts LSTMs only.)

:class:`GRU` is an ``nn.GRU`` (same parameters, same ``state_dict``, same equations) whose
forward, when gradients are needed on CPU, runs :class:`_GRULayer`: an autograd function
with the backward pass through time written out. The input projections of all time points
are one matrix product; the loops keep only what depends on the previous step; the weight
gradients are one matrix product each after the loop. The loops themselves run

- in C (``_gru_kernel.c``, float32 only), compiled with the system's C compiler at first use
  and cached (see :func:`kernel`): one small matrix product and one fused pass over the gates
  per time step. Its tanh is a rational approximation within 3e-7 of the exact one; or
- in Python, when there is no compiler (or ``RVAGENE_NO_KERNEL=1``): five tensor
  operations per forward step, six or seven per backward step.

Inference (no gradients), CUDA (cuDNN), packed sequences, ``batch_first=False`` and
``bias=False`` use ``nn.GRU.forward`` unchanged. Results agree with ``nn.GRU`` to float
rounding (``tests/test_gru.py`` compares outputs and gradients of both paths, and runs
``torch.autograd.gradcheck``); rounding differences do change a seeded training run's path,
so fits are reproducible on one machine but not bit-identical to ``nn.GRU`` fits.
``benchmarks/speed.py``'s ``gru`` section times a training step with each, side by side;
the numbers are in ``docs/results.md`` and the reasons in ``docs/design.md``.

The GRU equations (PyTorch's, gates in the order r, z, n)::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import _ctypes
import atexit
import contextlib
import ctypes
import hashlib
import logging
import os
import platform
import shlex
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

logger = logging.getLogger(__name__)

# Largest batch that takes the hand-written path without the C loops: above it torch's C++
# forward was faster than the Python loops (docs/design.md). With the C loops every batch
# size takes the hand-written path.
MAX_BATCH = 32
_SOURCE = Path(__file__).with_name("_gru_kernel.c")
# -ffp-contract=fast lets the compiler fuse a * b + c into one FMA instruction (ISO C modes
# such as -std=c99 turn that off); it changes rounding only, within the tests' tolerances.
_FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-std=c99")
_lock = threading.Lock()
_kernel: ctypes.CDLL | None | bool = False  # False: not tried yet; None: unavailable
_loaded_from: Path | None = None  # the library file the C loops were loaded from


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rvagene"


# The /proc/cpuinfo fields that say which CPU it is and what it can run: x86's, ARM's
# (which has neither "model name" nor "flags"), POWER's ("cpu") and RISC-V's.
_CPU_FIELDS = frozenset({
    "model name", "flags",
    "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part", "CPU revision",
    "cpu", "isa", "uarch",
})  # fmt: skip


def _cpu_id() -> str:
    """What -march=native depends on: the CPU model and features (so a shared cache is safe).

    The nodes of a cluster may share one home folder, so one cache: a library built for
    another CPU could stop this one with an illegal instruction. Where /proc/cpuinfo names
    none of ``_CPU_FIELDS`` (or is missing, as on macOS), the host's name is part of the
    id, so each machine builds its own.
    """
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        info = ""
    lines = {ln for ln in info.splitlines() if ln.split(":", 1)[0].strip() in _CPU_FIELDS}
    if not lines:
        return f"{platform.machine()} {platform.processor()} on {platform.node()}"
    return "\n".join(sorted(lines))


def _compiler() -> tuple[str, str]:
    """The C compiler's command line and its version text (part of the cache key).

    ``$CC`` is a command line as make reads it (``CC="ccache gcc"``), split by
    :func:`_command`; without it, ``cc`` or ``gcc`` on the PATH.
    """
    compiler = os.environ.get("CC", "").strip()
    if not compiler:
        found = shutil.which("cc") or shutil.which("gcc")
        compiler = shlex.quote(found) if found else ""
    if not compiler:
        msg = "no C compiler (cc, gcc or $CC) found"
        raise OSError(msg)
    done = subprocess.run(
        [*_command(compiler), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return compiler, done.stdout + done.stderr


def _command(compiler: str) -> list[str]:
    """The compiler's command line as arguments (``"ccache gcc"`` -> ``["ccache", "gcc"]``)."""
    try:
        return shlex.split(compiler)
    except ValueError as err:  # e.g. an unclosed quote in $CC
        msg = f"the C compiler command {compiler!r} cannot be split into arguments ({err})"
        raise OSError(msg) from None


def _private(path: Path, directory: bool) -> str | None:
    """Why ``path`` may not be trusted (None when it may): ours, and writable by us alone.

    A directory must not be a symbolic link; a library must be a regular file.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None if not directory else f"{path} does not exist"
    kind_ok = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    if not kind_ok:
        return f"{path} is not a {'directory' if directory else 'regular file'}"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"{path} is owned by another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _cache_problem(directory: Path) -> str | None:
    """Create the cache directory (mode 0700) if needed; why it may not be used, or None.

    Its parent must not let other users replace it: writable by others only with the
    sticky bit (as /tmp is).
    """
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(directory):
            directory.mkdir(mode=0o700)
    except OSError as err:
        return f"cannot create {directory} ({err})"
    problem = _private(directory, directory=True)
    if problem is None:
        os.chmod(directory, 0o700)  # ours: private, also if an older version made it 0755
        parent = os.stat(directory.parent)
        if parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
            problem = f"{directory.parent} is writable by other users (no sticky bit)"
    return problem


def _build(target: Path, compiler: str) -> None:
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run(
            [*_command(compiler), *_FLAGS, "-o", tmp, str(_SOURCE)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.chmod(tmp, 0o700)
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        _atomic_write(target.with_suffix(".sha256"), digest)
        os.replace(tmp, target)  # atomic: concurrent builds leave one complete file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _intact(target: Path) -> bool:
    """Whether the cached library is ours, private, and has the content we built."""
    if not target.is_file() or _private(target, directory=False) is not None:
        return False
    try:
        digest = target.with_suffix(".sha256").read_text().strip()
    except OSError:
        return False
    return hashlib.sha256(target.read_bytes()).hexdigest() == digest


def _load(target: Path) -> ctypes.CDLL:
    """Load the library and declare its functions; ``OSError`` when it lacks them."""
    lib = ctypes.CDLL(str(target))
    if not all(hasattr(lib, name) for name in ("gru_forward", "gru_backward")):
        _unload(lib)
        msg = f"{target} loads but lacks the functions gru_forward and gru_backward"
        raise OSError(msg)
    ints = [ctypes.c_int] * 3
    lib.gru_forward.argtypes = [*ints, *[ctypes.c_void_p] * 6]
    lib.gru_backward.argtypes = [*ints, *[ctypes.c_void_p] * 10]
    lib.gru_forward.restype = lib.gru_backward.restype = None
    return lib


def _unload(lib: ctypes.CDLL) -> None:
    """Close a loaded library, so that a rebuilt one at the same path is really loaded.

    (The dynamic loader hands back a library that is still open at a path, new file or not.)
    """
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        with contextlib.suppress(OSError):
            close(lib._handle)


def _load_cached(directory: Path, key: str, compiler: str) -> ctypes.CDLL:
    """Load the library from ``directory``, building it when absent, altered or unloadable.

    A library that fails to load, or loads without the loops' functions, is rebuilt once; a
    second failure raises ``OSError``.
    """
    global _loaded_from
    target = directory / f"gru_kernel_{key}.so"
    if not _intact(target):
        _build(target, compiler)
    try:
        lib = _load(target)
    except OSError as err:
        logger.info("rvagene: cached GRU C loops failed to load (%s); rebuilding.", err)
        _build(target, compiler)
        lib = _load(target)
    _loaded_from = target
    return lib


def _key(compiler: str, version: str) -> str:
    """The library's name: a hash of the source, flags, CPU and compiler (path and version)."""
    text = f"{repr(_FLAGS)}\n{_cpu_id()}\n{compiler}\n{version}".encode()
    return hashlib.sha256(_SOURCE.read_bytes() + text).hexdigest()[:16]


def _open_kernel() -> ctypes.CDLL:
    """Build (or reuse) and load the C loops; raise ``OSError`` when impossible.

    The cache directory is used only when it is private (see :func:`_cache_problem`);
    otherwise the library is built in a new private temporary directory, removed at exit.
    """
    compiler, version = _compiler()
    key = _key(compiler, version)
    directory = _cache_dir()
    problem = _cache_problem(directory)
    if problem is None:
        return _load_cached(directory, key, compiler)
    logger.info("rvagene: not using the kernel cache: %s; building in a private folder.", problem)
    private = Path(tempfile.mkdtemp(prefix="rvagene-kernel-"))  # mode 0700
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    return _load_cached(private, key, compiler)


def kernel() -> ctypes.CDLL | None:
    """The compiled C loops, built on first use and cached; None where that is impossible.

    The library is cached under ``$XDG_CACHE_HOME/rvagene`` (``~/.cache/rvagene``), a
    directory created with mode 0700, named by a hash of the source, the compiler flags, the
    CPU and the compiler's command and version text (``$CC`` may hold arguments, as in
    ``CC="ccache gcc"``). It is loaded only when the directory and the library belong to the
    user and no one else can write to them, and the library's content matches the hash
    recorded when it was built; otherwise it is rebuilt (an unsafe cache directory: in a
    private temporary directory instead). A library that fails to load, or lacks the loops'
    functions, is rebuilt once. Any other failure (no compiler, a compile error) is logged
    once and the Python loops are used instead. ``RVAGENE_NO_KERNEL=1`` turns the C loops off.
    """
    global _kernel
    if os.environ.get("RVAGENE_NO_KERNEL", "") not in ("", "0"):
        return None
    if _kernel is False:
        with _lock:
            if _kernel is False:
                try:
                    _kernel = _open_kernel()
                except (OSError, AttributeError, subprocess.SubprocessError) as err:
                    logger.info("rvagene: GRU C loops unavailable (%s); using Python loops.", err)
                    _kernel = None
    return _kernel


def skip_kernel() -> None:
    """Use the Python loops in this process without trying the C loops.

    For a worker process whose parent already found the C loops unavailable and said so:
    trying again would say it again, once per worker.
    """
    global _kernel
    _kernel = None


def _ptr(t: torch.Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(0 if t is None else t.data_ptr())


def _use_kernel(*tensors: torch.Tensor) -> bool:
    """Whether the C loops can take ``tensors``: float32, in C order, and a compiled kernel."""
    return (
        all(t.dtype == torch.float32 and t.is_contiguous() for t in tensors)
        and kernel() is not None
    )


class _GRULayer(torch.autograd.Function):
    """One GRU layer over a whole series: (x, h0, weights) -> (out, h_T).

    Tensors are kept feature-major, (time, features, batch): each gate is then a contiguous
    block of rows of the step's (3 hidden, batch) matrix product, every element-wise
    operation in the loops runs on contiguous memory, and layers chain without copies.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        # x: (time, in, batch); h0: (hidden, batch)
        n_steps, _, batch = x.shape
        hidden = w_hh.shape[1]
        # W_i x, (time, 3 hidden, batch); one input (a gene's series) is a broadcast product
        # (contiguous: for one gene and one input the broadcast product's memory is laid out
        # time-minor, and the loops read every buffer in C order)
        gi = x * w_ih.view(1, -1, 1) if x.shape[1] == 1 else torch.matmul(w_ih, x)
        gi = gi.contiguous()
        # pre[t] becomes, after the step's product: rows r, z: W_i x + b_i + W_h h + b_h (the
        # gates' pre-activations); rows n: W_hn h + b_hn (kept for the backward pass).
        bias = torch.cat([b_ih[: 2 * hidden] + b_hh[: 2 * hidden], b_hh[2 * hidden :]])
        pre = gi + bias.view(1, -1, 1)
        pre[:, 2 * hidden :] = b_hh[2 * hidden :].view(1, -1, 1)
        gi_n = gi[:, 2 * hidden :] + b_ih[2 * hidden :].view(1, -1, 1)  # (time, hidden, batch)
        rz = x.new_empty(n_steps, 2 * hidden, batch)  # gates r, z
        n = x.new_empty(n_steps, hidden, batch)  # candidate state
        hs = x.new_empty(n_steps + 1, hidden, batch)  # h_0 .. h_T
        hs[0] = h0
        w_hh = w_hh.contiguous()
        if _use_kernel(x, w_hh, pre, gi_n, hs):
            kernel().gru_forward(
                n_steps,
                batch,
                hidden,
                _ptr(w_hh),
                _ptr(pre),
                _ptr(gi_n),
                _ptr(hs),
                _ptr(rz),
                _ptr(n),
            )
        else:
            _forward_loop(w_hh, pre, gi_n, hs, rz, n)
        ctx.save_for_backward(x, w_ih, w_hh, hs, rz, n, pre)
        out = hs[1:]
        return out, out[-1]  # (time, hidden, batch), (hidden, batch)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_last):
        x, w_ih, w_hh, hs, rz, n, pre = ctx.saved_tensors
        n_steps, hidden, batch = n.shape
        dh = x.new_zeros(hidden, batch)
        if grad_last is not None:
            dh.copy_(grad_last)
        go = None if grad_out is None else grad_out.contiguous()
        # Gradients of W_h h + b_h and of W_in x + b_in, (rows, time, batch): as matrices
        # (rows, time * batch) they give the weight gradients without copies.
        dgh = x.new_empty(3 * hidden, n_steps, batch)
        dgi_n = x.new_empty(hidden, n_steps, batch)
        if _use_kernel(x, w_hh, dh, pre, *([] if go is None else [go])):
            scratch = torch.empty_like(dh)  # alive until the call returns
            kernel().gru_backward(
                n_steps,
                batch,
                hidden,
                _ptr(w_hh),
                _ptr(pre),
                _ptr(hs),
                _ptr(rz),
                _ptr(n),
                _ptr(go),
                _ptr(dh),
                _ptr(scratch),
                _ptr(dgh),
                _ptr(dgi_n),
            )
        else:
            dh = _backward_loop(
                w_hh, pre, hs, rz, n, go, dh, dgh.transpose(0, 1), dgi_n.transpose(0, 1)
            )
        dgh, dgi_n = dgh.view(3 * hidden, -1), dgi_n.view(hidden, -1)  # (rows, time * batch)
        dgi_rz = dgh[: 2 * hidden]  # W_ir x, W_iz x enter as W_hr h, W_hz h do
        x_2d = x.transpose(0, 1).reshape(x.shape[1], -1)  # (in, time * batch)
        h_2d = hs[:-1].transpose(0, 1).reshape(hidden, -1)  # (hidden, time * batch)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = w_ih[: 2 * hidden].t() @ dgi_rz + w_ih[2 * hidden :].t() @ dgi_n
            grad_x = grad_x.view(-1, n_steps, batch).transpose(0, 1)  # (time, in, batch)
        # Weight gradients: sums over time and batch, each one matrix product.
        grad_w_ih = torch.cat([dgi_rz @ x_2d.t(), dgi_n @ x_2d.t()])  # (3 hidden, in)
        grad_w_hh = dgh @ h_2d.t()  # (3 hidden, hidden)
        grad_b_ih = torch.cat([dgi_rz.sum(1), dgi_n.sum(1)])
        return grad_x, dh, grad_w_ih, grad_w_hh, grad_b_ih, dgh.sum(1)


def _forward_loop(w_hh, pre, gi_n, hs, rz, n) -> None:
    """The forward time loop in Python (what ``gru_forward`` in the C file does)."""
    hidden = w_hh.shape[1]
    # Per-step views made once (indexing inside the loop costs more than the arithmetic).
    pre_t, pre_rz, pre_n = pre.unbind(0), pre[:, : 2 * hidden].unbind(0), pre[:, 2 * hidden :]
    pre_n = pre_n.unbind(0)
    rz_t, r_t, z_t = rz.unbind(0), rz[:, :hidden].unbind(0), rz[:, hidden:].unbind(0)
    gi_n_t, n_t, h_t = gi_n.unbind(0), n.unbind(0), hs.unbind(0)
    for t in range(pre.shape[0]):
        pre_t[t].addmm_(w_hh, h_t[t])  # (3 hidden, batch)
        torch.sigmoid(pre_rz[t], out=rz_t[t])
        torch.addcmul(gi_n_t[t], r_t[t], pre_n[t], out=n_t[t]).tanh_()
        torch.lerp(n_t[t], h_t[t], z_t[t], out=h_t[t + 1])  # h' = n + z * (h - n)


def _backward_loop(w_hh, pre, hs, rz, n, go, dh, dgh, dgi_n) -> torch.Tensor:
    """The loop back through time in Python (``gru_backward`` in the C file); returns dh_0."""
    hidden = w_hh.shape[1]
    r, z = rz[:, :hidden], rz[:, hidden:]  # (time, hidden, batch) each
    # Everything that does not depend on the incoming gradient, for all steps at once.
    dn_fac = (1 - z) * (1 - n * n)  # d(pre-activation of n) / dh'
    dz_fac = (hs[:-1] - n) * z * (1 - z)  # d(pre-activation of z) / dh'
    dr_fac = pre[:, 2 * hidden :] * r * (1 - r)  # d(pre-activation of r) / d(pre of n)
    go = None if go is None else go.unbind(0)
    dgh_t, dgi_n_t = dgh.unbind(0), dgi_n.unbind(0)
    dgh_r, dgh_z = dgh[:, :hidden].unbind(0), dgh[:, hidden : 2 * hidden].unbind(0)
    dgh_n = dgh[:, 2 * hidden :].unbind(0)
    dn_f, dz_f, dr_f = dn_fac.unbind(0), dz_fac.unbind(0), dr_fac.unbind(0)
    r_t, z_t = r.unbind(0), z.unbind(0)
    w_hh_t = w_hh.t()
    for t in range(dgh.shape[0] - 1, -1, -1):
        if go is not None:
            dh += go[t]
        torch.mul(dh, dn_f[t], out=dgi_n_t[t])
        torch.mul(dgi_n_t[t], dr_f[t], out=dgh_r[t])
        torch.mul(dh, dz_f[t], out=dgh_z[t])
        torch.mul(dgi_n_t[t], r_t[t], out=dgh_n[t])
        dh = torch.addmm(dh * z_t[t], w_hh_t, dgh_t[t])  # (hidden, batch): grad of h_{t-1}
    return dh


class GRU(nn.GRU):
    """``nn.GRU`` with the hand-written CPU training step of this module (see its docstring).

    Takes the same arguments and returns the same ``(output, h_n)``; parameters and
    ``state_dict`` keys are ``nn.GRU``'s, so saved models load either way.
    """

    def forward(self, input, hx=None):  # noqa: A002 (nn.GRU's argument name)
        if (
            not isinstance(input, torch.Tensor)
            or input.device.type != "cpu"
            or input.dim() != 3
            or not self.batch_first
            or self.bidirectional
            or not self.bias
            or (input.shape[0] > MAX_BATCH and not _use_kernel(input.new_empty(0)))
            or not (torch.is_grad_enabled() and self.weight_hh_l0.requires_grad)
        ):  # inference (nn.GRU's forward is as fast and stores nothing), CUDA, big batches, ...
            return super().forward(input, hx)
        x = input.permute(1, 2, 0).contiguous()  # (time, in, batch)
        batch = x.shape[2]
        if hx is None:
            hx = x.new_zeros(self.num_layers, batch, self.hidden_size)
        last = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True)
            x, h_n = _GRULayer.apply(
                x,
                hx[layer].t(),
                getattr(self, f"weight_ih_l{layer}"),
                getattr(self, f"weight_hh_l{layer}"),
                getattr(self, f"bias_ih_l{layer}"),
                getattr(self, f"bias_hh_l{layer}"),
            )  # (time, hidden, batch), (hidden, batch)
            last.append(h_n.t())
        # (batch, time, hidden) and (depth, batch, hidden), as views
        return x.permute(2, 0, 1), torch.stack(last)
