"""Executing a plan: load -> split -> build -> compile -> fit -> evaluate -> save.

The runner takes a :class:`~zoo.plan.planning.Plan` (every name already resolved, every
check already done) and never resolves a name again. TensorFlow is imported only here, once
the plan is sound. Here too: loading a plan's data set (checked against its registration)
and cutting its parts, and a cross-validated run's model (its fold models averaged) and
history (the folds' mean per epoch).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.catalog import contract
from zoo.core.config import ExecuteOptions
from zoo.core.dataset import ArrayParts
from zoo.core.errors import DataError
from zoo.core.parts import TEST, TRAIN, DataParts, DataSource, SplitSpec
from zoo.core.spec import FineTune, ModelSpec
from zoo.plan.planning import Plan
from zoo.runs.folder import RunFolder, folder_name
from zoo.train.job import Job, check_reloadable
from zoo.train.scoring import evaluation_report, review, score

if TYPE_CHECKING:
    import keras

    from zoo.core.config import RunConfig
    from zoo.train.distribute import Distribution


@dataclass
class RunResult:
    """What a finished run gives back."""

    config: RunConfig
    task: str
    metrics: dict[str, float]
    history: dict[str, list[float]]
    model: keras.Model
    folder: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # no better than a trivial baseline
    example: InputExample | None = None  # a few test rows, for a tracker's model signature


EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class InputExample:
    """A few rows as the model takes them (raw: its preparation is inside it), and the names
    of its input columns (tabular data; empty for images)."""

    columns: tuple[str, ...]
    rows: Any  # np.ndarray


def input_example(parts: DataParts, rows: int = EXAMPLE_ROWS) -> InputExample | None:
    """The first rows of the test part (a streamed part: its first batch), or None."""
    import numpy as np

    arrays = parts.arrays(TEST)
    if arrays is not None:
        x = np.asarray(arrays[0][:rows])
    else:
        batch = next(iter(parts.batches(TEST, rows)), None)
        if batch is None:
            return None
        x = np.asarray(batch[0])[:rows]
    names = tuple(parts.info.feature_names)
    columns = names if x.ndim == 2 and len(names) == x.shape[1] else ()
    return InputExample(columns, x)


def execute(checked: Plan, options: ExecuteOptions | None = None) -> RunResult:
    """Train, evaluate and (by default) save the run a plan describes.

    Args:
        checked: the plan, from :func:`zoo.plan.planning.plan`.
        options: progress, saving, resuming (:class:`~zoo.core.config.ExecuteOptions`).

    Raises:
        RunInterrupted: SIGINT/SIGTERM stopped training; the folder keeps what was done.
        TrainingDiverged: the loss became NaN or infinite.
    """
    from zoo.runs import curves as plot_helper
    from zoo.train import distribute
    from zoo.train.backend import import_backend_quietly

    options = options or ExecuteOptions()
    if options.save:  # matplotlib loads in the helper while the backend loads here
        plot_helper.start()
    distribute.prepare_devices(checked.config.distribute)  # before the backend starts devices
    import_backend_quietly()  # before anything imports Keras, or its start-up noise shows
    distribution = distribute.start(checked.config.distribute)  # before any op starts devices
    if options.save and distribution and not distribution.chief:
        # Every worker must save (saving joins collective ops); only the chief's folder stays.
        with distribute.scratch_runs_dir(checked) as scratch:
            result = _execute(scratch, distribution, options)
        result.folder = None
        return result
    return _execute(checked, distribution, options)


def _execute(
    checked: Plan,
    distribution: Distribution | None,
    options: ExecuteOptions,
    parts: DataParts | None = None,
) -> RunResult:
    """:func:`execute` once the backend and the distribution (if any) are started; ``parts``
    when the data is already loaded and split."""
    from zoo.train import distribute, fitting
    from zoo.train.job import ignore_file_size_signal

    ignore_file_size_signal()
    config = checked.config
    started = time.perf_counter()
    if config.averaged:
        if options.resume:
            folder = RunFolder(Path(options.resume))
            folder.check_resumable(config.epochs, config.folds, config.seed_ensemble)
        return _averaged(checked, distribution, options)
    contract.check_settings(checked.preset, checked.settings)
    distribute.check_batch(distribution, config.batch_size)
    if parts is None:
        parts = split_for_training(load_checked(checked), config)
    resume_from = RunFolder(Path(options.resume)) if options.resume else None
    job = Job(checked, parts, resume_from=resume_from, allow_unverified=options.allow_unverified)
    fitting.seed_everything(config.seed + job.initial_epoch)
    fine_tune: FineTune | None = None
    with distribute.scope(distribution):  # the model is built and compiled inside it
        if options.resume:
            model = job.previous_model()
        else:
            model, fine_tune = build_model(checked, parts)
        distribute.defer_build(model, distribution)
        try:
            if options.save and not job.resumed:
                check_reloadable(model, checked.model.name)  # before anything is written
                job.open_folder(options.plugin_versions)
                if distribution and job.folder_path:
                    distribute.record_in(job.folder_path, distribution, config.batch_size)
            return _train_and_save(job, model, fine_tune, options, started)
        except BaseException as exc:
            job.mark_ended(exc)  # the folder must never keep saying "running"
            raise


def _train_and_save(
    job: Job,
    model: keras.Model,
    fine_tune: FineTune | None,
    options: ExecuteOptions,
    started: float,
) -> RunResult:
    """Fit (and fine-tune), score, then write the results into the folder, if any."""
    checked = job.checked
    if options.on_start:
        options.on_start(job.initial_epoch)
    fit_started = time.perf_counter()
    history = job.fit(model, checked.settings, options.progress)
    if fine_tune:  # a second phase the builder asked for: transfer learning's fine-tuning
        from zoo.train.callbacks import labelled

        progress = labelled(options.progress, "fine-tuning")
        history = job.fine_tune(model, fine_tune, checked.settings, progress, history)
    timings = {"fit_s": _since(fit_started)}
    return _finish(job, model, history, timings, started)


def _averaged(
    checked: Plan, distribution: Distribution | None, options: ExecuteOptions
) -> RunResult:
    """Train the run's members (one model per fold, per seed), then score and save their
    average.

    The folder is opened once every member has trained: an interrupted averaged run leaves
    nothing behind, and is not resumed.
    """
    from dataclasses import replace

    from zoo.train.callbacks import labelled

    started = time.perf_counter()
    config = checked.config
    source = load_checked(checked)  # once: every member is cut from the same rows
    trained = []
    parts_by_fold: dict[int | None, DataParts] = {}  # a fold's seeds share its parts
    for number, member_config in enumerate(config.members()):
        member = replace(checked, config=member_config)
        announce = options.on_start if number == 0 else None  # the run starts once
        progress = labelled(options.progress, member_label(config, member_config))
        member_options = ExecuteOptions(progress=progress, save=False, on_start=announce)
        if member_config.fold not in parts_by_fold:
            parts_by_fold[member_config.fold] = split_for_training(source, member_config)
        parts = parts_by_fold[member_config.fold]
        trained.append(_execute(member, distribution, member_options, parts))
    name = f"{checked.model.name}_{checked.data.name}".replace("-", "_")
    model = averaged_model([m.model for m in trained], name)
    job = Job(checked, split_for_training(source, config))
    try:
        if options.save:
            check_reloadable(model, checked.model.name)  # before anything is written
            job.open_folder(options.plugin_versions)
        history = mean_history([m.history for m in trained])
        timings = {"fit_s": round(sum(m.timings["fit_s"] for m in trained), 3)}
        return _finish(job, model, history, timings, started)
    except BaseException as exc:
        job.mark_ended(exc)
        raise


def member_label(config: RunConfig, member: RunConfig) -> str:
    """How progress names one member of an averaged run: ``fold 2/5``, ``seed 3``, or both."""
    words = []
    if config.cross_validated:
        words.append(f"fold {(member.fold or 0) + 1}/{config.folds}")
    if config.seed_ensemble > 1:
        words.append(f"seed {member.seed}")
    return ", ".join(words)


def _finish(
    job: Job,
    model: keras.Model,
    history: dict[str, list[float]],
    timings: dict[str, float],
    started: float,
) -> RunResult:
    """Score the trained model, review the result, and complete the folder, if any: the one
    ending of a single and of a cross-validated run."""
    from zoo.train import fitting

    checked = job.checked
    y_true, outputs = fitting.part_outputs(model, job.parts)
    metrics = score(checked.task, y_true, outputs)
    evaluation = None
    if job.folder_path is not None:  # the detailed numbers only for a folder to hold them
        classes = job.parts.info.class_names
        evaluation = evaluation_report(checked.task, y_true, outputs, classes)
    timings["total_s"] = _since(started)
    result = RunResult(
        checked.config, checked.task, metrics, history, model, job.folder_path, timings
    )
    result.warnings = review(checked.task, metrics, history, job.parts)
    result.example = input_example(job.parts)
    record = {"task": result.task, "test": metrics, "timings": timings}
    record["warnings"] = result.warnings
    job.folder.complete(history, record, model, evaluation)
    return result


def ensemble_run(checked: Plan, members: Sequence[Path], name: str) -> RunResult:
    """Saved runs' models averaged into one (a bench's top-K ensemble), scored on their test
    part and saved as a run folder of its own; its ensemble.json names the members.

    ``checked`` is the first member's plan: every member shares its data set and split, and
    ``zoo evaluate`` plans the folder's config.json (this plan's) to cut the same test part.
    Classifiers' members output probabilities, so their average is one too.
    """
    from zoo.runs.files import load_keras_model, write_json
    from zoo.runs.records import read_environment
    from zoo.train.backend import import_backend_quietly
    from zoo.train.job import data_record

    import_backend_quietly()
    started = time.perf_counter()
    folders = [RunFolder(Path(p)) for p in members]
    loaded = [load_keras_model(f.model_path, allow_unverified=False) for f in folders]
    model = averaged_model(loaded, name)  # the members' checksums verified
    check_reloadable(model, name)  # before anything is written
    job = Job(checked, split_for_training(load_checked(checked), checked.config))
    job.folder = RunFolder.create(checked.config.runs_dir, folder_name(name, checked.data_label))
    try:
        environment = read_environment(folders[0].file("environment"))  # versions, data
        job.folder.write_start(checked.to_dict(), data_record(job.parts.info), environment)
        write_json(job.folder.path / ENSEMBLE_FILE, {"members": [str(p) for p in members]})
        history = mean_history([f.read_history() for f in folders])
        return _finish(job, model, history, {"fit_s": 0.0}, started)
    except BaseException as exc:
        job.mark_ended(exc)
        raise


ENSEMBLE_FILE = "ensemble.json"


def build_model(checked: Plan, parts: DataParts) -> tuple[keras.Model, FineTune | None]:
    """The plugin's model, checked, between the preparation fitted on the training part and
    (for regression) the target's scale."""
    from dataclasses import replace

    from zoo.train import fitting

    info = parts.info
    scaling = parts.scaling()
    preparation = fitting.input_preparation(scaling)
    spec = ModelSpec.for_data(info)
    spec = replace(spec, input_shape=fitting.prepared_shape(preparation, spec.input_shape))
    built = contract.call_plugin(checked.model, spec, **checked.config.model_params)
    body, fine_tune = contract.check_model(checked.model, spec, built)
    name = f"{checked.model.name}_{checked.data.name}".replace("-", "_")
    transform = checked.config.target_transform
    model = fitting.with_preparation(
        body, tuple(info.input_shape), preparation, scaling, name, transform
    )
    return model, fine_tune


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def averaged_model(models: Sequence[keras.Model], name: str) -> keras.Model:
    """One model whose output is the mean of ``models``' outputs (each keeps its own scaling)."""
    import keras

    inputs = keras.Input(models[0].input_shape[1:], name="features")
    for number, model in enumerate(models, 1):
        model.name = f"member_{number}"  # unique names, so that the saved weights stay apart
    outputs = keras.layers.Average(name="average")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)


