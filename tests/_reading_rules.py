"""The reading rules of a rendered section page, as plain functions over its HTML.

A page reads like a book when it shows results, not machinery. Each rule returns a list of
problems (strings naming what and where; empty when the rule holds), so the same functions
run on every page in the browser test and on planted HTML in fast unit tests
(tests/test_reading_rules.py). The HTML layout is myst-nb's: a code cell is
``div.cell`` (with a ``tag_<tag>`` class per cell tag) holding ``div.cell_input`` (the code,
in a ``pre``) and ``div.cell_output`` (one ``div.output`` per output, with a class
``stream``, ``stderr``, ``traceback``, ``text_html``, ...).
"""

import ast
import re

from bs4 import BeautifulSoup

# The class of the one HTML table in which a section's setup call shows the run's parameters.
PARAMETER_TABLE_CLASS = "ntkc-parameters"

# A warning's class name (UserWarning, TqdmWarning, ...) or the bare word, and tracebacks.
WARNING = re.compile(r"\b\w*Warning\b")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
# File-system paths of the machine that built the book.
ABSOLUTE_PATH = re.compile(r"/home/|/root/|/tmp/|/work/|site-packages|(?<![A-Za-z])[A-Za-z]:\\")
# tqdm's text bars: "40%|████      | 4/10 [...]", "17it [00:01, 9.8it/s]", "3/3 [00:12<00:00, 4.1s/it]".
PROGRESS = re.compile(r"\d+%\||it/s\]|s/it\]")
# An UPPER_CASE name (a parameter's spelling), and, for code that does not parse, a top-level
# assignment to one (keyword arguments such as ``f(N_TRAIN=N_TRAIN)`` are not assignments).
UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
UPPER_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)\s*(?:[-+*/%]|//|\*\*)?=(?!=)")
# Cells the page must not show (their presence as a tag class means the cell was rendered).
PLUMBING_TAGS = ("parameters", "injected-parameters")
COLAB_MARKER = "google.colab"

# In the browser: every code input block's widths (CSS pixels); see ``overflowing_code``.
MEASURE_CODE_BLOCKS = """
return Array.from(document.querySelectorAll('div.cell_input pre')).map(pre => ({
    text: pre.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), ''),
    scrollWidth: pre.scrollWidth,
    clientWidth: pre.clientWidth,
}));
"""


def _article(html: str):
    soup = BeautifulSoup(html, "html.parser")
    return soup.select_one("article") or soup


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _outputs(article):
    """One element per cell output (myst-nb puts each directly inside ``div.cell_output``)."""
    return article.select("div.cell_output > *")


def warnings_and_tracebacks(html: str) -> list[str]:
    """No stderr block, traceback, or output mentioning a Warning (UserWarning, TqdmWarning, ...)."""
    problems = []
    for output in _outputs(_article(html)):
        classes = set(output.get("class", []))
        text = output.get_text()
        if "stderr" in classes:
            problems.append(f"stderr output: {_short(text)!r}")
        elif classes & {"traceback", "error"} or TRACEBACK.search(text):
            problems.append(f"traceback output: {_short(text)!r}")
        elif WARNING.search(text):
            problems.append(f"output mentions a warning: {_short(text)!r}")
    return problems


def absolute_paths(html: str) -> list[str]:
    """No file-system path of the build machine anywhere in the page's content (code, outputs, prose)."""
    problems = []
    for line in _article(html).get_text("\n").splitlines():
        match = ABSOLUTE_PATH.search(line)
        if match:
            problems.append(f"absolute path {match.group(0)!r} in: {_short(line)!r}")
    return problems


def progress_lines(html: str) -> list[str]:
    """No progress-bar line in any output."""
    problems = []
    for output in _outputs(_article(html)):
        for line in output.get_text().splitlines():
            if PROGRESS.search(line):
                problems.append(f"progress bar: {_short(line)!r}")
    return problems


def wide_code_lines(html: str, limit: int) -> list[str]:
    """No line of shown code longer than ``limit`` characters (the book's code column)."""
    problems = []
    for pre in _article(html).select("div.cell_input pre"):
        for line in pre.get_text().splitlines():
            if len(line) > limit:
                problems.append(f"code line of {len(line)} > {limit} characters: {_short(line, 60)!r}")
    return problems


def overflowing_code(measurements: list[dict]) -> list[str]:
    """No code block scrolls sideways: ``scrollWidth <= clientWidth + 1`` (from ``MEASURE_CODE_BLOCKS``)."""
    return [f"code block overflows its column ({m['scrollWidth']} > {m['clientWidth']} px): "
            f"{_short(m['text'], 60)!r}" for m in measurements if m["scrollWidth"] > m["clientWidth"] + 1]


def assignments(code: str) -> list[tuple[str, str]]:
    """``[(name, line)]`` for every name a cell's code assigns (``=``, ``+=``, ``x: int =``, unpacking).

    IPython magics and shell lines are blanked before parsing; code that still does not parse
    falls back to top-level ``NAME =`` lines.
    """
    lines = code.splitlines()
    python = ["" if line.lstrip().startswith(("%", "!")) else line for line in lines]
    try:
        tree = ast.parse("\n".join(python))
    except SyntaxError:
        return [(m.group(1), line) for line in lines if (m := UPPER_ASSIGNMENT.match(line))]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    found.append((name.id, lines[node.lineno - 1]))
    return found


def parameters_shown_once(html: str, names=None) -> list[str]:
    """Exactly one parameter table, and no visible parameter cell or line assigning a parameter.

    ``names``: the section's declared parameters; ``None`` treats every UPPER_CASE assignment as one.
    """
    article = _article(html)
    problems = []
    tables = article.select(f"table.{PARAMETER_TABLE_CLASS}")
    if len(tables) != 1:
        problems.append(f"{len(tables)} parameter tables (table.{PARAMETER_TABLE_CLASS}); expected exactly 1")
    for tag in PLUMBING_TAGS:
        for cell in article.select(f"div.cell.tag_{tag}"):
            problems.append(f"'{tag}' cell shown: {_short(cell.get_text())!r}")
    for pre in article.select("div.cell_input pre"):
        text = pre.get_text()
        if COLAB_MARKER in text:
            problems.append(f"Colab install cell shown: {_short(text)!r}")
        for name, line in assignments(text):
            is_parameter = name in names if names is not None else bool(UPPER_NAME.match(name))
            if is_parameter:
                problems.append(f"parameter {name} assigned in shown code: {_short(line)!r}")
    return problems


def section_page_problems(html: str, code_chars: int, names=None) -> list[str]:
    """Every static reading rule on one section page (the overflow rule needs a browser)."""
    return (warnings_and_tracebacks(html) + absolute_paths(html) + progress_lines(html)
            + wide_code_lines(html, code_chars) + parameters_shown_once(html, names))
