import os
from pathlib import Path

import numpy as np
import pytest

# The original RVAgene's reference data: a clone of https://github.com/maclean-lab/RVAgene
# (its data/ folder holds simfinal, demosim and ESC as <name>/<name>_TRAIN, and the root
# ESC_genes.txt). RVAGENE_REFERENCE_DIR points at it; the default is this workplace's copy.
REFERENCE_ENV = "RVAGENE_REFERENCE_DIR"
REFERENCE = Path(
    os.environ.get(REFERENCE_ENV)
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reference"
)
REFERENCE_HOWTO = (
    f"the original RVAgene's reference data are not present; to run this test, clone "
    f"https://github.com/maclean-lab/RVAgene (its data/ folder holds simfinal, demosim and "
    f"ESC) and set {REFERENCE_ENV} to the clone's folder. The single-cell ESC data are on "
    f"GEO as GSE65525."
)

FAST_PARAMS = dict(hidden_size=8, latent_length=2, n_epochs=2, random_state=0)


@pytest.fixture
def last_cluster_emptied(monkeypatch):
    """Mini-batch K-means leaving a cluster empty: the pipeline's ``cluster_latent`` moves
    the last cluster's genes to cluster 0."""
    import rvagene.pipeline as pipeline

    real = pipeline.cluster_latent

    def last_cluster_empty(Z, k, **kwargs):
        km = real(Z, k, **kwargs)
        km.labels_ = np.where(km.labels_ == k - 1, 0, km.labels_)
        return km

    monkeypatch.setattr(pipeline, "cluster_latent", last_cluster_empty)


def swallowing_a_ctrl_c(real):
    """``real``, called after a SIGINT that is raised and swallowed, as Python swallows a
    KeyboardInterrupt in a callback it runs itself (at a fork, in a weakref's clean-up)."""
    import signal
    import time

    def swallowed(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except KeyboardInterrupt:
            pass  # what Python does with it in an at-fork or weakref callback
        return real(*args, **kwargs)

    return swallowed


# Doctests of the single-cell code need the extra (anndata, scanpy): skipped without it.
SINGLECELL_DOCTESTS = (
    "rvagene.annotate",
    "rvagene.single_cell",
    "rvagene.simulate.simulate_single",
)


def pytest_collection_modifyitems(items):
    """Skip the single-cell doctests where ``rvagene[singlecell]`` is not installed."""
    import importlib.util

    if all(importlib.util.find_spec(name) for name in ("anndata", "scanpy")):
        return
    skip = pytest.mark.skip(reason='needs pip install "rvagene[singlecell]"')
    for item in items:
        if type(item).__name__ == "DoctestItem" and item.name.startswith(SINGLECELL_DOCTESTS):
            item.add_marker(skip)


@pytest.fixture
def fast_params():
    return dict(FAST_PARAMS)


@pytest.fixture(scope="session")
def tiny():
    """30 series x 8 time points in 3 clusters, from the project's generator."""
    from rvagene import simulate

    X, labels = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8, random_state=0)
    return X, labels


@pytest.fixture
def reference():
    """The reference data's folder (see REFERENCE_HOWTO); skips, saying how to get them."""
    if not (REFERENCE / "data").is_dir():
        pytest.skip(REFERENCE_HOWTO)
    return REFERENCE


@pytest.fixture(scope="module")
def data53():
    """53 random walks x 12 points: more genes than a batch, not a multiple of it."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((53, 12)).cumsum(axis=1)


@pytest.fixture(scope="module")
def fitted53(data53):
    from rvagene import RVAgene

    return RVAgene(hidden_size=8, latent_length=2, n_epochs=40, batch_size=10, random_state=0).fit(
        data53
    )


@pytest.fixture(autouse=True)
def _sigint_as_at_a_terminal():
    """Each test starts with Python's own SIGINT handler, as a user's run at a terminal does.

    A test runner started in the background by a non-interactive shell (``cmd &`` in a
    script, as CI systems may) inherits SIGINT ignored, and the scripts rightly leave an
    ignored SIGINT alone; the tests of Ctrl-C would then send signals that nothing takes.
    Tests of the ignored case set it themselves.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def sine_blobs(n_per=20, T=30, k=4, noise=0.2, seed=0):
    """Clearly separated sine-shaped clusters (for learning tests)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, T)
    means = [np.sin(2 * np.pi * (i + 1) * x / 2 + i) for i in range(k)]
    X = np.concatenate([m + noise * rng.standard_normal((n_per, T)) for m in means])
    return X, np.repeat(np.arange(k), n_per)
