"""RVAgene: a recurrent variational autoencoder for gene expression time series.

A reimplementation of Mitra & MacLean, "RVAgene: generative modeling of gene expression time
series data", Bioinformatics 37(19):3252-3262 (2021).
"""

from ._train import Callback, LambdaCallback, StoppingRule
from ._utils import package_version
from .cluster import (
    choose_k,
    choose_k_gmeans,
    cluster_covariances,
    cluster_latent,
    clustering_scores,
    consensus_clusters,
    match_clusters,
    membership_probabilities,
    sample_around_centres,
)
from .data import (
    as_time_series,
    keep_genes,
    load_dataset,
    open_data,
    read_gene_list,
    read_table,
    read_ucr,
    write_table,
    write_ucr,
)
from .evaluate import generation_scores, reconstruction_r2
from .model import RVAgene
from .pipeline import GeneClustering, cluster_offsets, fit_ensemble, generate_around_centres
from .simulate import simulate

__version__ = package_version()

load = RVAgene.load

__all__ = [
    "Callback",
    "GeneClustering",
    "LambdaCallback",
    "RVAgene",
    "StoppingRule",
    "__version__",
    "as_time_series",
    "choose_k",
    "choose_k_gmeans",
    "cluster_covariances",
    "cluster_latent",
    "cluster_offsets",
    "clustering_scores",
    "consensus_clusters",
    "fit_ensemble",
    "generate_around_centres",
    "generation_scores",
    "keep_genes",
    "load",
    "load_dataset",
    "match_clusters",
    "membership_probabilities",
    "open_data",
    "read_gene_list",
    "read_table",
    "read_ucr",
    "reconstruction_r2",
    "sample_around_centres",
    "simulate",
    "write_table",
    "write_ucr",
]
