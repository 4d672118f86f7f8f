"""metrics.json records and atomic writes."""

import json
import os
import time

import numpy as np
import pytest

from ntkcompanion import record


def test_write_metrics_round_trip(tmp_path):
    started = time.time() - 2.0
    path = record.write_metrics(tmp_path / "out", section="01_x",
                                metrics={"acc": np.float32(0.5), "curve": np.arange(3)},
                                parameters={"N": 3}, started=started)
    data = record.read_metrics(tmp_path / "out")
    assert path.name == "metrics.json"
    assert data["metrics"] == {"acc": 0.5, "curve": [0, 1, 2]}
    assert data["parameters"] == {"N": 3} and data["section"] == "01_x"
    assert data["runtime_seconds"] >= 2.0
    assert data["environment"]["packages"]["jax"] == "0.5.3"
    assert data["environment"]["devices"]


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        record.atomic_write_text(target, json.dumps({"new": 1}))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left


def test_environment_line_names_devices():
    line = record.environment_line()
    assert "jax 0.5.3" in line and "devices:" in line


def test_glue_stores_numpy_scalars_as_python_numbers(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    assert record.glue("acc", np.float64(0.97)) == 0.97
    record.glue("n", np.int64(3))
    record.glue("name", "fc")
    assert glued == {"acc": 0.97, "n": 3, "name": "fc"}
    assert type(glued["acc"]) is float and type(glued["n"]) is int
    assert repr(glued["acc"]) == "0.97"  # what the book's {glue:text} formats parse
