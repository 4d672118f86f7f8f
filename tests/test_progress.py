"""Progress bars: plain text, switched off by NTKCOMPANION_PROGRESS=0, never a TqdmWarning."""

import io
import warnings

import pytest
from tqdm import TqdmWarning

from ntkcompanion import progress


@pytest.mark.parametrize("value, shown", [(None, True), ("1", True), ("0", False), (" 0 ", False)])
def test_environment_switch(monkeypatch, value, shown):
    if value is None:
        monkeypatch.delenv(progress.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(progress.ENV_VAR, value)
    out = io.StringIO()
    assert list(progress.bar(range(3), desc="work", file=out)) == [0, 1, 2]
    assert progress.enabled() is shown
    assert ("work" in out.getvalue()) is shown


def test_disable_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(progress.ENV_VAR, "1")
    out = io.StringIO()
    with progress.bar(total=4, file=out, disable=True) as bar:
        bar.update(4)
    assert out.getvalue() == ""


def test_text_bar_and_tqdm_warnings_silenced(monkeypatch):
    monkeypatch.setenv(progress.ENV_VAR, "1")
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:  # keeps the filters the module installed
        with progress.bar(total=4, desc="steps", file=out) as bar:
            bar.update(4)
            warnings.warn("a tqdm warning, as tqdm itself raises them", TqdmWarning)
        warnings.warn("other warnings still show", UserWarning)
    assert [w.category for w in caught] == [UserWarning]
    assert "steps" in out.getvalue() and "4/4" in out.getvalue()
    assert "█" not in out.getvalue()  # ascii bar
