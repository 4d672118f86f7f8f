"""Checks the cost model against measured section runs: time and peak memory, measured / predicted, per section.

Run:  python benchmarks/bench_cost.py                      (every section at three sizes; tens of minutes, 2 cores)
      python benchmarks/bench_cost.py --quick              (the quick profile only: one size per section)
      python benchmarks/bench_cost.py --sections 02_training_free_attacks 04_eigen_features

Each case executes a section's notebook with papermill in a fresh process and an empty array cache
(``NTKCOMPANION_CACHE_DIR`` in a temporary directory, so nothing is loaded instead of computed): the
quick profile's block of ``params/quick.yaml``, and two larger sizes (:data:`SIZES`, about 1.5× and
2–3× its work), each well under a couple of minutes on an idle 2-core CPU. Measured: the wall time of
the whole notebook run (kernel start, imports and figures included: the model's start-up term) and the
peak resident memory of the process tree (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a wrapper
process: the largest of papermill and its kernel). Predicted: ``ntkcompanion.cost.estimate`` of the
same validated parameters on this CPU, at the float32 matmul rate timed right before the case
(``cost.current_device(retime=True)``, as a notebook's own estimate times it once per run), and its
peak memory.

The ratios are printed as a Markdown table; the model holds where every ratio lies in [0.5, 2]
(time) and the measured peak RSS stays below twice the predicted peak plus the interpreter's own
(:data:`BASE_RSS`: Python, JAX, the notebook's libraries; the model counts arrays only). The last
lines give the start-up term the runs imply (the median of measured time minus the model's compute
time), which is how ``cost.OVERHEAD_S`` was set. Run it on an otherwise idle machine: wall time on
shared cores is the sum of everyone's load, and a matmul timed in a quiet moment does not see it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ntkcompanion import cost, sections  # noqa: E402

#: Two larger sizes per section, as overrides of its quick-profile block (about 1.5× and 2–3× the work).
SIZES = {
    "01_ntk_primer": [{"N_TRAIN": 1500}, {"N_TRAIN": 2000, "N_KERNEL": 24}],
    "02_training_free_attacks": [{"N_TRAIN": 1300}, {"N_TRAIN": 1600, "ATTACK_STEPS": 15}],
    "03_transfer": [{"N_TRAIN": 450}, {"N_TRAIN": 600, "TRAIN_STEPS": 450}],
    "04_eigen_features": [{"N_LEADING": 80, "N_SAMPLED": 80}, {"N_LEADING": 120, "N_SAMPLED": 120,
                                                               "N_PERMUTATIONS": 40}],
    "05_learned_early": [{"N_TIMES": 40}, {"N_TIMES": 60, "N_K": 20}],
    "06_consistency": [{"N_TRAIN": 120}, {"N_TRAIN": 160, "N_COMPARE": 300}],
    "07_seeing_features": [{"ATTACK_STEPS": 8}, {"ATTACK_STEPS": 10, "N_TRAIN": 600}],
    "08_adversarial_training": [{"EPOCHS": 12}, {"EPOCHS": 16, "N_SEEDS": 6}],
}
#: Resident memory of a section's kernel before its arrays (Python, JAX, pandas, matplotlib), bytes.
BASE_RSS = 0.6e9
_WRAPPER = ("import json, resource, subprocess, sys, time\n"
            "start = time.perf_counter()\n"
            "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
            "print(json.dumps({'rc': rc, 'seconds': time.perf_counter() - start,\n"
            "                  'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))\n")


def cases(names, quick: bool) -> list[tuple[str, str, dict]]:
    """``(section, label, parameters)`` of every case: the quick block, then the larger sizes."""
    profile = yaml.safe_load((ROOT / "params" / "quick.yaml").read_text()) or {}
    out = []
    for section in names:
        block = dict(profile.get(section) or {})
        out.append((section, "quick", block))
        if not quick:
            out += [(section, "+" + ", ".join(f"{k}={v}" for k, v in size.items()), block | size)
                    for size in SIZES[section]]
    return out


def predict(section: str, values: dict):
    """The model's :class:`cost.Estimate` of the validated ``values`` on this CPU at its rate timed now."""
    p = sections.setup(section, sections.defaults(section) | values, display=False, glue=False)
    return cost.estimate(section, p, cost.current_device(retime=True))


def measure(section: str, values: dict, workdir: Path) -> dict:
    """Runs the notebook once with ``values`` and an empty cache; ``{"rc", "seconds", "rss"}``."""
    params = workdir / "params.yaml"
    params.write_text(yaml.safe_dump(values | {"OUTPUT_DIR": str(workdir / "results")}))
    argv = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{section}.ipynb"),
            str(workdir / "out.ipynb"), "-f", str(params), "--cwd", str(workdir), "--kernel", "python3",
            "--no-progress-bar"]
    env = os.environ | {"NTKCOMPANION_CACHE_DIR": str(workdir / "cache"), "NTKCOMPANION_PROGRESS": "0",
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], env=env, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the quick profile only (one size per section)")
    parser.add_argument("--sections", nargs="+", default=list(sections.SECTIONS), choices=sections.SECTIONS,
                        metavar="SECTION", help="sections to run (default: all)")
    args = parser.parse_args(argv)
    print(f"## Cost model vs measured section runs ({cost.current_device().name}, "
          f"load average {os.getloadavg()[0]:.1f} at the start)\n")
    print("| section | size | matmul now | measured | predicted (compute + start-up) | time ratio | peak RSS "
          "| predicted peak + base | memory ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios, memory, start_up = [], [], []
    for section, label, values in cases(args.sections, args.quick):
        est = predict(section, values)
        compute = est.seconds - cost.OVERHEAD_S
        with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
            got = measure(section, values, Path(tmp))
        if got["rc"] != 0:
            print(f"| `{section}` | {label} | | failed (exit {got['rc']}) | {est.seconds:.0f} s | | | | |")
            continue
        t, mem = got["seconds"] / est.seconds, got["rss"] / (est.peak_bytes + BASE_RSS)
        ratios.append(t), memory.append(mem), start_up.append(got["seconds"] - compute)
        print(f"| `{section}` | {label} | {est.device.flops / 1e9:.0f} GFLOP/s | {got['seconds']:.0f} s | "
              f"{est.seconds:.0f} s ({compute:.0f} + {cost.OVERHEAD_S:.0f}) | {t:.2f} | "
              f"{cost.format_bytes(got['rss'])} | {cost.format_bytes(est.peak_bytes + BASE_RSS)} | {mem:.2f} |",
              flush=True)
    for name, values in (("time ratios", ratios), ("memory ratios", memory)):
        if values:
            print(f"\n{name.capitalize()} in [0.5, 2]: {sum(0.5 <= r <= 2 for r in values)} of {len(values)} "
                  f"(min {min(values):.2f}, max {max(values):.2f}).", end="")
    if start_up:
        print(f"\nStart-up the runs imply (measured − modelled compute): median {statistics.median(start_up):.0f} s, "
              f"range {min(start_up):.0f}–{max(start_up):.0f} s (the model's: {cost.OVERHEAD_S:.0f} s).", end="")
    print(f"\nLoad average {os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
