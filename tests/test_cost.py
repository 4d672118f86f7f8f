"""The cost model: monotone in sizes, scaled by the device, finite for every section's paper profile, glued by setup."""

import ast
import math
from pathlib import Path

import pytest

from ntkcompanion import cost, sections
from ntkcompanion.cost import __main__ as cli

GIB = 2**30
SLOW = cost.Device("a slow device", 1e12, 100e9, 16e9)
FAST = cost.Device("a fast device", 10e12, 1000e9, 16e9)


def values(section, **change):
    return sections.defaults(section) | change


@pytest.mark.parametrize("section,name,small,large", [
    ("01_ntk_primer", "N_TRAIN", 40, 400), ("01_ntk_primer", "WIDTHS", [16], [16, 4096]),
    ("04_eigen_features", "N_TRAIN", 60, 600), ("02_training_free_attacks", "N_TRAIN", 60, 300),
    ("07_seeing_features", "N_PERMUTATIONS", 20, 2000), ("04_eigen_features", "N_PERMUTATIONS", 20, 2000)])
def test_estimate_grows_with_sizes(section, name, small, large):
    a = cost.estimate(section, values(section, **{name: small}), SLOW)
    b = cost.estimate(section, values(section, **{name: large}), SLOW)
    assert b.flops > a.flops and b.seconds > a.seconds and b.peak_bytes >= a.peak_bytes


def test_runtime_scales_with_the_device_peak():
    p = values("01_ntk_primer", N_TRAIN=400, WIDTHS=[64, 1024])
    slow, fast = cost.estimate("01_ntk_primer", p, SLOW), cost.estimate("01_ntk_primer", p, FAST)
    assert slow.flops == fast.flops
    work_slow, work_fast = slow.seconds - cost.OVERHEAD_S, fast.seconds - cost.OVERHEAD_S
    assert work_slow == pytest.approx(10 * work_fast)
    assert work_slow == pytest.approx(sum(f / (cost.EFFICIENCY[k] * SLOW.flops) for k, f in slow.work.items()))
    assert set(slow.work) <= set(cost.EFFICIENCY) and {"analytic_fc", "empirical_fc"} <= set(slow.work)


def test_published_peaks_order_the_devices():
    assert cost.H100.flops > cost.T4.flops and cost.H100.memory > cost.T4.memory
    est = cost.paper_estimates("03_transfer", sections.paper_values("03_transfer"))
    assert est["h100"].seconds < est["t4"].seconds


@pytest.mark.parametrize("section", sections.SECTIONS)
def test_paper_estimate_is_finite_for_every_section(section):
    values = sections.paper_values(section)
    est = cost.paper_estimates(section, values)
    for e in est.values():
        assert e.flops > 0 and math.isfinite(e.flops)
        assert cost.OVERHEAD_S < e.seconds < math.inf and 0 < e.peak_bytes < math.inf
    glue = cost.paper_glue(section, values)
    assert glue["paper_runtime_t4"].startswith("about ") and glue["paper_runtime_h100"].startswith("about ")
    assert glue["paper_peak_memory"].split()[-1] in ("MB", "GB", "TB")


def test_paper_values_come_from_the_profile_block(tmp_path):
    profile = tmp_path / "paper.yaml"
    profile.write_text("01_ntk_primer:\n  N_TRAIN: 77\n  WIDTHS: [5, 6]\n")
    p = sections.paper_values("01_ntk_primer", profile)
    assert p.N_TRAIN == 77 and p.WIDTHS == [5, 6] and p.N_TEST == sections.defaults("01_ntk_primer")["N_TEST"]


