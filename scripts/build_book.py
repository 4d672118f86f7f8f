#!/usr/bin/env python
"""Builds the book: stage the sources, execute every section with papermill, render with Jupyter Book.

    python scripts/build_book.py                      # quick profile, all sections, HTML in _build/html
    python scripts/build_book.py --profile smoke      # what the tests run
    python scripts/build_book.py --profile paper --sections 01_ntk_primer -p N_TRAIN 1000
    python scripts/build_book.py -p 01_ntk_primer:WIDTHS "[64, 4096]" --no-html

Sections are the notebooks listed in ``_toc.yml``. Each is executed by papermill (kernel
``python3``) into a staged copy of the book under ``<out>/source`` with the parameters of
its block in ``params/<profile>.yaml``, then overrides (``-p NAME VALUE`` for every section
that declares NAME, ``-p SECTION:NAME VALUE`` for one). Staged pages keep the source paths
(``notebooks/X.ipynb``), so each page's Colab button opens the clean source notebook.
Jupyter Book then renders the staged copy with execution off and warnings as errors into
``<out>/html``. The source notebooks are never modified.

Before anything runs, every dataset the chosen sections will read (their ``DATASET``, from
the profile, the overrides or the notebook's default) must be on disk or shipped with the
package: ``ntkcompanion.data.require_local`` names what is missing and where to put it, so
an offline ``--profile paper`` fails in seconds rather than in the middle of a section.
``--check`` stops after these checks.

What the page shows: kernels run with ``KERNEL_ENV`` (no progress bars), and each executed
notebook's parameter cells (the defaults and papermill's injected values) and its Colab
install cell are tagged ``remove-cell``: they run, but the page shows the run's parameters
once, as the table the notebook's setup call displays.

Pinned Colab installs: each notebook is staged with the build's commit (``git rev-parse HEAD``)
written into its Colab install cell (its ``commit = None`` line), so the page's notebook fetches
exactly the code and ``params/paper.yaml`` that produced the page, and that commit's
``scripts/colab_install.py`` installs it, checks what Python imports, and refuses a clone folder at
another commit. The source notebooks keep ``commit = None``: opened from
the repository, they install the default branch and print which commit that was. A build from
a tree with uncommitted changes still pins HEAD, and says so; outside git nothing is pinned.
"""

import argparse
import ast
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
PROFILES = ("smoke", "quick", "paper")
# Environment of the papermill kernels. ntkcompanion.progress.bar honours NTKCOMPANION_PROGRESS;
# TQDM_DISABLE (read by tqdm >= 4.66) covers any bar made by tqdm directly. Bars stay on in
# interactive and command-line runs, where they are useful; on a page they are noise.
KERNEL_ENV = {"NTKCOMPANION_PROGRESS": "0", "TQDM_DISABLE": "1"}
# Cells that run but do not appear on the page (myst-nb drops cells tagged remove-cell).
PAGE_HIDDEN_TAGS = ("parameters", "injected-parameters")
COLAB_MARKER = "google.colab"  # the Colab install cell is the one cell that tests for it
REMOVE_CELL = "remove-cell"
PIN_PLACEHOLDER = "commit = None"  # the Colab install cell's line that the build replaces with its commit


class BuildError(RuntimeError):
    """A build step failed; the message says which and why."""


def toc_sections(toc_file: Path) -> list[str]:
    """Notebook paths (without suffix) listed in ``_toc.yml``, in book order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str) and file.startswith("notebooks/"):
                found.append(file.removesuffix(".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc_file.read_text()))
    return found


def load_profile(name: str, root: Path = ROOT) -> dict:
    """Per-section parameter blocks of ``params/<name>.yaml``."""
    if name not in PROFILES:
        raise BuildError(f"--profile = {name!r} is not allowed: expected one of {', '.join(PROFILES)}.")
    return yaml.safe_load((root / "params" / f"{name}.yaml").read_text()) or {}


def parse_overrides(pairs) -> list[tuple]:
    """``[(section or None, NAME, value)]`` from ``-p [SECTION:]NAME VALUE`` pairs; values are YAML."""
    overrides = []
    for key, raw in pairs or []:
        section, _, name = key.rpartition(":")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as error:  # one line naming the value, not a parser traceback
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise BuildError(f"-p {key} {raw!r}: the value is not valid YAML ({problem}); write lists as "
                             f"'[0.1, 0.2]', strings as cifar10 or 'a b'.") from None
        overrides.append((section or None, name, value))
    return overrides


def declared_parameters(notebook: Path) -> dict:
    """``{NAME: default source text}`` for the names assigned in the notebook's ``parameters`` cell."""
    import papermill

    return {name: info["default"] for name, info in papermill.inspect_notebook(str(notebook)).items()}


