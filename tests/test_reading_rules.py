"""Each reading rule of tests/_reading_rules.py holds on a clean planted page and fails on its violation.

The planted pages copy myst-nb's layout (checked against a real Jupyter Book render in
tests/test_book.py::test_reading_rules_catch_violations_in_a_rendered_page).
"""

import pytest

import _reading_rules as rules

LIMIT = 40


def cell(code=None, outputs=(), tags=()):
    """One myst-nb code cell: ``outputs`` are ``(class, text)`` pairs (class "stream", "stderr", ...)."""
    classes = " ".join(["cell"] + [f"tag_{t}" for t in tags] + ["docutils", "container"])
    parts = []
    if code is not None:
        parts.append(f'<div class="cell_input docutils container"><div class="highlight-ipython3 notranslate">'
                     f'<div class="highlight"><pre>{code}</pre></div></div></div>')
    if outputs:
        shown = "".join(f'<div class="output {kind}"><div class="highlight"><pre>{text}</pre></div></div>'
                        if kind != "text_html" else f'<div class="output text_html">{text}</div>'
                        for kind, text in outputs)
        parts.append(f'<div class="cell_output docutils container">{shown}</div>')
    return f'<div class="{classes}">{"".join(parts)}</div>'


TABLE = ("text_html", '<table class="dataframe ntkc-parameters"><tr><td>N_TRAIN</td><td>800</td>'
                      '<td>training images</td></tr></table>')


def page(*cells, prose="<p>The kernel's eigenvectors, ordered by eigenvalue.</p>"):
    return (f'<html><body><nav>/home/not-content</nav><main><article class="bd-article">'
            f'<section><h1>Section</h1>{prose}{"".join(cells)}</section></article></main></body></html>')


CLEAN = page(
    cell(outputs=[TABLE], tags=["remove-input"]),
    cell("kernel = kernels.gram(task.x_train)\nprint(kernel.shape)", [("stream", "(800, 800)")]),
    cell("accuracy = task.accuracy(predictions)", [("stream", "accuracy 0.951 at t = inf")]),
)


def test_a_clean_page_passes_every_rule():
    assert rules.section_page_problems(CLEAN, LIMIT, names={"N_TRAIN"}) == []


@pytest.mark.parametrize("planted,rule,expected", [
    (cell("x = 1", [("stderr", "computing kernels")]), rules.warnings_and_tracebacks, "stderr output"),
    (cell("x = 1", [("stream", "/x/tqdm/auto.py:21: TqdmWarning: IProgress not found")]),
     rules.warnings_and_tracebacks, "mentions a warning"),
    (cell("x = 1", [("stream", "UserWarning: explicitly requested dtype float64")]),
     rules.warnings_and_tracebacks, "mentions a warning"),
    (cell("1 / 0", [("traceback", "ZeroDivisionError: division by zero")]),
     rules.warnings_and_tracebacks, "traceback output"),
    (cell("f()", [("stream", "Traceback (most recent call last):\n  File ...")]),
     rules.warnings_and_tracebacks, "traceback output"),
    (cell("x = 1", [("stream", "saved /home/reader/results/metrics.json")]), rules.absolute_paths, "/home/"),
    (cell("x = 1", [("stream", "cache at /root/.cache/ntkcompanion")]), rules.absolute_paths, "/root/"),
    (cell("x = 1", [("stream", "wrote /tmp/tmpab12/out.npz")]), rules.absolute_paths, "/tmp/"),
    (cell("x = 1", [("stream", "from /work/main/notebooks")]), rules.absolute_paths, "/work/"),
    (cell("x = 1", [("stream", "lib/python3.11/site-packages/jax/_src/x.py")]), rules.absolute_paths,
     "site-packages"),
    (cell("x = 1", [("stream", "C:\\Users\\reader\\data")]), rules.absolute_paths, "C:\\"),
    (cell("x = 1", [("stream", "PGD:  40%|████      | 4/10 [00:02<00:03,  1.9it/s]")]),
     rules.progress_lines, "progress bar"),
    (cell("x = 1", [("stream", "17it [00:01, 9.80it/s]")]), rules.progress_lines, "progress bar"),
    (cell("x = 1", [("stream", "3/3 [00:12<00:00,  4.10s/it]")]), rules.progress_lines, "progress bar"),
    (cell("y = f(" + "a, " * 20 + ")"), lambda html: rules.wide_code_lines(html, LIMIT), "characters"),
])
def test_each_rule_fails_on_its_planted_violation(planted, rule, expected):
    assert rule(CLEAN) == []
    html = page(cell(outputs=[TABLE], tags=["remove-input"]), planted)
    problems = rule(html)
    assert problems and expected in problems[0], problems
    assert rules.section_page_problems(html, LIMIT, names={"N_TRAIN"}), "the combined check missed it"


