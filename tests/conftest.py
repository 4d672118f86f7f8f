"""Shared fixtures: the book, built once per session at the smoke profile."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mathjax_dir():
    """MathJax 3 for the offline book, provisioned from the npm registry once and cached."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = Path(os.environ.get("NTKCOMPANION_MATHJAX", cache / "ntkcompanion" / "mathjax-3.2.2"))
    result = subprocess.run(["bash", str(ROOT / "scripts" / "provision_mathjax.sh"), str(target)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"could not provision MathJax:\n{result.stderr}"
    return target


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, mathjax_dir):
    """Executes every section at the smoke profile and renders the book; returns its ``_build``.

    With ``NTKCOMPANION_BUILT_BOOK=<dir>/_build`` the tests check that existing build instead
    (for example the quick-profile book in a real browser: ``pytest tests/test_browser.py``).
    """
    existing = os.environ.get("NTKCOMPANION_BUILT_BOOK")
    if existing:
        return Path(existing)
    out = tmp_path_factory.mktemp("book")
    command = [sys.executable, str(ROOT / "scripts" / "build_book.py"), "--profile", "smoke",
               "--out", str(out), "--mathjax", str(mathjax_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build"