def datasets_needed(plan: dict, declared: dict) -> dict:
    """``{dataset: [sections]}``: the ``DATASET`` each section will read (its plan, else its default)."""
    needed = {}
    for section, parameters in plan.items():
        if "DATASET" in parameters:
            dataset = parameters["DATASET"]
        elif "DATASET" in declared[section]:
            dataset = ast.literal_eval(declared[section]["DATASET"])
        else:
            continue
        if not isinstance(dataset, str):
            raise BuildError(f"{Path(section).name}: DATASET = {dataset!r} is not allowed: expected a dataset "
                             f"name or the path of an .npz file.")
        needed.setdefault(dataset, []).append(Path(section).name)
    return needed


def require_datasets(needed: dict):
    """Raises BuildError listing every dataset that is neither on disk nor shipped (and where to put it)."""
    from ntkcompanion.data import require_local

    problems = []
    for dataset, sections in needed.items():
        try:
            require_local(dataset)
        except Exception as error:  # noqa: BLE001 - reported with its type, none is swallowed
            problems.append(f"DATASET = {dataset!r} (sections {', '.join(sections)}): "
                            f"{type(error).__name__}: {error}")
    if problems:
        raise BuildError("datasets not available on this machine, so no section was started:\n  "
                         + "\n  ".join(problems))


def section_parameters(stem: str, declared: set, profile: dict, overrides) -> dict:
    """The parameters papermill injects into one section."""
    parameters = dict(profile.get(stem) or {})
    unknown = set(parameters) - declared
    if unknown:
        raise BuildError(f"params block {stem!r} sets {sorted(unknown)}, which the notebook does not declare "
                         f"(it declares {sorted(declared)}).")
    for section, name, value in overrides:
        if section in (None, stem) and name in declared:
            parameters[name] = value
    return parameters


def prune_toc(toc_file: Path, keep: set):
    """Drops the notebooks not in ``keep`` (and parts left empty) from a staged ``_toc.yml``."""
    def prune(node):
        if isinstance(node, list):
            kept = [prune(item) for item in node]
            return [item for item in kept if item is not None]
        if isinstance(node, dict):
            file = node.get("file", "")
            if file.startswith("notebooks/") and file.removesuffix(".ipynb") not in keep:
                return None
            pruned = {key: prune(value) for key, value in node.items()}
            if "chapters" in node and not pruned["chapters"]:
                return None
            return pruned
        return node

    toc_file.write_text(yaml.safe_dump(prune(yaml.safe_load(toc_file.read_text())), sort_keys=False))


def stage(root: Path, dest: Path):
    """Copies the book sources (config, toc, pages) to ``dest``, replacing what was there."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in BOOK_SOURCES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)


def build_commit(root: Path = ROOT) -> tuple[str | None, bool]:
    """The commit being built (``git rev-parse HEAD``) and whether tracked files differ from it; ``(None, False)``
    outside a git checkout."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return None, False
    return head.stdout.strip(), bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())


def pin_install_cell(cells: list, commit: str) -> None:
    """Writes ``commit`` into the Colab install cell's ``commit = None`` line (in place)."""
    colab = [c for c in cells if c.get("cell_type") == "code" and COLAB_MARKER in "".join(c["source"])]
    lines = "".join(colab[0]["source"]).splitlines(keepends=True) if len(colab) == 1 else []
    pins = [i for i, line in enumerate(lines) if line.rstrip("\n") == PIN_PLACEHOLDER]
    if len(pins) != 1:
        raise BuildError(f"expected one Colab install cell with one line {PIN_PLACEHOLDER!r}; found "
                         f"{len(colab)} cells and {len(pins)} such lines.")
    lines[pins[0]] = f'commit = "{commit}"' + ("\n" if lines[pins[0]].endswith("\n") else "")
    colab[0]["source"] = lines


