"""Generates the book's claims and reproducibility pages, and the verdict figure, from the run's records.

Called by ``build_book.py`` after every section has executed, on the staged book:
it reads ``results/build.json`` (profile, per-section wall time and parameters) and
each section's ``results/<section>/metrics.json``. Nothing on these pages is typed
by hand except the claims' wording, which is the paper's.

A section reports on claims through ``metrics.json``'s ``"verdicts"``: a list of
``ntkcompanion.evidence.Verdict.to_dict()`` records (statistic, definition, estimate, 95% CI,
control and its value, threshold, decision, reason). A claim no section has reported on yet is
shown as "not yet reported".
"""

import json
import math
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
# The verdict figure, written next to the pages that include it (book/claims.md and book/intro.md).
FIGURE = "claims_verdicts.png"
NOT_REPORTED = "not yet reported"


def _read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def load_records(results: Path) -> tuple[dict, dict]:
    """``(build record, {section: metrics record})`` from a results directory."""
    build = _read(results / "build.json") or {"profile": "unknown", "sections": {}}
    metrics = {section: _read(results / section / "metrics.json") for section in build["sections"]}
    return build, metrics


def _dataset(record: dict) -> str:
    parameters = record.get("parameters", {})
    classes = parameters.get("CLASSES")
    name = parameters.get("DATASET", "?")
    return f"{name} {classes}" if classes else str(name)


def _link(section: str) -> str:
    label = f"§{int(section[:2])}" if section[:2].isdigit() else section
    return f"[{label}](../notebooks/{section}.ipynb)"


def _num(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _estimate(verdict: dict) -> str:
    ci = verdict.get("ci") or [None, None]
    if ci[0] is None or ci[1] is None or ci[0] == ci[1]:
        return _num(verdict.get("estimate"))
    return f"{_num(verdict.get('estimate'))} [{_num(ci[0])}, {_num(ci[1])}]"


def collect_verdicts(metrics: dict) -> dict:
    """``{claim number: [(section, record, verdict dict), ...]}`` from every section's ``"verdicts"``."""
    found = {number: [] for number in CLAIMS}
    for section, record in metrics.items():
        for verdict in (record or {}).get("verdicts") or []:
            found.setdefault(str(verdict["claim"]), []).append((section, record, verdict))
    return found


def claims_figure(results: Path, path: Path) -> Path:
    """Writes the verdict figure (every reported statistic against its threshold) as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkcompanion._io import atomic_write
    from ntkcompanion.plotting import set_style, verdict_forest

    _, metrics = load_records(results)
    found = collect_verdicts(metrics)
    set_style()
    fig = verdict_forest([v for entries in found.values() for _, _, v in entries],
                         missing=[int(n) for n, entries in found.items() if not entries])
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return Path(path)


def _authors_lines(number: str, entries) -> list[str]:
    """The authors' released-notebook numbers for claims 1 and 3: beside a matching run, else as context."""
    from ntkcompanion.evidence import reference

    if number not in ("1", "3"):
        return []
    if number == "1":
        numbers = ", ".join(f"{k} {v:.2f}" for k, v in reference.PREDICTOR_ACCURACY.items())
        what = f"kernel predictor accuracy: {numbers}"
    else:
        numbers = "; ".join(f"{i}: {c:.2f}/{g:.2f}" for i, (c, g) in reference.FEATURE_ACCURACY.items())
        what = f"eigen-feature clean/FGSM accuracy by index — {numbers}"
    matching = [section for section, record, _ in entries if reference.matches((record or {}).get("parameters", {}))]
    if matching:
        return [f"- Authors' released notebook, same set-up as {', '.join(_link(s) for s in sorted(set(matching)))}: "
                f"{what}."]
    return [f"- For context (no run here has it), authors' set-up: {reference.AUTHORS_SETUP_TEXT}: {what}."]


def _sensitivity_lines(verdict: dict) -> list[str]:
    table = (verdict.get("details") or {}).get("sensitivity")
    if not table:
        return []
    keys = list(table[0])
    lines = ["", "  How it moves with the thresholds:", "", "  | " + " | ".join(keys) + " |",
             "  | " + " | ".join("---" for _ in keys) + " |"]
    return lines + ["  | " + " | ".join(_num(row.get(k)) for k in keys) + " |" for row in table] + [""]


def claims_page(results: Path) -> str:
    """Markdown of the claims check: the verdict figure, a summary table, and each claim's evidence."""
    build, metrics = load_records(results)
    found = collect_verdicts(metrics)
    lines = [
        "# Claims check",
        "",
        f"Generated when this book was built, from each section's `metrics.json` (profile: **{build['profile']}**). "
        "Each claim is decided by a statistic with a 95% confidence interval, compared with a control: "
        "*supported* when the whole interval lies beyond the decision threshold on the side the claim predicts, "
        "*not supported* when it lies wholly on the other side, *undetermined* otherwise (with the reason). "
        "Saturation, ties and NaN are never read as *not supported*.",
        "",
        f"```{{figure}} {FIGURE}",
        ":width: 100%",
        ":alt: each claim's statistic with its 95% confidence interval against its threshold",
        "",
        "Every reported statistic (dot, 95% CI) against its decision threshold (dashed); the shaded side is the "
        "one the claim predicts. Green: supported; red: not supported; grey: undetermined.",
        "```",
        "",
        "| claim | statistic | estimate [95% CI] | decision | section |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number, entries in found.items():
        if not entries:
            lines.append(f"| {number} | — | — | {NOT_REPORTED} | — |")
        for section, _, verdict in entries:
            why = f" ({verdict.get('reason', '')})" if verdict["decision"] == "undetermined" else ""
            lines.append(f"| {number} | {verdict['statistic']} | {_estimate(verdict)} | "
                         f"**{verdict['decision']}**{why} | {_link(section)} |")
    for number, text in CLAIMS.items():
        lines += ["", f"## Claim {number}", "", f"*{text}*", ""]
        entries = found.get(number, [])
        if not entries:
            lines.append(f"No section has reported a verdict on this claim yet ({NOT_REPORTED}).")
        for section, record, verdict in entries:
            direction = "above" if verdict.get("direction", "above") == "above" else "below"
            lines += [f"**{verdict['statistic']}** ({_link(section)}, {_dataset(record or {})}): "
                      f"{verdict.get('definition', '')}.", "",
                      f"- Estimate [95% CI]: {_estimate(verdict)} (n = {verdict.get('n', '?')}); "
                      f"claimed {direction} {_num(verdict.get('threshold'))}.",
                      f"- Control: {verdict.get('control', '—')} = {_num(verdict.get('control_value'))}.",
                      f"- Decision: **{verdict['decision']}** — {verdict.get('reason', '')}."]
            lines += _sensitivity_lines(verdict) + [""]
        lines += _authors_lines(number, entries)
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
                # Older provenance records name one "sha256"; newer ones the published file's.
                checksums[f"mnist_embedded: built from {file}"] = entry.get("published_sha256", entry.get("sha256"))
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
