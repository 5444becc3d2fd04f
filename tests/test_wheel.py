"""A built wheel, installed outside the repository, still lists and runs the built-ins."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from helpers import pip, pip_install_target, run_zoo_process

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", out, ROOT)
    (built,) = out.glob("keras_zoo-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    return pip_install_target(wheel, tmp_path_factory.mktemp("site"))


def test_wheel_ships_plugins_and_data_inside_the_zoo_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "zoo/plugins/housing.py",
        "zoo/plugins/mlp.py",
        "zoo/plugins/presets.py",
        "zoo/datasets/boston_house_prices.csv",
        "zoo/cli/main.py",
        "zoo/plugin.py",
    ):
        assert path in names, path
    assert not any(n.startswith(("plugins/", "datasets/", "tests/")) for n in names)
    # Every module of the source tree, sub-packages included (an unlisted one is silently left
    # out of a wheel while an editable install still finds it).
    for module in ROOT.joinpath("plugins").rglob("*.py"):
        shipped = f"zoo/plugins/{module.relative_to(ROOT / 'plugins').as_posix()}"
        assert shipped in names, f"{shipped} missing from the wheel"
    for module in ROOT.joinpath("zoo").rglob("*.py"):
        shipped = module.relative_to(ROOT).as_posix()
        assert shipped in names, f"{shipped} missing from the wheel"


# What the lean install (``pip install -e .``) leaves out: the extras' engines.
EXTRAS_ONLY = ("optuna", "mlflow", "ray", "jax", "fastapi", "uvicorn", "tensorboard", "tf2onnx")


def outside(
    installed: Path, *args: str, cwd: Path, without: Path | None = None
) -> subprocess.CompletedProcess:
    # -S skips site-packages processing, so the editable install of this checkout is not
    # on the path; the dependencies come from site-packages added after the wheel's folder.
    deps = sysconfig.get_paths()["purelib"]
    first = f"{without}:" if without else ""
    return run_zoo_process(
        *args, extra_path=Path(f"{first}{installed}:{deps}"), cwd=cwd, python_args=("-S",)
    )


def _extras_missing(folder: Path) -> Path:
    """A folder that, put first on the path, makes every extra's package fail to import."""
    for name in EXTRAS_ONLY:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')")
    return folder


def test_installed_wheel_lists_the_builtins(installed, tmp_path):
    where = subprocess.run(
        [sys.executable, "-S", "-c", "import zoo; print(zoo.__file__)"],
        env={"PYTHONPATH": f"{installed}:{sysconfig.get_paths()['purelib']}"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert where.stdout.strip().startswith(str(installed))
    done = outside(installed, "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "housing" in done.stdout and "mlp" in done.stdout and "adam-mse" in done.stdout


def test_installed_wheel_trains_on_the_bundled_housing_data_without_the_extras(installed, tmp_path):
    """The README's lean install trains: no extra's engine is needed for ``zoo run``."""
    without = _extras_missing(tmp_path / "without-extras")
    done = outside(
        installed,
        "run",
        "--model",
        "mlp",
        "--data",
        "housing",
        "--epochs",
        "2",
        "--no-save",
        cwd=tmp_path,
        without=without,
    )
    assert done.returncode == 0, done.stderr
    assert "RMSE" in done.stdout
    refused = outside(
        installed,
        "tune",
        "--model",
        "mlp",
        "--data",
        "housing",
        "--trials",
        "1",
        cwd=tmp_path,
        without=without,
    )
    assert refused.returncode != 0 and "pip install 'keras-zoo[tune]'" in refused.stderr