def test_colab_note_when_a_run_outlasts_a_session(tmp_path):
    profile = tmp_path / "paper.yaml"
    profile.write_text("01_ntk_primer:\n  N_TRAIN: 2000\n")
    assert cost.paper_glue("01_ntk_primer", sections.paper_values("01_ntk_primer", profile))["paper_colab_note"] == ""
    profile.write_text("01_ntk_primer:\n  N_TRAIN: 40\n")  # a deviation from the full set-up, stated with its size
    note = cost.paper_glue("01_ntk_primer", sections.paper_values("01_ntk_primer", profile))["paper_colab_note"]
    assert note.startswith("To fit a free Colab session with a margin, this profile fits the kernels on 40 training images")
    # Myrtle-10 Gram matrices of 11,000 x 10,000 28x28 images: more than a day of work on a T4.
    profile.write_text("01_ntk_primer:\n  N_TRAIN: 10000\n  N_TEST: 1000\n  ARCHITECTURES: [myrtle]\n"
                       "  DEPTH: 10\n  BATCH_SIZE: 4\n  CLASSES: []\n")
    glue = cost.paper_glue("01_ntk_primer", sections.paper_values("01_ntk_primer", profile))
    assert "longer than a Colab session" in glue["paper_colab_note"]
    assert cost.paper_estimates("01_ntk_primer", sections.paper_values("01_ntk_primer", profile))["t4"].seconds > 86400


@pytest.mark.parametrize("seconds,text", [(3, "about 3 s"), (45, "about 45 s"), (150, "about 2.5 min"),
                                          (25 * 60, "about 25 min"), (3.5 * 3600, "about 3.5 h"),
                                          (3 * 86400, "about 3 days"), (float("nan"), "unknown")])
def test_format_duration(seconds, text):
    assert cost.format_duration(seconds) == text


def test_setup_prints_the_run_estimate_and_glues_the_paper_names(monkeypatch, capsys, tmp_path):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    p = sections.setup("01_ntk_primer", values("01_ntk_primer", OUTPUT_DIR=str(tmp_path)), available=24 * GIB,
                       glue=True)
    out = capsys.readouterr().out
    assert "Cost model: this run needs about" in out and "estimated runtime on" in out
    assert set(glued) == {"paper_runtime_t4", "paper_runtime_h100", "paper_peak_memory", "paper_colab_note"}
    assert glued == cost.paper_glue("01_ntk_primer", sections.paper_values("01_ntk_primer"))
    glued.clear()
    sections.setup("01_ntk_primer", p.as_dict() | {"OUTPUT_DIR": str(tmp_path)}, display=False, glue=False)
    assert glued == {}


def test_current_device_on_cpu_is_timed_once_and_on_request(monkeypatch):
    """A CPU's rate is its matmul timed on the first call of the process, kept, and timed again on request."""
    import jax

    if jax.default_backend() != "cpu":
        pytest.skip("the CPU rule applies on a CPU backend")
    rates = iter([1e11, 3e11])
    monkeypatch.setattr(cost._devices, "matmul_flops", lambda repeat=3: next(rates))
    first = cost.current_device(retime=True)
    assert first.flops == 1e11 and cost.current_device().flops == 1e11
    assert cost.current_device(retime=True).flops == 3e11
    p = values("01_ntk_primer", N_TRAIN=400)
    work = cost.estimate("01_ntk_primer", p, first).seconds - cost.OVERHEAD_S
    assert cost.estimate("01_ntk_primer", p).seconds - cost.OVERHEAD_S == pytest.approx(work / 3)
    cost._devices._cpu_device.cache_clear()


def test_the_timed_matmul_rate_is_a_rate():
    rate = cost._devices.matmul_flops(repeat=1)
    assert 1e8 < rate < 1e15


def test_paper_table_has_one_row_per_section_from_the_profile(tmp_path):
    rows = cli.paper_table().splitlines()
    assert rows[0].startswith("| section | Colab T4 | sessions | H100-class GPU | peak host memory | peak device")
    body = rows[2:]
    assert [r.split("|")[1].strip(" `") for r in body] == list(sections.SECTIONS)
    for row in body:
        t4, _, h100, host, device = (cell.strip() for cell in row.split("|")[2:7])
        assert t4.split()[-1] in ("s", "min", "h", "days") and h100.split()[-1] in ("s", "min", "h", "days")
        assert host.split()[-1] in ("MB", "GB", "TB") and device.split()[-1] in ("MB", "GB", "TB")
    profile = tmp_path / "paper.yaml"
    profile.write_text("01_ntk_primer:\n  N_TRAIN: 40\n  N_TEST: 40\n  WIDTHS: [8]\n  N_KERNEL: 8\n")
    small = cli.paper_table(profile).splitlines()[2]
    assert small.startswith("| `01_ntk_primer` |") and small != body[0]


