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


@pytest.fixture(scope="session")
def cifar_like_npz(tmp_path_factory):
    """A CIFAR-shaped dataset file (32 x 32 x 3 uint8, the ten CIFAR-10 class names, 300 train
    and 100 test synthetic images with class-dependent patterns); see tests/_datasets.py."""
    from _datasets import write_cifar_like_npz

    return write_cifar_like_npz(tmp_path_factory.mktemp("datasets") / "cifar_like.npz")


@pytest.fixture(scope="session")
def official_files() -> Path:
    """The official MNIST / Fashion-MNIST files, laid out as DEST/<dataset>/<name>.gz.

    From $NTKCOMPANION_TEST_DATA (set by the Makefile and CI), else provisioned here
    into a cache dir. Failing to get them fails the tests that need them: skipping
    would hide exactly the checks they exist for.
    """
    dest = os.environ.get("NTKCOMPANION_TEST_DATA")
    if not dest:
        import pooch

        dest = str(Path(pooch.os_cache("ntkcompanion")) / "test-data")
    provision = ROOT / "scripts" / "provision_test_data.sh"
    result = subprocess.run(["bash", str(provision), dest], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"Could not provision the official MNIST/Fashion-MNIST files into {dest} "
                    f"with {provision} (exit {result.returncode}):\n{result.stderr}\n"
                    f"Run it by hand, or set NTKCOMPANION_TEST_DATA to a directory that "
                    f"holds them.")
    return Path(dest)
