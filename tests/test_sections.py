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

from ntkcompanion import cost, parameters, sections
from ntkcompanion.parameters import ParameterError
from ntkcompanion.cost import _memory as m

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GIB = 2**30


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


def drift(section, in_notebook) -> dict:
    """``{NAME: (notebook value, declared default)}`` where they differ, in value or in type (1 vs 1.0)."""
    declared = sections.defaults(section)
    missing = object()
    return {name: (in_notebook.get(name, missing), declared.get(name, missing))
            for name in [*declared, *(n for n in in_notebook if n not in declared)]
            if name not in in_notebook or name not in declared or in_notebook[name] != declared[name]
            or type(in_notebook[name]) is not type(declared[name])}


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_notebook_defaults_equal_the_declarations(section):
    """One source per parameter: the parameters cell assigns every declared name its declared default."""
    in_notebook = notebook_parameters(section)
    assert list(in_notebook) == [d.name for d in sections.declarations(section)]  # same names, same order
    assert drift(section, in_notebook) == {}


def test_a_drifted_notebook_default_is_caught():
    cell = notebook_parameters("02_training_free_attacks")
    assert drift("02_training_free_attacks", cell | {"EPS_LIST": [0.05, 0.1, 0.2]}) == {
        "EPS_LIST": ([0.05, 0.1, 0.2], [0.05, 0.2])}
    assert set(drift("02_training_free_attacks", cell | {"N_TRAIN": 60.0, "EXTRA": 1})) == {"N_TRAIN", "EXTRA"}


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
        with pytest.raises(ParameterError, match=f"^unknown name {misspelled}: not a parameter of this section "
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
    ("08_adversarial_training", {"LAZY_THRESHOLD": 5}, "unknown name LAZY_THRESHOLD: not a parameter of this section"),
    ("08_adversarial_training", {"WIDTH": 32.5, "NETWORK": "mlp"}, "WIDTH = 32.5 is not allowed: expected an integer"),
    ("08_adversarial_training", {"EPOCHS": 0}, "EPOCHS = 0"),
    ("01_ntk_primer", {"N_TRAINS": 50}, "unknown name N_TRAINS: not a parameter of this section (did you mean "
                                        "N_TRAIN?)"),
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
    # Issue 20: grids and lists that were accepted and silently mis-read.
    ("03_transfer", {"WIDTHS": [512, 64, 8]}, "WIDTHS = [512, 64, 8] is not allowed: expected a strictly increasing"),
    ("03_transfer", {"WIDTHS": [8, 8]}, "WIDTHS = [8, 8] is not allowed: expected distinct items"),
    ("01_ntk_primer", {"ARCHITECTURES": ["fc", "fc"]},
     "ARCHITECTURES = ['fc', 'fc'] is not allowed: expected distinct"),
    ("02_training_free_attacks", {"EPS_LIST": [0.1, 0.1]}, "EPS_LIST = [0.1, 0.1] is not allowed: expected distinct"),
    ("01_ntk_primer", {"n_train": 50}, "unknown name n_train: not a parameter of this section; names are "
                                       "case-sensitive (did you mean N_TRAIN?)"),
    ("01_ntk_primer", {"N_train": 50}, "unknown name N_train:"),
    # Issue 20: values that were clamped silently are refused with the bound known at setup.
    ("05_learned_early", {"N_K": 1000}, "N_K = 1000 is not allowed: expected at most N_TRAIN = 60"),
    ("04_eigen_features", {"N_LEADING": 1000}, "N_LEADING = 1000 is not allowed: expected at most N_TRAIN = 60"),
    ("06_consistency", {"N_LEADING": 1000}, "N_LEADING = 1000 is not allowed: expected at most N_TRAIN = 20"),
    ("07_seeing_features", {"N_LEADING": 1000}, "N_LEADING = 1000 is not allowed: expected at most N_TRAIN - 1 = 59"),
    ("08_adversarial_training", {"KERNEL_BATCH_SIZE": 100000},
     "KERNEL_BATCH_SIZE = 100000 is not allowed: expected at most N_SNAPSHOT = 10"),
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
    with pytest.raises(cost.InsufficientMemoryError, match=r"^This run \(largest allocation: the empirical "
                                                                r"NTK .*lower WIDTHS"):
        sections.setup("01_ntk_primer", values, display=False, available=1 * GIB)


def test_memory_error_names_estimate_available_knobs_and_override(monkeypatch):
    values = sections.defaults("06_consistency") | {"N_TRAIN": 2000, "N_TEST": 800, "DOWNSAMPLE": 1}
    with pytest.raises(cost.InsufficientMemoryError) as error:
        sections.setup("06_consistency", values, display=False, available=8 * GIB)
    text = str(error.value)
    assert re.search(r"needs about [\d.]+ [TGP]B of memory, more than the 8\.6 GB available: lower "
                     r"FEATURE_CHUNK, POINT_CHUNK", text), text
    assert "NTKCOMPANION_SKIP_MEMORY_CHECK=1" in text
    monkeypatch.setenv("NTKCOMPANION_SKIP_MEMORY_CHECK", "1")
    sections.setup("06_consistency", values, display=False, available=8 * GIB)


def test_check_memory_and_host_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("NTKCOMPANION_SKIP_MEMORY_CHECK", raising=False)
    cost.check_memory(10, ["N"], available=10)
    with pytest.raises(cost.InsufficientMemoryError, match=r"^Kernels needs about 2\.0 kB of memory, more "
                                                                r"than the 1\.0 kB available: lower N, M\."):
        cost.check_memory(2000, ["N", "M"], what="Kernels", available=1000)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemAvailable:     250 kB\n")
    assert cost.host_memory_bytes(meminfo) == 250 * 1024
    assert cost.format_bytes(29.8e9) == "29.8 GB"


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


# --- issue 20: list rules, names in any letter case, the output folder ---------------------------------------

# Lists whose repeats mean something: one entry per architecture, an architecture may repeat its depth.
REPEATS_ALLOWED = {"DEPTHS", "ATTACKED"}


def list_declarations():
    return [(section, d) for section in sections.SECTIONS for d in sections.declarations(section) if d.kind == "list"]


def test_every_list_parameter_has_an_order_rule():
    """Each list either forbids repeats or is one whose repeats mean something; numeric grids are increasing."""
    for section, d in list_declarations():
        if d.name in REPEATS_ALLOWED:
            assert not (d.distinct or d.increasing), (section, d.name)
            continue
        assert d.distinct or d.increasing, (section, d.name)
        if d.item.kind in ("int", "float"):
            assert d.increasing, (section, d.name)


def _an_item(d, default):
    return default[0] if default else 0  # an empty class list: class 0 exists in every dataset


@pytest.mark.parametrize("section,name", [(s, d.name) for s, d in list_declarations()
                                          if d.name not in REPEATS_ALLOWED])
def test_sweep_duplicates_and_non_monotone_grids(section, name, clean_dir):
    base = defaults(section)
    d = next(d for d in sections.declarations(section) if d.name == name)
    x = _an_item(d, base[name])
    with pytest.raises(ParameterError, match=rf"^{name} = .* is not allowed: expected distinct items"):
        sections.setup(section, base | {name: [x, x]}, display=False)
    grid = base[name]
    if d.increasing:
        assert len(grid) >= 2, "a grid default needs two points to test its order"
        with pytest.raises(ParameterError, match=rf"^{name} = .* is not allowed: expected a strictly increasing"):
            sections.setup(section, base | {name: grid[::-1]}, display=False)


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_sweep_names_in_other_letter_case(section, clean_dir):
    """``-p n_train 50`` adds a variable ``n_train`` next to ``N_TRAIN``: every such spelling is refused."""
    base = defaults(section)
    for d in sections.declarations(section):
        for spelling in {d.name.lower(), d.name[0] + d.name[1:].lower(), d.name.capitalize()} - {d.name}:
            with pytest.raises(ParameterError, match=rf"^unknown name {spelling}: .*case-sensitive \(did you mean "
                                                     rf"{d.name}\?\)"):
                sections.setup(section, base | {spelling: base[d.name]}, display=False)
    assert sorted(os.listdir(clean_dir)) == []


def test_output_dir_that_is_a_file_is_refused_before_any_work(clean_dir):
    (clean_dir / "taken").write_text("a file")
    base = defaults("01_ntk_primer")
    with pytest.raises(ParameterError, match=r"^OUTPUT_DIR = 'taken' is not allowed: expected a folder for "
                                             r"metrics.json, but .*taken is an existing file\.$"):
        sections.setup("01_ntk_primer", base | {"OUTPUT_DIR": "taken"}, display=False)
    with pytest.raises(ParameterError, match=r"^OUTPUT_DIR = 'taken/results' is not allowed: .*taken is a file, so "
                                             r"no folder can be made under it"):
        sections.setup("01_ntk_primer", base | {"OUTPUT_DIR": "taken/results"}, display=False)
    sections.setup("01_ntk_primer", base | {"OUTPUT_DIR": "new/deeper/results"}, display=False)
    assert sorted(os.listdir(clean_dir)) == ["taken"]  # nothing created by the check


def test_unwritable_output_dir_is_refused_before_any_work(clean_dir, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(ParameterError, match=r"^OUTPUT_DIR = 'results/x' is not allowed: expected a folder this run "
                                             r"can write to, but .* cannot be written \(Read-only file system\)"):
        sections.setup("01_ntk_primer", defaults("01_ntk_primer") | {"OUTPUT_DIR": "results/x"}, display=False)


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_profile_block_passes_its_section_checks(profile):
    """The new list and bound rules hold for the values the book is built with (no download: metadata only)."""
    import yaml

    blocks = yaml.safe_load((NOTEBOOKS.parent / "params" / f"{profile}.yaml").read_text()) or {}
    for section in sections.SECTIONS:
        mod = sections.module(section)
        parameters.validate(mod.PARAMETERS, sections.defaults(section) | (blocks.get(section) or {}), mod.CHECKS)


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_no_name_a_notebook_defines_before_setup_looks_like_a_parameter(section):
    """Imports and variables before ``setup`` (``data``, ``np``) must not be a declared name in other letter case."""
    import ast

    nb = nbformat.read(NOTEBOOKS / f"{section}.ipynb", as_version=4)
    names = set()
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        if "sections.setup(" in cell.source:
            break
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    declared = {d.name for d in sections.declarations(section)}
    own = {n: None for n in names if n not in declared}
    assert own, "the cells before setup import something"
    parameters.check_names(sections.declarations(section), own)
