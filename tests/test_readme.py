"""The README's papermill commands run as written: each one, at the sizes it states, in a temporary directory.

Every ``papermill ...`` line in a fenced code block of README.md is a test case. It runs
through the papermill CLI with the notebook path taken from the repository, the output
notebook and ``OUTPUT_DIR`` redirected into a temporary directory (``--cwd`` there too),
and nothing else changed. A command whose ``DATASET`` is not on disk (a download the
test machine cannot make) is skipped, naming the missing files.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# A README example may take minutes on a 2-core CPU; longer than this is a failure in itself.
TIMEOUT_S = 900
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def papermill_commands(markdown: str) -> list[str]:
    """Every line of a fenced code block that starts with ``papermill`` (``\\`` continuations joined)."""
    commands = []
    for block in FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("papermill "):
                commands.append(line.strip())
    return commands


def runnable(command: str, workdir: Path) -> list[str]:
    """The command as an argument list: notebook from the repository, outputs into ``workdir``."""
    argv = shlex.split(command, comments=True)
    notebooks = [i for i, arg in enumerate(argv) if arg.endswith(".ipynb")]
    if len(notebooks) != 2:
        raise ValueError(f"expected an input and an output notebook in: {command}")
    source, output = notebooks
    argv[source] = str(ROOT / argv[source])
    argv[output] = str(workdir / Path(argv[output]).name)
    return ([sys.executable, "-m", "papermill"] + argv[1:]
            + ["-p", "OUTPUT_DIR", str(workdir / "results"), "--cwd", str(workdir), "--kernel", "python3"])


def dataset_of(argv: list[str]):
    """The ``DATASET`` a command sets (``-p DATASET x`` or ``-y "DATASET: x"``), else None."""
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-p", "--parameters", "-r", "--parameters_raw") and argv[i + 1] == "DATASET":
            return argv[i + 2]
        if arg in ("-y", "--parameters_yaml"):
            values = yaml.safe_load(argv[i + 1])
            if isinstance(values, dict) and "DATASET" in values:
                return values["DATASET"]
    return None


COMMANDS = papermill_commands(README.read_text())


def test_readme_has_papermill_examples():
    assert COMMANDS, "README.md shows no papermill command"


def test_extraction_and_redirection_on_a_planted_readme(tmp_path):
    planted = ("Intro `papermill inline.ipynb x.ipynb` is not a block.\n\n```bash\n"
               "papermill notebooks/01_a.ipynb out.ipynb -p N_TRAIN 5 \\\n  -y \"DATASET: cifar10\"  # a comment\n"
               "python scripts/build_book.py\n```\n\n"
               "```\npapermill notebooks/02_b.ipynb b.ipynb -p DATASET mnist\n```\n")
    commands = papermill_commands(planted)
    assert len(commands) == 2
    argv = runnable(commands[0], tmp_path)
    assert argv[3:5] == [str(ROOT / "notebooks" / "01_a.ipynb"), str(tmp_path / "out.ipynb")]
    assert "# a comment" not in " ".join(argv) and argv[argv.index("OUTPUT_DIR") + 1] == str(tmp_path / "results")
    assert dataset_of(argv) == "cifar10"
    assert dataset_of(runnable(commands[1], tmp_path)) == "mnist"
    with pytest.raises(ValueError, match="an input and an output notebook"):
        runnable("papermill notebooks/01_a.ipynb", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[f"readme{i + 1}" for i in range(len(COMMANDS))])
def test_readme_command_runs_as_written(command, tmp_path):
    argv = runnable(command, tmp_path)
    dataset = dataset_of(argv)
    if dataset is not None:
        from ntkcompanion.data import require_local

        try:
            require_local(dataset)
        except Exception as error:  # noqa: BLE001 - the reason is shown in the skip
            pytest.skip(f"DATASET = {dataset!r} is not on this machine: {error}")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"README command ran past {TIMEOUT_S} s: {command}")
    assert result.returncode == 0, f"README command failed: {command}\n{result.stderr[-3000:]}"
    assert (tmp_path / "results" / "metrics.json").exists(), "the run wrote no metrics.json"
