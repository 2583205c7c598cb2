from sklearn.utils.estimator_checks import parametrize_with_checks

from rvagene import RVAgene

FAST = dict(hidden_size=8, latent_length=2, n_epochs=2, random_state=0)


@parametrize_with_checks([RVAgene(**FAST)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
