"""``zoo tune``: hyperparameter search with Optuna over what the plugins declare.

Modules: ``space`` (what is searched), ``dimension`` (one searched key), ``study`` (storage,
folder, record), ``objective`` (one trial), ``search`` (the use case), ``workers``
(``--jobs``), ``finish`` (test scoring once, after selection), ``report`` (files),
``tracking`` (MLflow). Importing this package imports neither Optuna nor Keras.
"""

from zoo.app.tune.request import TuneRequest, resume_request
from zoo.app.tune.search import tune

__all__ = ["TuneRequest", "resume_request", "tune"]