def mean_history(histories: Sequence[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per epoch, the mean over the folds that trained that long (early stopping ends some
    folds sooner than others)."""
    keys = [k for k in histories[0] if all(k in h for h in histories)]
    mean: dict[str, list[float]] = {}
    for key in keys:
        longest = max(len(h[key]) for h in histories)
        values = [[h[key][e] for h in histories if e < len(h[key])] for e in range(longest)]
        mean[key] = [sum(v) / len(v) for v in values]
    return mean


def load_checked(checked: Plan) -> DataSource:
    """Load the data set and check it is what its plugin declared (``zoo.catalog.contract``)."""
    params = checked.config.data_params
    data = contract.call_plugin(checked.data, **params)
    return contract.check_data(checked.data, data, params)


def split_for_training(source: DataSource, config: RunConfig) -> DataParts:
    """Train / validation / test parts of the loaded data, by the run's split options."""
    if config.cross_validated:  # the run's own parts: the whole training part, the test part
        return source.split(SplitSpec(config.test_size, 0.0, config.split_seed))
    fold = config.fold or 0
    spec = SplitSpec(
        config.test_size, config.validation_size, config.split_seed, config.folds, fold
    )
    return transformed_targets(source.split(spec), config.target_transform)


def transformed_targets(parts: DataParts, transform: str) -> DataParts:
    """``parts`` whose training targets are log(1 + y) for ``transform="log1p"``.

    Only the training part changes: the model's ``TargetScale`` undoes the transform outside
    training, so validation, scoring and prediction stay in the target's units.

    Raises:
        DataError: a target at or below -1, or a streamed file (its rows are not in memory).
    """
    if transform == "none":
        return parts
    import numpy as np

    train = parts.arrays(TRAIN)
    if not isinstance(parts, ArrayParts) or train is None:
        raise DataError(
            f"{parts.info.source}: target_transform={transform} needs the rows in memory, and "
            "this file is streamed. Load it (--set stream=false), or leave the transform out."
        )
    low = float(np.min(train[1])) if len(train[1]) else 0.0
    if low <= -1:
        raise DataError(
            f"{parts.info.source}: target_transform=log1p needs targets above -1 (counts, "
            f"amounts); the smallest training target is {low:g}. Leave the transform out."
        )
    return replace(parts, y_train=np.log1p(train[1].astype("float64")).astype("float32"))
