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
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
PROFILES = ("smoke", "quick", "paper")


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
        overrides.append((section or None, name, yaml.safe_load(raw)))
    return overrides


def declared_parameters(notebook: Path) -> set:
    """Names assigned in the notebook's ``parameters`` cell."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


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


def execute(source: Path, target: Path, parameters: dict, cwd: Path) -> float:
    """Runs one notebook with papermill; returns seconds; raises BuildError naming the failing cell."""
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        papermill.execute_notebook(str(source), str(target), parameters=parameters,
                                   kernel_name="python3", cwd=str(cwd), progress_bar=False)
    except papermill.PapermillExecutionError as error:
        raise BuildError(f"{source.relative_to(source.parents[1])} failed in cell {error.cell_index} "
                         f"(execution count {error.exec_count}): {error.ename}: {error.evalue}\n"
                         f"The executed copy with the traceback is {target}.") from None
    return time.time() - started


def write_report_pages(stage_dir: Path):
    """Replaces the staged claims and reproducibility placeholders with pages generated from the results."""
    sys.path.insert(0, str(Path(__file__).parent))
    import report_pages

    repo = yaml.safe_load((stage_dir / "_config.yml").read_text())["repository"]["url"]
    repo = repo.removeprefix("https://github.com/")
    results = stage_dir / "results"
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
                raise BuildError(f"-p {name}: no section being built declares a parameter {name!r}.")
        plan = {s: section_parameters(Path(s).name, declared[s], profile, overrides) for s in sections}

        build_dir = args.out / "_build"
        stage_dir = build_dir / "source"
        stage(ROOT, stage_dir)
        if len(sections) < len(toc_sections(ROOT / "_toc.yml")):
            prune_toc(stage_dir / "_toc.yml", set(sections))  # render only what was executed
        if args.mathjax:
            vendor_mathjax(args.mathjax, stage_dir)
        record = {"profile": args.profile, "sections": {}}
        for i, section in enumerate(sections, 1):
            print(f"[{i}/{len(sections)}] executing {section}.ipynb ({args.profile} profile) ...", flush=True)
            seconds = execute(ROOT / f"{section}.ipynb", stage_dir / f"{section}.ipynb", plan[section], stage_dir)
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
