"""The paper's code paths on a CPU: every section on a CIFAR-shaped dataset a reader brings as an .npz.

Each section runs through the papermill CLI at smoke sizes with the paper profile's choices other than sizes
(``tests/profiles/cifar_smoke.yaml``: airplane vs automobile, eps = 8/255 with its steps, Myrtle kernels,
ten-class tasks, every architecture the paper profile lists), on 32x32x3 images from ``tests/_datasets.py``.
A malformed .npz stops a section within seconds, naming the array.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((ROOT / "tests" / "profiles" / "cifar_smoke.yaml").read_text()) or {}
SECTIONS = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))


def papermill(section, out_dir, parameters, *, timeout=900):
    """Runs ``notebooks/<section>.ipynb`` through the papermill CLI; returns the completed process."""
    params_file = out_dir / "params.yaml"
    params_file.write_text(yaml.safe_dump(parameters))
    env = dict(os.environ, NTKCOMPANION_PROGRESS="0", NTKCOMPANION_CACHE_DIR=str(out_dir / "cache"))
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{section}.ipynb"),
               str(out_dir / "out.ipynb"), "-f", str(params_file), "-k", "python3", "--cwd", str(out_dir)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def test_every_section_has_a_cifar_block():
    assert sorted(PROFILE) == SECTIONS


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_section_runs_on_cifar_shaped_npz(section, cifar_like_npz, tmp_path):
    if section not in PROFILE:
        pytest.fail(f"tests/profiles/cifar_smoke.yaml has no block for {section}")
    parameters = dict(PROFILE[section], DATASET=str(cifar_like_npz), OUTPUT_DIR=str(tmp_path / "results"))
    done = papermill(section, tmp_path, parameters)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "results" / "metrics.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("section", ["02_training_free_attacks", "04_eigen_features"])
def test_malformed_npz_fails_fast_naming_the_array(section, tmp_path):
    x = np.zeros((20, 8, 8, 1), np.uint8)
    bad = {
        "x_train": (dict(x_train=np.zeros((20, 8, 6, 1), np.uint8)), "x_train"),
        "y_test": (dict(y_test=np.full(20, 7)), "y_test"),
        "single class": (dict(y_train=np.zeros(20, int), y_test=np.zeros(20, int)), "class"),
    }
    for case, (change, expected) in bad.items():
        arrays = dict(x_train=x, y_train=np.arange(20) % 2, x_test=x, y_test=np.arange(20) % 2)
        arrays.update(change)
        path = tmp_path / f"{case.replace(' ', '_')}.npz"
        np.savez(path, **arrays)
        started = time.time()
        done = papermill(section, tmp_path, dict(PROFILE[section], DATASET=str(path),
                                                 OUTPUT_DIR=str(tmp_path / "results")))
        assert done.returncode != 0, case
        assert expected in done.stderr, (case, done.stderr[-2000:])
        assert time.time() - started < 60, f"{case}: took {time.time() - started:.0f} s"
        assert not (tmp_path / "results" / "metrics.json").exists()