def stage_notebook(source: Path, target: Path, commit: str | None) -> Path:
    """Copies a source notebook to ``target``, its Colab install cell pinned to ``commit`` (``None``: unpinned)."""
    notebook = json.loads(source.read_text())
    if commit is not None:
        try:
            pin_install_cell(notebook["cells"], commit)
        except BuildError as error:
            raise BuildError(f"{source.name}: {error}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return target


def vendor_mathjax(mathjax: Path, stage_dir: Path):
    """Ships MathJax inside the staged book so its maths renders offline."""
    if not (mathjax / "tex-mml-chtml.js").exists():
        raise BuildError(f"--mathjax {mathjax}: no tex-mml-chtml.js there; run scripts/provision_mathjax.sh {mathjax}.")
    # Not under _static: Jupyter Book would add every .js found there to every page.
    # html_extra_path copies it verbatim to the site root as mathjax/.
    shutil.copytree(mathjax, stage_dir / "_extra" / "mathjax")
    config_file = stage_dir / "_config.yml"
    config = yaml.safe_load(config_file.read_text())
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["html_extra_path"] = ["_extra"]
    sphinx_config["mathjax_path"] = "../mathjax/tex-mml-chtml.js"  # Sphinx reads it relative to _static
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


@contextlib.contextmanager
def kernel_environment(values: dict):
    """Sets ``values`` in ``os.environ`` (kernels inherit it) and restores the previous state after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def hide_plumbing(cells: list) -> int:
    """Tags the parameter cells and the Colab install cell ``remove-cell``; returns how many were tagged.

    Authors' own ``remove-cell`` / ``remove-input`` / ``hide-input`` tags are left as they are
    (myst-nb honours them when it renders the page).
    """
    tagged = 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if (set(tags) & set(PAGE_HIDDEN_TAGS) or COLAB_MARKER in source) and REMOVE_CELL not in tags:
            tags.append(REMOVE_CELL)
            tagged += 1
    return tagged


def execute(source: Path, target: Path, parameters: dict, cwd: Path) -> float:
    """Runs one notebook with papermill; returns seconds; raises BuildError naming the failing cell.

    The executed copy at ``target`` has its plumbing cells tagged for removal (``hide_plumbing``).
    """
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        with kernel_environment(KERNEL_ENV):
            papermill.execute_notebook(str(source), str(target), parameters=parameters,
                                       kernel_name="python3", cwd=str(cwd), progress_bar=False)
    except papermill.PapermillExecutionError as error:
        raise BuildError(f"{source.relative_to(source.parents[1])} failed in cell {error.cell_index} "
                         f"(execution count {error.exec_count}): {error.ename}: {error.evalue}\n"
                         f"The executed copy with the traceback is {target}.") from None
    seconds = time.time() - started
    notebook = json.loads(target.read_text())
    hide_plumbing(notebook["cells"])
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return seconds


def write_report_pages(stage_dir: Path):
    """Replaces the staged claims and reproducibility placeholders with pages generated from the results."""
    sys.path.insert(0, str(Path(__file__).parent))
    import report_pages

    repo = yaml.safe_load((stage_dir / "_config.yml").read_text())["repository"]["url"]
    repo = repo.removeprefix("https://github.com/")
    results = stage_dir / "results"
    report_pages.claims_figure(results, stage_dir / "book" / report_pages.FIGURE)  # claims page and intro
    (stage_dir / "book" / "claims.md").write_text(report_pages.claims_page(results))
    (stage_dir / "book" / "reproducibility.md").write_text(report_pages.reproducibility_page(results, repo))


def render(stage_dir: Path, out_root: Path):
    """Jupyter Book (v1) build of the staged book into ``out_root/_build/html``; warnings fail it."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(stage_dir), "--path-output", str(out_root),
               "-W", "-n", "--keep-going"]
    if subprocess.run(command).returncode != 0:
        raise BuildError("jupyter-book build failed (warnings count as errors); see its output above.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    parser.add_argument("--sections", default="", help="comma-separated notebook stems (default: all in _toc.yml)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("[SECTION:]NAME", "VALUE"),
                        help="override a parameter (VALUE is YAML: 500, 0.03, '[0, 1]', cifar10)")
    parser.add_argument("--out", type=Path, default=ROOT,
                        help="directory that receives _build/ (default: the repository)")
    parser.add_argument("--no-html", action="store_true", help="execute the sections only")
    parser.add_argument("--check", action="store_true",
                        help="check the plan (parameters, overrides, local datasets) and stop before executing")
    parser.add_argument("--mathjax", type=Path, default=None,
                        help="a MathJax 3 es5/ directory to ship inside the book (scripts/provision_mathjax.sh); "
                             "default: MathJax from a CDN")
    args = parser.parse_args(argv)

    try:
        profile = load_profile(args.profile)
        sections = toc_sections(ROOT / "_toc.yml")
        if args.sections:
            wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
            stems = {Path(s).name: s for s in sections}
            missing = [s for s in wanted if s not in stems]
            if missing:
                raise BuildError(f"--sections names {missing}, which are not in _toc.yml "
                                 f"(allowed: {', '.join(stems)}).")
            sections = [stems[s] for s in wanted]
        overrides = parse_overrides(args.parameter)
        declared = {s: declared_parameters(ROOT / f"{s}.ipynb") for s in sections}
        for section, name, _ in overrides:
            targets = [s for s in sections if section in (None, Path(s).name)]
            if not targets:
                raise BuildError(f"-p {section}:{name}: no section named {section!r} is being built.")
            if not any(name in declared[s] for s in targets):
                other_case = sorted({d for s in targets for d in declared[s] if d.upper() == name.upper()})
                hint = f" (names are case-sensitive: did you mean {other_case[0]}?)" if other_case else ""
                raise BuildError(f"-p {name}: no section being built declares a parameter {name!r}{hint}.")
        plan = {s: section_parameters(Path(s).name, set(declared[s]), profile, overrides) for s in sections}
        require_datasets(datasets_needed(plan, declared))
        if args.check:
            print(f"build_book: {args.profile} plan for {len(sections)} sections checked; datasets present.")
            return 0

        build_dir = args.out / "_build"
        stage_dir = build_dir / "source"
        stage(ROOT, stage_dir)
        if len(sections) < len(toc_sections(ROOT / "_toc.yml")):
            prune_toc(stage_dir / "_toc.yml", set(sections))  # render only what was executed
        if args.mathjax:
            vendor_mathjax(args.mathjax, stage_dir)
        commit, modified = build_commit()
        if commit is None:
            print("build_book: not a git checkout; the Colab install cells pin no commit.", flush=True)
        elif modified:
            print(f"build_book: tracked files differ from {commit}; the Colab install cells pin it all the same.",
                  flush=True)
        record = {"profile": args.profile, "commit": commit, "modified": modified, "sections": {}}
        for i, section in enumerate(sections, 1):
            print(f"[{i}/{len(sections)}] executing {section}.ipynb ({args.profile} profile) ...", flush=True)
            staged = stage_notebook(ROOT / f"{section}.ipynb", stage_dir / f"{section}.ipynb", commit)
            seconds = execute(staged, staged, plan[section], stage_dir)
            record["sections"][Path(section).name] = {"seconds": round(seconds, 1), "parameters": plan[section]}
            print(f"      done in {seconds:.1f} s", flush=True)
        results = stage_dir / "results"
        results.mkdir(exist_ok=True)
        (results / "build.json").write_text(json.dumps(record, indent=2) + "\n")
        write_report_pages(stage_dir)
        if not args.no_html:
            render(stage_dir, args.out)
            print(f"book: {build_dir / 'html' / 'index.html'}")
    except BuildError as error:
        print(f"build_book: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