def test_a_path_in_the_prose_is_caught_but_not_one_outside_the_article():
    assert rules.absolute_paths(page(prose="<p>Put the files in /home/you/data.</p>"))
    assert rules.absolute_paths(CLEAN) == []  # the planted <nav> holds /home/, outside the content


SHOWN_TABLE = cell(outputs=[TABLE], tags=["remove-input"])


@pytest.mark.parametrize("cells,expected", [
    ([cell("x = 1")], "0 parameter tables"),
    ([SHOWN_TABLE, SHOWN_TABLE], "2 parameter tables"),
    ([SHOWN_TABLE, cell("N_TRAIN = 60\nN_TEST = 40", tags=["parameters"])], "'parameters' cell shown"),
    ([SHOWN_TABLE, cell("# Parameters\nN_TRAIN = 800", tags=["injected-parameters"])],
     "'injected-parameters' cell shown"),
    ([SHOWN_TABLE, cell('if "google.colab" in sys.modules:\n    pass')], "Colab install cell shown"),
    ([SHOWN_TABLE, cell("task = load()\nN_TRAIN = 800")], "parameter N_TRAIN assigned in shown code"),
    ([SHOWN_TABLE, cell("for i in range(3):\n    N_TEST += i")], "parameter N_TEST assigned in shown code"),
    ([SHOWN_TABLE, cell("%time x = 1\nN_TRAIN, y = 5, 6")], "parameter N_TRAIN assigned in shown code"),
    ([SHOWN_TABLE, cell("N_TRAIN = 800 +\n")], "parameter N_TRAIN assigned in shown code"),  # unparsable
])
def test_parameters_are_shown_exactly_once(cells, expected):
    assert rules.parameters_shown_once(page(SHOWN_TABLE), names={"N_TRAIN", "N_TEST"}) == []
    problems = rules.parameters_shown_once(page(*cells), names={"N_TRAIN", "N_TEST"})
    assert any(expected in p for p in problems), problems


def test_parameter_assignments_count_only_declared_names_when_given():
    html = page(SHOWN_TABLE, cell("COLOURS = ['C0', 'C1']\nif N_TRAIN == 5: pass"))
    assert rules.parameters_shown_once(html, names={"N_TRAIN"}) == []
    assert rules.parameters_shown_once(html, names=None), "without names every UPPER_CASE assignment counts"


def test_keyword_arguments_are_not_assignments():
    html = page(SHOWN_TABLE, cell("record.report(\n    p,\n    N_TRAIN=N_TRAIN, N_TEST=N_TEST,\n)"))
    assert rules.parameters_shown_once(html, names={"N_TRAIN", "N_TEST"}) == []
    assert rules.parameters_shown_once(html, names=None) == []


def test_overflow_rule_compares_scroll_and_client_widths():
    fits = {"text": "x = 1", "scrollWidth": 653, "clientWidth": 652}  # one pixel of rounding allowed
    spills = {"text": "y = f(a, b, c)", "scrollWidth": 700, "clientWidth": 652}
    assert rules.overflowing_code([fits]) == []
    assert "700 > 652" in rules.overflowing_code([fits, spills])[0]
