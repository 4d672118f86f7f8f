"""The claims and reproducibility pages are computed from the run's records, not typed."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("report_pages", ROOT / "scripts" / "report_pages.py")
report_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report_pages)


def write_run(results: Path, value: float, holds: bool):
    (results / "04_features").mkdir(parents=True, exist_ok=True)
    (results / "build.json").write_text(json.dumps(
        {"profile": "quick", "sections": {"04_features": {"seconds": 12.5, "parameters": {}}}}))
    record = {
        "section": "04_features",
        "parameters": {"DATASET": "mnist_embedded", "CLASSES": [3, 5], "N_TRAIN": 800},
        "environment": {"packages": {"jax": "0.5.3"}, "python": "3.11", "platform": "linux",
                        "backend": "cpu", "devices": ["cpu:cpu"]},
        "metrics": {"claims": {"5": {"statistic": "Spearman ρ(index, robustness)", "value": value,
                                     "holds": holds}}},
    }
    (results / "04_features" / "metrics.json").write_text(json.dumps(record))


def test_claims_page_follows_the_metrics(tmp_path):
    write_run(tmp_path, -0.4321, True)
    page = report_pages.claims_page(tmp_path)
    row = next(line for line in page.splitlines() if line.startswith("| 5."))
    assert "-0.432" in row and "**yes**" in row and "mnist_embedded [3, 5]" in row
    assert "[§4](../notebooks/04_features.ipynb)" in row
    write_run(tmp_path, 0.1234, False)
    row = next(line for line in report_pages.claims_page(tmp_path).splitlines() if line.startswith("| 5."))
    assert "0.123" in row and "**no**" in row and "-0.432" not in row


def test_every_claim_is_listed_even_untested(tmp_path):
    write_run(tmp_path, 0.5, True)
    page = report_pages.claims_page(tmp_path)
    for number in range(1, 8):
        assert any(line.startswith(f"| {number}. ") for line in page.splitlines()), number
    assert page.count("not tested in this build") == 6


def test_reproducibility_page_reports_times_versions_and_data(tmp_path):
    write_run(tmp_path, 0.5, True)
    page = report_pages.reproducibility_page(tmp_path, "owner/repo")
    assert "| 12.5 |" in page and "| jax | 0.5.3 |" in page
    assert "https://colab.research.google.com/github/owner/repo/blob/main/notebooks/04_features.ipynb" in page
    assert "N_TRAIN: 800" in page
    from ntkcompanion import data

    assert data.embedded_provenance()["npz_sha256"] in page
