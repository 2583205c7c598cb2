"""Deep clustering refinement of the shipped pipeline's fits, on the same fits (issue 19).

Issue 19 asks for a latent space whose distances mean cluster structure. The deep
time-series clustering literature's standard answer for a recurrent autoencoder is a
clustering loss trained into the encoder after pre-training: DEC (Xie et al. 2016), kept
from distorting the space by the reconstruction loss in IDEC (Guo et al. 2017), as DTC
(Madiraju et al. 2018) does for a recurrent autoencoder over time series. This script
measures it on the fits the shipped pipeline made, so every column compares options on
identical models.

For each case x seed: ``GeneClustering(n_clusters=k, random_state=seed)`` with every other
default. Each of its fits (the documented fitted attribute ``module_``, a copy) is then
refined, IDEC-style:

- centres: K-means (``cluster_latent``) on the fit's latent means;
- soft assignment ``q``: Student's t kernel (one degree of freedom) between each gene's
  latent mean and each centre; target ``p`` = ``q**2 / f`` normalised per gene, where ``f``
  is each cluster's soft size, recomputed every ``UPDATE`` steps;
- loss: the fit's reconstruction error (mean squared over the observed values, on the latent
  means, no sampling)
  plus ``GAMMA * KL(p || q)``; Adam at ``LR`` on the network and the centres, full batch,
  at most ``STEPS`` steps, stopped early when fewer than ``TOL`` of the genes change
  cluster between two updates of ``p``.

Columns (ARI against the true groups):

- ``shipped``: the pipeline's own labels (co-association of the fits in both spaces);
- ``kmeans-1``: K-means on the best fit's (``model_``'s) latent means, before refinement;
- ``gmm-1``: a Gaussian mixture (diagonal covariances) on the same latent means, the
  mixture without training it into the network;
- ``idec-1``: the refined best fit's clusters (the largest ``q`` per gene);
- ``idec-consensus``: the pipeline's consensus (``consensus_clusters``, co-association of
  160 K-means runs per space) on the refined fits' latent means and reconstructions.

Cases come from ``quality.py --export-cases DIR``::

    python benchmarks/refine.py --cases-from DIR --jobs 2

Writes ``benchmarks/results/refine.csv`` and prints the table, stamped with commit, date, machine,
load and command. Never run by the tests.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import (  # noqa: E402
    as_time_series,
    cluster_latent,
    clustering_scores,
    consensus_clusters,
)
from rvagene.data import bin_means, scale_series  # noqa: E402
from rvagene.representation import embed  # noqa: E402

CASES = ("tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows", "tc-impulse-8x24u", "yeast-alpha", "yeast-elu",
         "yeast-cdc15", "yeast-diau", "ucr-japanesevowels")  # fmt: skip
OPTIONS = ("shipped", "kmeans-1", "gmm-1", "idec-1", "idec-consensus")
GAMMA = 0.1  # IDEC's weight of the clustering loss
LR = 1e-3
STEPS = 400
UPDATE = 20  # steps between updates of the target distribution
TOL = 0.001  # stop when fewer than this share of genes change cluster between updates


def _network_input(model, X):
    """The series as the fitted network sees them, and where they were observed.

    As ``RVAgene.fit`` prepares them: scaled per gene, averaged over the fit's bins, a missing
    value given its gene's mean at the input and left out of the reconstruction loss (the
    mask, True where observed).
    """
    import torch

    Xs = bin_means(scale_series(as_time_series(X), model.scaling)[0], model.bin_width_)
    observed = ~np.isnan(Xs)
    Xs = np.where(observed, Xs, np.nanmean(Xs, axis=1, keepdims=True))
    return torch.as_tensor(Xs, dtype=torch.float32), torch.as_tensor(observed)


def _soft(z, centres):
    """Student's t soft assignment (one degree of freedom), rows summing to 1."""
    import torch

    q = 1.0 / (1.0 + torch.cdist(z, centres).pow(2))
    return q / q.sum(dim=1, keepdim=True)


def _target(q):
    p = q.pow(2) / q.sum(dim=0)
    return p / p.sum(dim=1, keepdim=True)


def refine(model, X, k: int, seed: int):
    """IDEC refinement of a copy of ``model``'s network; returns (network, labels)."""
    import torch

    torch.manual_seed(seed)
    net = copy.deepcopy(model.module_).eval()  # eval: no dropout; the means, not draws
    x, observed = _network_input(model, X)
    with torch.no_grad():
        z0 = net.encode(x)[0]
    km = cluster_latent(z0.numpy().astype(np.float64), k, random_state=seed)
    centres = torch.nn.Parameter(torch.as_tensor(km.cluster_centers_, dtype=torch.float32))
    opt = torch.optim.Adam([*net.parameters(), centres], lr=LR)
    labels = km.labels_
    for step in range(STEPS):
        if step % UPDATE == 0:
            with torch.no_grad():
                q = _soft(net.encode(x)[0], centres)
            new = q.argmax(dim=1).numpy()
            if step and np.mean(new != labels) < TOL:
                break
            labels, p = new, _target(q)
        z = net.encode(x)[0]
        recon = ((net.decode(z, x.shape[1]) - x) ** 2)[observed].mean()
        q = _soft(z, centres)
        kl = torch.sum(p * (torch.log(p + 1e-12) - torch.log(q + 1e-12))) / len(x)
        loss = recon + GAMMA * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        labels = _soft(net.encode(x)[0], centres).argmax(dim=1).numpy()
    return net, labels


def _refined_model(model, net):
    out = copy.copy(model)
    out.module_ = net
    return out


def run(case: cases.Case, seed: int) -> dict:
    """One pipeline fit of a case, and every option on its fits."""
    from sklearn.mixture import GaussianMixture

    X, y, fits, row = cases.pipeline_fits(case, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = embed(fits[0], X, "latent")
        row["kmeans-1"] = clustering_scores(
            y, cluster_latent(z, case.k, random_state=seed).labels_
        )["ari"]
        gmm = GaussianMixture(case.k, covariance_type="diag", n_init=10, random_state=seed)
        row["gmm-1"] = clustering_scores(y, gmm.fit_predict(z))["ari"]
        refined = [refine(m, X, case.k, seed) for m in fits]
        row["idec-1"] = clustering_scores(y, refined[0][1])["ari"]
        models = [_refined_model(m, net) for m, (net, _) in zip(fits, refined, strict=True)]
        members = [embed(m, X, s) for s in ("latent", "decoded") for m in models]
        row["idec-consensus"] = clustering_scores(
            y, consensus_clusters(members, case.k, random_state=seed)
        )["ari"]
    return row


def main(argv=None) -> int:
    return cases.main_exported(
        argv,
        __doc__.splitlines()[0],
        CASES,
        _common.RESULTS / "refine.csv",
        run,
        lambda rows: _common.option_table(rows, OPTIONS),
    )


if __name__ == "__main__":
    raise SystemExit(main())
