"""Every section's declared parameters: bad values of each kind stop `setup` fast, naming the parameter.

The sweep builds, for every declared parameter, a wrong type, values just below and above its
bounds, bad list items and lengths, and a misspelled name, and runs each through
``sections.setup`` on the section's defaults (the notebook's parameters cell when its names
match the declaration, else the declaration's own smoke-sized defaults).
"""

import os
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ntkcompanion import cost, parameters, resources, sections
from ntkcompanion.parameters import ParameterError
from ntkcompanion.cost import _memory as m

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GIB = 2**30
LEGACY = {"PGD_STEP", "PGD_STEP_SIZE", "PGD_STEPS", "STEP_SIZE", "STEPS", "EVAL_STEPS"}


def notebook_parameters(section):
    """``{NAME: value}`` assigned in the notebook's ``parameters`` cell."""
    nb = nbformat.read(NOTEBOOKS / f"{section}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace = {}
    exec(cell.source, {}, namespace)
    return {k: v for k, v in namespace.items() if parameters._UPPER_CASE.match(k)}


def defaults(section):
    declared = sections.defaults(section)
    in_notebook = notebook_parameters(section)
    return in_notebook if set(in_notebook) == set(declared) else declared


@pytest.fixture
def clean_dir(tmp_path, monkeypatch):
    """An empty working directory and cache: the sweep must leave both empty."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _bad_scalars(d):
    """``(value, name the error must start with)`` of wrong type and out of range for a scalar declaration."""
    bad = {"int": ["x", 2.5, True], "float": ["x", True, float("nan")], "bool": [1, "yes"], "str": [5, ""],
           "choice": ["no-such-choice", list(d.choices or ())], "class": [-1, True, 2.5]}[d.kind]
    if d.kind == "int":
        if d.low is not None:
            bad.append(d.low - 1)
        if d.high is not None:
            bad.append(d.high + 1)
    if d.kind == "float":
        if d.low is not None:
            bad.append(d.low if d.low_open else d.low - 0.5)
        if d.high is not None:
            bad.append(d.high if d.high_open else d.high + 0.5)
    if not d.allow_none:
        bad.append(None)
    return bad


def bad_values(d, default):
    """Every ``(value, name)`` pair for declaration ``d``: the error must name ``name``."""
    if d.kind != "list":
        return [(v, d.name) for v in _bad_scalars(d)]
    good_item = default[0] if default else d.item.default if d.item.default is not None else None
    out = [("abc", d.name), (7, d.name)]
    if not d.allow_empty and not d.min_len == 0:
        out.append(([], d.name))
    if d.max_len is not None and good_item is not None:
        out.append(([good_item] * (d.max_len + 1), d.name))
    rest = list(default[1:]) if default else []  # keep the length valid: only the item is wrong
    out += [([v] + rest, f"{d.name}[0]") for v in _bad_scalars(d.item) if v is not None]
    return out


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_defaults_pass(section, clean_dir):
    p = sections.setup(section, defaults(section), display=False)
    assert set(p.as_dict()) == {d.name for d in sections.declarations(section) if d.shown}
    assert "OUTPUT_DIR" not in p.as_dict() and p.output_dir == defaults(section)["OUTPUT_DIR"]
    assert cost.peak_memory_bytes(section, p) > 0 and cost.estimate(section, p).flops > 0


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_notebook_declares_what_the_section_declares(section):
    in_notebook = notebook_parameters(section)
    if LEGACY & set(in_notebook):
        pytest.skip("the notebook still uses the old knob names")
    assert set(in_notebook) == {d.name for d in sections.declarations(section)}


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_every_bad_value_stops_naming_the_parameter(section, clean_dir):
    base = defaults(section)
    started, tried = time.time(), 0
    for d in sections.declarations(section):
        for value, name in bad_values(d, base[d.name]):
            with pytest.raises(ValueError) as error:
                sections.setup(section, base | {d.name: value}, display=False)
            assert str(error.value).startswith(f"{name} = "), (d.name, value, str(error.value))
            tried += 1
        misspelled = d.name + "S" if not d.name.endswith("S") else d.name[:-1]
        with pytest.raises(ParameterError, match=f"^{misspelled} is not a parameter of this section "
                                                 rf"\(did you mean {d.name}"):
            sections.setup(section, base | {misspelled: base[d.name]}, display=False)
        tried += 1
    assert tried >= 5 * len(sections.declarations(section))
    assert time.time() - started < 10
    assert sorted(os.listdir(clean_dir)) == []  # nothing written: no output dir, no cache


# Issue 15's bad inputs, in the new knob vocabulary; each must fail in setup, naming the parameter.
REGRESSIONS = [
    ("01_ntk_primer", {"WIDTHS": [100000000]}, "WIDTHS[0] = 100000000"),
    ("08_adversarial_training", {"WIDTH": 100000000}, "WIDTH = 100000000"),
    ("03_transfer", {"TRAIN_STEPS": 100000000}, "TRAIN_STEPS = 100000000"),
    ("05_learned_early", {"N_TIMES": 100000000}, "N_TIMES = 100000000"),
    ("02_training_free_attacks", {"N_SHOW": 1000}, "N_SHOW = 1000"),
    ("04_eigen_features", {"N_BINS": 1000}, "N_BINS = 1000"),
    ("04_eigen_features", {"N_EXAMPLES": 1000}, "N_EXAMPLES = 1000"),
    ("04_eigen_features", {"N_EXAMPLES": 12, "N_TRAIN": 10, "N_BINS": 5},
     "N_EXAMPLES = 12 is not allowed: expected at most N_TRAIN"),
    ("06_consistency", {"N_AGREEMENT": 100000000}, "N_AGREEMENT = 100000000"),
    ("08_adversarial_training", {"BATCH_SIZE": 500, "N_TRAIN": 200},
     "BATCH_SIZE = 500 is not allowed: expected at most N_TRAIN = 200"),
    # The evidence layer owns laziness now: a threshold passed to the section is an unknown name.
    ("08_adversarial_training", {"LAZY_THRESHOLD": 5}, "LAZY_THRESHOLD is not a parameter of this section"),
    ("08_adversarial_training", {"WIDTH": 32.5, "NETWORK": "mlp"}, "WIDTH = 32.5 is not allowed: expected an integer"),
    ("08_adversarial_training", {"EPOCHS": 0}, "EPOCHS = 0"),
    ("01_ntk_primer", {"N_TRAINS": 50}, "N_TRAINS is not a parameter of this section (did you mean N_TRAIN?)"),
    ("01_ntk_primer", {"N_TRAIN": 100000, "CLASSES": [3, 5]}, "N_TRAIN = 100000 is not allowed: expected at most"),
    ("07_seeing_features", {"MULTI_CLASSES": [1, 2]}, "MULTI_CLASSES = [1, 2] is not allowed"),
    ("02_training_free_attacks", {"CLASSES": [3, 12]}, "CLASSES = [3, 12] is not allowed"),
    ("02_training_free_attacks", {"N_TEST_MULTI": 10**5}, "N_TEST_MULTI = 100000 is not allowed: expected at most"),
    ("03_transfer", {"OPTIMISER": "sgd", "BATCH_SIZE": 7, "N_TRAIN": 40}, "BATCH_SIZE = 7 is not allowed"),
    ("06_consistency", {"DEPTHS": [1, 1]}, "DEPTHS = [1, 1] is not allowed: expected a list with one entry"),
    ("06_consistency", {"DEPTHS": [1, 1, 6]}, "DEPTHS[2] = 6 is not allowed: expected one of 5, 7, 10"),
    ("08_adversarial_training", {"SWITCH_EPOCHS": [3], "EPOCHS": 2}, "SWITCH_EPOCHS[0] = 3"),
    ("08_adversarial_training", {"LINEARISED_MODES": ["fgsm"], "MODES": ["standard", "pgd"]},
     "LINEARISED_MODES[0] = 'fgsm'"),
    ("02_training_free_attacks", {"EPS": 2.0, "NORM": "linf"}, "EPS = 2.0 is not allowed"),
    ("01_ntk_primer", {"DATASET": "no_such_data"}, "DATASET = 'no_such_data' is not allowed"),
]


@pytest.mark.parametrize("section,change,message", REGRESSIONS)
def test_issue_15_bad_inputs(section, change, message, clean_dir):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        sections.setup(section, sections.defaults(section) | change, display=False, available=24 * GIB)


def test_the_readme_example_fits_in_blocks():
    values = sections.defaults("01_ntk_primer") | {"N_TRAIN": 500, "WIDTHS": [64, 1024, 4096]}
    p = sections.setup("01_ntk_primer", values, display=False, available=24 * GIB)
    # The conv net of width 4096 has ~1.5e8 parameters: 16 images at once do not fit in half of 24 GiB.
    assert 1 <= p.ntk_batch_size < 16
    assert cost.peak_memory_bytes("01_ntk_primer", p) <= 24 * GIB
    roomy = sections.setup("01_ntk_primer", values, display=False, available=1000 * GIB)
    assert roomy.ntk_batch_size == 16  # min(BATCH_SIZE, N_KERNEL): memory is no longer the bound
    with pytest.raises(resources.InsufficientMemoryError, match=r"^This run \(largest allocation: the empirical "
                                                                r"NTK .*lower WIDTHS"):
        sections.setup("01_ntk_primer", values, display=False, available=1 * GIB)


def test_memory_error_names_estimate_available_knobs_and_override(monkeypatch):
    values = sections.defaults("06_consistency") | {"N_TRAIN": 2000, "N_TEST": 800, "DOWNSAMPLE": 1}
    with pytest.raises(resources.InsufficientMemoryError) as error:
        sections.setup("06_consistency", values, display=False, available=8 * GIB)
    text = str(error.value)
    assert re.search(r"needs about [\d.]+ [TGP]B of memory, more than the 8\.6 GB available: lower "
                     r"FEATURE_CHUNK, POINT_CHUNK", text), text
    assert "NTKCOMPANION_SKIP_MEMORY_CHECK=1" in text
    monkeypatch.setenv("NTKCOMPANION_SKIP_MEMORY_CHECK", "1")
    sections.setup("06_consistency", values, display=False, available=8 * GIB)


def test_check_memory_and_host_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("NTKCOMPANION_SKIP_MEMORY_CHECK", raising=False)
    resources.check_memory(10, ["N"], available=10)
    with pytest.raises(resources.InsufficientMemoryError, match=r"^Kernels needs about 2\.0 kB of memory, more "
                                                                r"than the 1\.0 kB available: lower N, M\."):
        resources.check_memory(2000, ["N", "M"], what="Kernels", available=1000)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemAvailable:     250 kB\n")
    assert resources.host_memory_bytes(meminfo) == 250 * 1024
    assert resources.format_bytes(29.8e9) == "29.8 GB"


def count_parameters(init_fn, input_shape) -> int:
    """Parameters of a stax network, from shapes only (``jax.eval_shape``: nothing is computed)."""
    import jax

    params = jax.eval_shape(lambda key: init_fn(key, input_shape)[1], jax.random.PRNGKey(0))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params))


@pytest.mark.parametrize("architecture,depth,shape", [("fc", 2, (6, 5, 1)), ("conv", 2, (6, 5, 2)),
                                                      ("myrtle", 5, (8, 8, 3))])
def test_parameter_counts_match_the_networks(architecture, depth, shape):
    from ntkcompanion import architectures

    init_fn, _, _ = architectures.build(architecture, depth, width=7, out_dim=3)
    counted = count_parameters(init_fn, (1,) + shape)
    assert m.n_params(architecture, depth, 7, shape, 3) == counted


@pytest.mark.parametrize("network,width,depth", [("mlp", 9, 2), ("cnn", 0.25, 2), ("cnn", 0.5, 3)])
def test_trained_parameter_counts_match_the_networks(network, width, depth):
    from ntkcompanion import architectures

    init_fn, _, _ = architectures.build(network, depth, width=width, out_dim=10)
    counted = count_parameters(init_fn, (1, 28, 28, 1))
    assert m.trained_params(network, width, depth, (28, 28, 1), 10) == counted


def test_peak_counts_kept_allocations_and_the_largest_transient():
    a = [m.Allocation("kept", 5, ("N",), kept=True, host=True), m.Allocation("t1", 7, ("B",)),
         m.Allocation("t2", 3, ("C",), host=True)]
    assert m.peak(a) == (12, a[1])
    assert m.peak(a, host=True) == (8, a[0])
    assert m.peak(a, host=False) == (7, a[1])
    assert m.largest_fitting_block(params=10, acts=0, limit=8, budget=4 * 3 * 10 * 5) == 5
    assert m.largest_fitting_block(params=10, acts=0, limit=8, budget=1) == 1


def test_table_is_shown_once_with_values_and_meanings(capsys, clean_dir):
    p = sections.setup("03_transfer", sections.defaults("03_transfer"))
    shown = capsys.readouterr().out
    assert shown.count("TRAIN_STEPS") == 1 and "gradient-descent steps" in shown
    assert "OUTPUT_DIR" not in shown and "results/" not in shown
    html = p._repr_html_()
    assert html.startswith('<table class="ntkc-parameters">') and html.count("<tr>") == len(p.as_dict()) + 1
    assert "| `TRAIN_STEPS` |" not in p._repr_markdown_() and "| TRAIN_STEPS | `50` |" in p._repr_markdown_()
    assert p.started <= time.time() and p.elapsed() >= 0
