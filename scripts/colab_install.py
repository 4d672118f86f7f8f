#!/usr/bin/env python
"""Installs ntkcompanion on Colab at the commit a page was built from; returns the section's paper values.

Each notebook's Colab install cell fetches the repository at its ``commit`` (the book build writes the
commit that built the page there; ``None`` in the repository's notebooks: the default branch) into
``ntkcompanion-repo/``, then loads this file from that clone and calls :func:`install`, which

1. refuses a clone folder at another commit than the page's (left by an earlier session or another page),
   before anything is installed: delete the folder and run the cell again;
2. writes the clone's commit into ``ntkcompanion/_data/COMMIT``, installed with the package;
3. pip-installs ``JAX_REQUIREMENT`` (pyproject.toml's jax pin with CUDA 12 wheels) and the clone;
4. checks that Python imports the package at that commit (otherwise: restart the session, rerun the cell);
5. returns the section's block of the clone's ``params/paper.yaml``, which the cell puts over its parameters.

Standard library only at import time: this runs before the package and its dependencies are installed.
From a shell (a clone is fetched when the folder does not exist; prints the section's values as JSON)::

    python ntkcompanion-repo/scripts/colab_install.py --commit <40 hex digits> --section 03_transfer
"""

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = "https://github.com/ntkcompanion/ntkcompanion"
CLONE = "ntkcompanion-repo"
# pyproject.toml's jax pin, as the CUDA 12 build (tests/test_pins.py checks that they agree).
JAX_REQUIREMENT = "jax[cuda12]==0.5.3"
RESTART = "Runtime > Restart session"


class InstallError(RuntimeError):
    """The clone or the installed package is not the commit the page asks for; the message says what to do."""


def git(clone: str, *args: str) -> str:
    return subprocess.run(["git", "-C", clone, *args], check=True, capture_output=True, text=True).stdout.strip()


def fetch(clone: str, commit: str | None, repository: str = REPOSITORY) -> None:
    """Fetches ``commit`` (``None``: the default branch) of ``repository`` into a new folder ``clone``."""
    os.mkdir(clone)
    for args in (["init", "-q"], ["fetch", "-q", "--depth", "1", repository, commit or "HEAD"],
                 ["checkout", "-q", "FETCH_HEAD"]):
        git(clone, *args)


def stale_clone_message(clone: str, head: str, commit: str) -> str:
    return (f"{clone}/ holds commit {head}, but this page was built from {commit}: "
            f"delete the folder (!rm -rf {clone}) and run this cell again.")


def installed_commit() -> str | None:
    """The commit recorded in the ntkcompanion that Python imports (``None``: none, or one without a record)."""
    spec = importlib.util.find_spec("ntkcompanion")
    record = Path(spec.origin).with_name("_data") / "COMMIT" if spec and spec.origin else None
    return record.read_text().strip() if record and record.is_file() else None


def paper_values(clone: str, section: str) -> dict:
    """The section's block of ``<clone>/params/paper.yaml`` (PyYAML: a dependency, installed by now)."""
    import yaml

    profile = yaml.safe_load(Path(clone, "params", "paper.yaml").read_text())
    if section not in profile:
        raise InstallError(f"section {section!r} has no block in {clone}/params/paper.yaml; "
                           f"it has {', '.join(sorted(profile))}.")
    return profile[section]


def install(clone: str, commit: str | None, section: str, *, repository: str = REPOSITORY) -> dict:
    """Installs the package from ``clone`` at ``commit`` with a CUDA jax; returns ``section``'s paper values.

    ``clone`` is fetched from ``repository`` first when the folder does not exist. ``commit=None`` installs
    whatever the clone holds (the default branch when it was fetched here) and says so.
    """
    if not os.path.isdir(clone):
        fetch(clone, commit, repository)
    head = git(clone, "rev-parse", "HEAD")
    if commit and head != commit:
        raise InstallError(stale_clone_message(clone, head, commit))
    print(f"ntkcompanion {head}: " + ("the commit that built this page" if commit
                                       else "the default branch (this notebook pins no commit)"), flush=True)
    # A module imported before the install keeps its code until the session restarts.
    before = installed_commit() if "ntkcompanion" in sys.modules else head
    Path(clone, "ntkcompanion", "_data", "COMMIT").write_text(head)  # installed with the package, checked below
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", JAX_REQUIREMENT, str(Path(clone).resolve())],
                   check=True)
    importlib.invalidate_caches()
    if installed_commit() != head or before != head:
        raise InstallError(f"Python does not import ntkcompanion {head}: restart the session ({RESTART}) "
                           f"and run this cell again.")
    return paper_values(clone, section)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clone", default=CLONE, help=f"the clone folder (default {CLONE})")
    parser.add_argument("--commit", default=None, help="full commit hash to install (default: the default branch)")
    parser.add_argument("--section", required=True, help="the section's notebook stem, e.g. 03_transfer")
    parser.add_argument("--repository", default=REPOSITORY, help=f"repository URL (default {REPOSITORY})")
    args = parser.parse_args(argv)
    try:
        values = install(args.clone, args.commit, args.section, repository=args.repository)
    except InstallError as error:
        print(f"colab_install: {error}", file=sys.stderr)
        return 1
    print(json.dumps(values, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
