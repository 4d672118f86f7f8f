"""Generates the book's claims and reproducibility pages from the run's own records.

Called by ``build_book.py`` after every section has executed, on the staged book:
it reads ``results/build.json`` (profile, per-section wall time and parameters) and
each section's ``results/<section>/metrics.json``. Nothing on these pages is typed
by hand except the claims' wording, which is the paper's.

A section reports on a claim through ``metrics["claims"]``, a mapping from the claim
number (as a string) to ``{"statistic": str, "value": number or str, "holds": bool}``.
"""

import json
from pathlib import Path

# The paper's seven claims (abstract of Tsilivis & Kempe, 2022), by number.
CLAIMS = {
    "1": "NTKs generate adversarial examples training-free.",
    "2": "NTK adversarial examples transfer to finite-width networks, more so in the lazy regime.",
    "3": "The kernel's eigendecomposition induces robust and non-robust features, both used for classification.",
    "4": "These features are consistent across architectures.",
    "5": "Robust features sit at the largest eigenvalues and are learned early.",
    "6": "Non-robust yet useful features can be identified and visualised.",
    "7": "Under adversarial training the empirical NTK becomes lazy earlier and concentrates on its top eigenspace.",
}
COLAB = "https://colab.research.google.com/github/{repo}/blob/main/notebooks/{section}.ipynb"


def _read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def load_records(results: Path) -> tuple[dict, dict]:
    """``(build record, {section: metrics record})`` from a results directory."""
    build = _read(results / "build.json") or {"profile": "unknown", "sections": {}}
    metrics = {section: _read(results / section / "metrics.json") for section in build["sections"]}
    return build, metrics


def _format(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _dataset(record: dict) -> str:
    parameters = record.get("parameters", {})
    classes = parameters.get("CLASSES")
    name = parameters.get("DATASET", "?")
    return f"{name} {classes}" if classes else str(name)


def claims_page(results: Path) -> str:
    """Markdown of the claims check: each claim, the statistic testing it, its value, verdict, section."""
    build, metrics = load_records(results)
    lines = [
        "# Claims check",
        "",
        f"Generated when this book was built, from each section's `metrics.json` (profile: **{build['profile']}**). "
        "A verdict is the section's own computed test of the claim at the scale it ran; see the section for the "
        "statistic's definition and for what it does and does not show.",
        "",
        "| claim | statistic | value | holds here? | data | section |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for number, text in CLAIMS.items():
        rows = []
        for section, record in metrics.items():
            claim = ((record or {}).get("metrics", {}).get("claims") or {}).get(number)
            if claim:
                link = f"[§{int(section[:2])}](../notebooks/{section}.ipynb)" if section[:2].isdigit() else \
                    f"[{section}](../notebooks/{section}.ipynb)"
                rows.append(f"| {number}. {text} | {claim['statistic']} | {_format(claim['value'])} | "
                            f"**{_format(claim['holds'])}** | {_dataset(record)} | {link} |")
        lines += rows or [f"| {number}. {text} | — | — | not tested in this build | — | — |"]
    return "\n".join(lines) + "\n"


def data_checksums(datasets) -> dict:
    """``{"dataset: file": sha256}`` of the pinned files behind the named datasets."""
    from ntkcompanion.data import _registry, embedded_provenance

    checksums = {}
    for name in sorted(set(datasets)):
        if name == "mnist_embedded":
            provenance = embedded_provenance()
            checksums["mnist_embedded: mnist_subset.npz"] = provenance["npz_sha256"]
            for file, entry in provenance["sources"].items():
                checksums[f"mnist_embedded: built from {file}"] = entry["sha256"]
        else:
            for file, entry in _registry.REGISTRY.get(name, {}).items():
                checksums[f"{name}: {file}"] = entry.sha256
    return checksums


def reproducibility_page(results: Path, repo: str) -> str:
    """Markdown of the reproducibility report: profile, parameters, versions, devices, times, data, reruns."""
    build, metrics = load_records(results)
    datasets = [(r or {}).get("parameters", {}).get("DATASET") for r in metrics.values()]
    data_provenance = data_checksums(d for d in datasets if d)
    lines = [
        "# Reproducibility report",
        "",
        f"Generated when this book was built, with the **{build['profile']}** profile "
        f"(`params/{build['profile']}.yaml`).",
        "",
        "## Sections",
        "",
        "| section | wall time (s) | devices | rerun |",
        "| --- | --- | --- | --- |",
    ]
    environment = None
    for section, entry in build["sections"].items():
        record = metrics.get(section) or {}
        environment = environment or record.get("environment")
        devices = ", ".join((record.get("environment") or {}).get("devices", ["?"]))
        colab = COLAB.format(repo=repo, section=section)
        lines.append(f"| [{section}](../notebooks/{section}.ipynb) | {entry['seconds']} | {devices} | "
                     f"[Colab]({colab}) |")
    total = sum(entry["seconds"] for entry in build["sections"].values())
    lines += ["", f"Total execution time: {total:.0f} s.", ""]
    if environment:
        lines += ["## Software", "", "| package | version |", "| --- | --- |"]
        lines += [f"| {p} | {v} |" for p, v in environment["packages"].items()]
        lines += [f"| python | {environment['python']} |", "",
                  f"Platform: `{environment['platform']}`; JAX backend: `{environment['backend']}`.", ""]
    lines += ["## Parameters", ""]
    for section, entry in build["sections"].items():
        record = metrics.get(section) or {}
        lines += [f"### {section}", "", "```yaml"]
        lines += [f"{k}: {json.dumps(v)}" for k, v in sorted(record.get("parameters", {}).items())]
        lines += ["```", "", "Rerun with these values and any overrides:", "", "```bash",
                  f"python scripts/build_book.py --profile {build['profile']} --sections {section} --no-html",
                  f"papermill notebooks/{section}.ipynb out.ipynb -p N_TRAIN 500   # or any other parameter",
                  "```", ""]
    lines += ["## Data", "", "| file | SHA-256 |", "| --- | --- |"]
    lines += [f"| {name} | `{sha}` |" for name, sha in sorted(data_provenance.items())]
    return "\n".join(lines) + "\n"
