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


@pytest.fixture
def glued(monkeypatch):
    import myst_nb

    store = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: store.update({name: value}))
    return store


def run_parameters(tmp_path):
    from ntkcompanion import sections

    values = sections.defaults("04_eigen_features") | {"OUTPUT_DIR": str(tmp_path / "out")}
    return sections.setup("04_eigen_features", values, display=False)


VERDICT = {"claim": 3, "statistic": "s", "definition": "d", "estimate": 0.25, "ci": [0.125, 0.5],
           "control": "c", "control_value": 0.0, "threshold": 0.1, "decision": "supported",
           "reason": "95% CI above the threshold", "n": 40}


def test_report_writes_metrics_and_glues_verdicts_and_values(tmp_path, glued):
    from ntkcompanion.evidence import Verdict

    p = run_parameters(tmp_path)
    nan_verdict = Verdict.from_dict(VERDICT | {"claim": 5, "estimate": None, "ci": [None, None],
                                               "decision": "undetermined", "reason": "NaN"})
    path = record.report(p, metrics={"acc": np.float64(0.5)}, verdicts=[VERDICT, nan_verdict],
                         glue={"n_train": np.int64(60)})
    data = record.read_metrics(tmp_path / "out")
    assert path == tmp_path / "out" / "metrics.json"
    assert data["section"] == "04_eigen_features" and data["metrics"] == {"acc": 0.5}
    assert data["parameters"] == p.as_dict() and "OUTPUT_DIR" not in data["parameters"]
    assert data["verdicts"][0] == VERDICT and data["verdicts"][1]["estimate"] is None
    assert data["runtime_seconds"] >= 0 and data["environment"]["devices"]
    assert glued["claim3_decision"] == "supported" and glued["claim3_estimate"] == 0.25
    assert glued["claim3_ci"] == "[0.125, 0.5]" and (glued["claim3_ci_low"], glued["claim3_ci_high"]) == (0.125, 0.5)
    assert glued["claim5_decision"] == "undetermined" and glued["claim5_ci"] == "[NaN, NaN]"
    assert glued["claim5_estimate"] != glued["claim5_estimate"]  # NaN
    assert glued["n_train"] == 60 and type(glued["n_train"]) is int


def test_report_rejects_colliding_names_before_writing(tmp_path, glued):
    p = run_parameters(tmp_path)
    with pytest.raises(ValueError, match="two verdicts named 'claim3'"):
        record.report(p, metrics={}, verdicts=[VERDICT, VERDICT])
    with pytest.raises(ValueError, match=r"glue names \['claim3_decision'\] are not allowed"):
        record.report(p, metrics={}, verdicts=[VERDICT], glue={"claim3_decision": "x"})
    assert not (tmp_path / "out").exists() and glued == {}


def test_report_output_dir_overrides(tmp_path, glued):
    p = run_parameters(tmp_path)
    path = record.report(p, metrics={"x": 1}, output_dir=tmp_path / "elsewhere")
    assert path.parent == tmp_path / "elsewhere" and not (tmp_path / "out").exists()
    assert record.read_metrics(path.parent)["verdicts"] == []


def test_verdicts_of_one_claim_are_glued_under_their_keys(tmp_path, glued):
    p = run_parameters(tmp_path)
    two = [VERDICT | {"key": "claim3_counts"}, VERDICT | {"key": "claim3_groups", "decision": "not supported"}]
    record.report(p, metrics={}, verdicts=two)
    assert glued["claim3_counts_decision"] == "supported"
    assert glued["claim3_groups_decision"] == "not supported"


def test_report_glues_the_measured_runtime_and_device(tmp_path, glued):
    p = run_parameters(tmp_path)
    record.report(p, metrics={})
    assert glued["run_runtime"].endswith((" s", " min"))
    assert glued["run_device"]