def test_the_cost_package_imports_no_section_and_nothing_inside_functions():
    """One home, no circle: ``ntkcompanion.cost`` (but its command line) never imports ``sections`` or ``record``,
    and none of its modules imports inside a function."""
    package = Path(cost.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = set(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                assert node in top, f"{path.name}:{node.lineno} imports inside a function"
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                names += [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else []
                if path.name != "__main__.py":
                    assert not any(n.startswith(("ntkcompanion.sections", "ntkcompanion.record")) for n in names), \
                        f"{path.name}:{node.lineno} imports {names}"


def test_every_section_has_a_cost_model_and_no_section_module_keeps_one():
    assert list(cost.MODELS) == list(sections.SECTIONS)
    for section in sections.SECTIONS:
        mod = sections.module(section)
        assert not any(hasattr(mod, name) for name in ("flops", "memory", "peak_memory_bytes")), section



@pytest.mark.parametrize("section", sections.SECTIONS)
def test_paper_profile_fits_a_colab_session_by_the_model(section):
    """Issue 19's budget: ≤ 2 h on a T4 (a resumable section: per session), ≤ 10 GB host, ≤ 14 GB device."""
    t4 = cost.paper_estimates(section, sections.paper_values(section))["t4"]
    budget = cost.COLAB_BUDGET
    assert t4.host_bytes <= budget.host_bytes and t4.device_bytes <= budget.device_bytes, t4
    assert t4.seconds / cost.sessions(section, t4) <= budget.seconds, t4.runtime


@pytest.mark.parametrize("section", sorted(cost.DEVIATIONS))
def test_a_deviation_states_the_full_set_up_and_its_larger_estimate(section, tmp_path):
    values = sections.paper_values(section)
    full = dict(values._values) | cost.DEVIATIONS[section].full
    sections.setup(section, full | {"OUTPUT_DIR": str(tmp_path)}, display=False, glue=False,
                   available=1000 * GIB)  # the full set-up is a valid run, only too large for Colab
    assert cost.authors_estimate(section, values).seconds > cost.paper_estimates(section, values)["t4"].seconds
    note = cost.paper_glue(section, values)["paper_colab_note"]
    assert note.startswith("To fit a free Colab session with a margin, this profile") and "on a T4" in note


def test_a_resumable_run_spans_sessions_of_at_most_the_budget():
    values = sections.paper_values("08_adversarial_training")
    t4 = cost.paper_estimates("08_adversarial_training", values)["t4"]
    assert cost.sessions("08_adversarial_training", t4) == math.ceil(t4.seconds / cost.COLAB_BUDGET.seconds)
    assert cost.sessions("02_training_free_attacks", t4) == 1  # not resumable: one session whatever it takes


def test_the_readme_table_is_the_models():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert cli.paper_table() in readme, "regenerate README's table with python -m ntkcompanion.cost --paper"


def _benchmark(name):
    import importlib
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module(name)


def test_bench_cost_has_three_valid_sizes_per_section():
    bench = _benchmark("bench_cost")
    cases = bench.cases(sections.SECTIONS, quick=False)
    assert [c[0] for c in cases] == [s for s in sections.SECTIONS for _ in range(3)]
    for section, _, values in cases:
        sections.setup(section, sections.defaults(section) | values, display=False, glue=False)
    assert len(bench.cases(sections.SECTIONS, quick=True)) == len(sections.SECTIONS)


def test_gpu_check_parses_its_arguments_without_running_anything():
    check = _benchmark("gpu_check")
    args = check.parse_args(["--sections", "01_ntk_primer", "--scale", "0.5", "--dry-run"])
    assert args.sections == ["01_ntk_primer"] and args.scale == 0.5 and args.dry_run
    with pytest.raises(SystemExit):
        check.parse_args(["--scale", "0"])
    assert set(check.GPU_SIZES) == set(sections.SECTIONS)
