"""Bad input through the command lines a reader types: ``build_book.py -p`` in-process, papermill as probes.

The rules themselves are tested in-process (``test_parameters``, ``test_sections``, ``test_data_npz``,
``test_cache``); these check that the two command lines deliver them: one line, naming the value,
before any work.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


build_book = load_script("build_book")


@pytest.mark.parametrize("raw", ["[0.1", "{a: 1", "'open"])
def test_build_book_names_a_value_that_is_not_yaml(raw, capsys, tmp_path):
    code = build_book.main(["--profile", "smoke", "--sections", "01_ntk_primer", "--check", "--out", str(tmp_path),
                            "-p", "EPS", raw])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"build_book: -p EPS {raw!r}: the value is not valid YAML ("), err


def test_build_book_values_are_yaml():
    assert build_book.parse_overrides([["EPS", "0.1"], ["03_transfer:WIDTHS", "[8, 64]"], ["DATASET", "cifar10"]]) == [
        (None, "EPS", 0.1), ("03_transfer", "WIDTHS", [8, 64]), (None, "DATASET", "cifar10")]
    # YAML 1.1, as papermill reads -y: a leading zero is octal (README, "Parameters").
    assert build_book.parse_overrides([["N_TRAIN", "060"]]) == [(None, "N_TRAIN", 48)]


def test_build_book_suggests_the_name_in_capitals(capsys, tmp_path):
    code = build_book.main(["--profile", "smoke", "--sections", "01_ntk_primer", "--check", "--out", str(tmp_path),
                            "-p", "n_train", "50"])
    assert code == 1
    assert "no section being built declares a parameter 'n_train' (names are case-sensitive: did you mean " \
           "N_TRAIN?)" in capsys.readouterr().err


def papermill(cwd, output, *args, timeout=300):
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "01_ntk_primer.ipynb"), str(output),
               *args, "--kernel", "python3", "--cwd", str(cwd)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _executed(output) -> list:
    """Indices of the code cells that ran."""
    cells = json.loads(Path(output).read_text())["cells"]
    return [i for i, c in enumerate(cells) if c["cell_type"] == "code" and c.get("execution_count")]


@pytest.mark.slow
@pytest.mark.parametrize("args,message", [
    (["-p", "n_train", "50"], "unknown name n_train: not a parameter of this section; names are case-sensitive "
                              "(did you mean N_TRAIN?)"),
    (["-p", "OUTPUT_DIR", "taken"], "OUTPUT_DIR = 'taken' is not allowed: expected a folder for metrics.json"),
])
def test_papermill_stops_in_setup(args, message, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    started = time.time()
    result = papermill(tmp_path, tmp_path / "out.ipynb", *args)
    assert result.returncode != 0 and message in result.stderr + result.stdout, result.stderr[-2000:]
    cells = json.loads((tmp_path / "out.ipynb").read_text())["cells"]
    setup = next(i for i, c in enumerate(cells) if "sections.setup(" in "".join(c["source"]))
    assert max(_executed(tmp_path / "out.ipynb")) <= setup  # no cell after setup ran
    assert time.time() - started < 120
