"""The cost model on an accelerator: every section at paper-like sizes, measured vs predicted time and memory.

Run (on a machine whose JAX sees a GPU; no network needed):

    python benchmarks/gpu_check.py                         # every section, about 10 minutes on one GPU
    python benchmarks/gpu_check.py --sections 01_ntk_primer --scale 0.5
    python benchmarks/gpu_check.py --dry-run               # the cases and predictions only, nothing run

Each section runs its notebook (papermill, fresh process, empty array cache) with its block of
``params/paper.yaml`` (the paper's architectures, 32×32×3 images, ε = 8/255 and its steps), on a
CIFAR-shaped ``.npz`` of random pixels written here (the runtime does not depend on the pixel
values, and nothing is downloaded), with the sizes of :data:`GPU_SIZES` times ``--scale`` so each
case takes about a minute on a T4-class GPU. Measured: wall time, peak device memory (``nvidia-smi``
polled every 0.2 s; JAX started with ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` so it allocates what it
uses) and peak host RSS. Predicted: ``ntkcompanion.cost.estimate`` of the same parameters on the
device JAX sees (``cost.current_device()``). It never runs in CI or the tests; record its table in
``benchmarks/README.md`` with the GPU's name when you run it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import bench_cost  # noqa: E402
from ntkcompanion import cost, sections  # noqa: E402

CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: Sizes over each section's paper block: paper-like shapes and kernels, about a minute of work on a T4.
#: Integers are multiplied by ``--scale`` (at least 1 where they count images, epochs or seeds).
GPU_SIZES = {
    "01_ntk_primer": {"N_TRAIN": 300, "N_TEST": 200, "WIDTHS": [64, 1024], "N_KERNEL": 16, "N_SEEDS": 1},
    "02_training_free_attacks": {"N_TRAIN": 1000, "N_TEST": 500, "N_TRAIN_MULTI": 1000, "N_TEST_MULTI": 300},
    "03_transfer": {"N_TRAIN": 1000, "N_TEST": 500, "N_SEEDS": 1, "TRAIN_STEPS": 300},
    "04_eigen_features": {"N_TRAIN": 1000, "N_LEADING": 200, "N_PERMUTATIONS": 20},
    "05_learned_early": {"N_TRAIN": 1000},
    "06_consistency": {"N_TRAIN": 100, "N_TEST": 200, "N_COMPARE": 100, "N_AGREEMENT": 30, "TOP_K": 10,
                       "N_BINS": 5},
    "07_seeing_features": {"N_TRAIN": 1000, "N_TEST": 500, "N_PERMUTATIONS": 20},
    "08_adversarial_training": {"N_TRAIN": 5000, "N_TEST": 1000, "EPOCHS": 2, "N_SEEDS": 1, "N_SNAPSHOT": 50,
                                "SWITCH_EPOCHS": [0, 1], "TRANSIENT_EPOCHS": 1},
}
_SCALED = {"N_TRAIN", "N_TEST", "N_TRAIN_MULTI", "N_TEST_MULTI", "N_COMPARE", "TRAIN_STEPS", "N_LEADING",
           "N_PERMUTATIONS"}


def cifar_like(path: Path, n_train: int = 50_000, n_test: int = 10_000, seed: int = 0) -> Path:
    """Writes a CIFAR-10-shaped ``.npz`` of random uint8 pixels with balanced labels and CIFAR-10's class names."""
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
             y_train=np.arange(n_train) % 10, x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
             y_test=np.arange(n_test) % 10, class_names=np.array(CIFAR10))
    return path


def case(section: str, dataset: str, scale: float) -> dict:
    """The section's paper block with :data:`GPU_SIZES` (scaled) and the CIFAR-shaped dataset."""
    block = dict(yaml.safe_load((ROOT / "params" / "paper.yaml").read_text()).get(section) or {})
    sizes = {k: (max(1, round(v * scale)) if k in _SCALED else v) for k, v in GPU_SIZES[section].items()}
    return block | sizes | {"DATASET": dataset}


class DevicePeak:
    """Peak ``memory.used`` of GPU 0 while the block runs (``nvidia-smi`` polled), bytes; ``None`` without it."""

    def __enter__(self):
        self.peak, self._stop = None, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits",
                                      "-i", "0"], capture_output=True, text=True, timeout=5).stdout
                used = float(out.split()[0]) * 2**20
                self.peak = used if self.peak is None else max(self.peak, used)
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                return
            time.sleep(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="+", default=list(sections.SECTIONS), choices=sections.SECTIONS,
                        metavar="SECTION", help="sections to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the image counts and steps (> 0)")
    parser.add_argument("--dry-run", action="store_true", help="print the cases and predictions, run nothing")
    args = parser.parse_args(argv)
    if not args.scale > 0:
        parser.error(f"--scale = {args.scale} is not allowed: expected a number > 0.")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    device = cost.current_device()
    print(f"## Cost model on {device.name} (JAX sees {jax.devices()[0].device_kind}), scale {args.scale:g}\n")
    print("| section | measured | predicted | time ratio | device peak | predicted device | host RSS "
          "| predicted host + base |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        dataset = str(cifar_like(Path(tmp) / "cifar_like.npz"))
        for section in args.sections:
            values = case(section, dataset, args.scale)
            p = sections.setup(section, sections.defaults(section) | values, display=False, glue=False)
            est = cost.estimate(section, p, device)
            if args.dry_run:
                print(f"| `{section}` | not run | {est.seconds:.0f} s | | | {cost.format_bytes(est.device_bytes)} "
                      f"| | {cost.format_bytes(est.host_bytes + bench_cost.BASE_RSS)} |")
                continue
            os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
            with tempfile.TemporaryDirectory(dir=tmp) as work, DevicePeak() as peak:
                got = bench_cost.measure(section, values, Path(work))
            if got["rc"] != 0:
                print(f"| `{section}` | failed (exit {got['rc']}) | {est.seconds:.0f} s | | | | | |", flush=True)
                continue
            dev = cost.format_bytes(peak.peak) if peak.peak is not None else "n/a"
            print(f"| `{section}` | {got['seconds']:.0f} s | {est.seconds:.0f} s | {got['seconds'] / est.seconds:.2f} "
                  f"| {dev} | {cost.format_bytes(est.device_bytes)} | {cost.format_bytes(got['rss'])} | "
                  f"{cost.format_bytes(est.host_bytes + bench_cost.BASE_RSS)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
