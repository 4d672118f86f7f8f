"""The claims and reproducibility pages, and the verdict figure, are computed from the run's records."""

import json
from pathlib import Path

from ntkcompanion import evidence as ev

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
report_pages = load_script("report_pages")

PARAMETERS = {"DATASET": "mnist_embedded", "CLASSES": [3, 5], "N_TRAIN": 800}
AUTHORS = {"DATASET": "cifar10", "CLASSES": ["airplane", "automobile"], "ARCHITECTURE": "fc", "DEPTH": 1,
           "N_TRAIN": 2000, "N_TEST": 100, "EPS": 8 / 255}


def rho_verdict(estimate, ci):
    return ev.make_verdict(5, "ρ(index, γ) among useful features", "Spearman ρ of index and PGD γ", estimate, ci,
                           threshold=0.0, direction="below", control="no order (ρ = 0)", control_value=0.0, n=40)


def write_run(results: Path, verdicts, parameters=PARAMETERS, section="04_eigen_features"):
    (results / section).mkdir(parents=True, exist_ok=True)
    (results / "build.json").write_text(json.dumps(
        {"profile": "quick", "sections": {section: {"seconds": 12.5, "parameters": {}}}}))
    record = {
        "section": section,
        "parameters": parameters,
        "environment": {"packages": {"jax": "0.5.3"}, "python": "3.11", "platform": "linux",
                        "backend": "cpu", "devices": ["cpu:cpu"]},
        "metrics": {},
        "verdicts": [v.to_dict() for v in verdicts],
    }
    (results / section / "metrics.json").write_text(json.dumps(record))


def summary_row(page, claim):
    return [line for line in page.splitlines() if line.startswith(f"| {claim} |")]


def test_claims_page_follows_the_verdicts(tmp_path):
    write_run(tmp_path, [rho_verdict(-0.4321, (-0.6, -0.2))])
    page = report_pages.claims_page(tmp_path)
    (row,) = summary_row(page, 5)
    assert "-0.432 [-0.6, -0.2]" in row and "**supported**" in row
    assert "[§4](../notebooks/04_eigen_features.ipynb)" in row
    assert "Spearman ρ of index and PGD γ" in page and "Control: no order (ρ = 0) = 0" in page
    assert "mnist_embedded [3, 5]" in page and ev.Reason.BELOW in page
    write_run(tmp_path, [rho_verdict(0.1234, (-0.1, 0.3))])
    page = report_pages.claims_page(tmp_path)
    (row,) = summary_row(page, 5)
    assert "0.123" in row and "**undetermined**" in row and "-0.432" not in page
    assert ev.Reason.STRADDLES in page


def test_claims_without_verdicts_are_not_yet_reported(tmp_path):
    write_run(tmp_path, [rho_verdict(-0.4, (-0.6, -0.2))])
    page = report_pages.claims_page(tmp_path)
    for claim in (1, 2, 3, 4, 6, 7):
        (row,) = summary_row(page, claim)
        assert report_pages.NOT_REPORTED in row
    write_run(tmp_path, [])                                # a section that records no verdicts at all
    page = report_pages.claims_page(tmp_path)
    assert all(report_pages.NOT_REPORTED in summary_row(page, c)[0] for c in range(1, 8))


def test_authors_numbers_beside_a_matching_run_only(tmp_path):
    verdict = ev.make_verdict(3, "head − tail robust accuracy", "words", 0.3, (0.2, 0.4), threshold=0.0,
                              control="tail", control_value=0.0, n=100)
    write_run(tmp_path, [verdict], parameters=AUTHORS)
    page = report_pages.claims_page(tmp_path)
    assert "same set-up as [§4]" in page and "1: 0.68/0.49" in page
    write_run(tmp_path, [verdict])
    page = report_pages.claims_page(tmp_path)
    assert "same set-up" not in page and "authors' set-up: FC-1 NTK" in page and "1: 0.68/0.49" in page


def test_verdict_figure_is_written(tmp_path):
    write_run(tmp_path, [rho_verdict(-0.4, (-0.6, -0.2)), ev.make_verdict(
        1, "gap to noise at ε½", "words", float("nan"), (float("nan"), float("nan")), threshold=0.1,
        control="noise", control_value=0.9, n=10)])
    path = report_pages.claims_figure(tmp_path, tmp_path / "book" / report_pages.FIGURE)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert f"{{figure}} {report_pages.FIGURE}" in report_pages.claims_page(tmp_path)
    assert f"{{figure}} {report_pages.FIGURE}" in (ROOT / "book" / "intro.md").read_text()


def test_reproducibility_page_reports_times_versions_and_data(tmp_path):
    write_run(tmp_path, [])
    page = report_pages.reproducibility_page(tmp_path, "owner/repo")
    assert "| 12.5 |" in page and "| jax | 0.5.3 |" in page
    assert "https://colab.research.google.com/github/owner/repo/blob/main/notebooks/04_eigen_features.ipynb" in page
    assert "N_TRAIN: 800" in page
    from ntkcompanion import data

    assert data.embedded_provenance()["npz_sha256"] in page
