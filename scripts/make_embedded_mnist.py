"""Rebuilds the embedded MNIST data shipped in ``ntkcompanion/_data/``.

    python scripts/make_embedded_mnist.py --source DIR

DIR holds the four MNIST IDX ``.gz`` files (official, or re-gzipped copies such as
those ``scripts/provision_test_data.sh`` writes to ``DEST/mnist``). Each is verified
against the pinned registry (file or payload SHA-256) before use.

Selection (deterministic, recorded in the provenance file):
- test: the complete official test set, all 10,000 images in their original order;
- train: a class-balanced subset, ``TRAIN_PER_CLASS`` images of each digit drawn
  without replacement with ``np.random.default_rng(SEED)`` (digits 0..9 in turn),
  the union kept in original order.

Outputs: ``mnist_subset.npz`` (x_* uint8 (n, 28, 28, 1), y_* int64 (n,), idx_* int64
indices into the official split) and ``mnist_subset.json`` (provenance: source files and
their SHA-256, the selection rule, the seed, per-class counts, the npz's SHA-256 and
size). The npz is deflate-compressed with fixed zip timestamps, so rerunning the script
reproduces it byte for byte (for a given zlib).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path
import zipfile

import numpy as np

from ntkcompanion import _io
from ntkcompanion.data import _files, _readers
from ntkcompanion.data._registry import IDX_FILES, REGISTRY

SEED = 20220524
TRAIN_PER_CLASS = 1000
OUT_DIR = Path(__file__).resolve().parents[1] / "ntkcompanion" / "_data"
LICENCE = ("MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "
           "licensed under CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/). "
           "This file holds the complete test set and a subset of the training set, "
           "redistributed under the same licence.")
SELECTION = {
    "test": "all images of the official test set, in their original order",
    "train": (f"{TRAIN_PER_CLASS} images per digit: for digit 0..9 in turn, "
              "numpy.random.default_rng(seed).choice(indices of that digit, "
              f"{TRAIN_PER_CLASS}, replace=False) on one generator; the union sorted "
              "into original order"),
}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Returns a deflate-compressed npz of ``arrays`` with fixed member timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def select(split: str, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Returns the sorted indices of one split's selection (see ``SELECTION``)."""
    if split == "test":
        return np.arange(len(labels), dtype=np.int64)
    return np.sort(np.concatenate([
        rng.choice(np.flatnonzero(labels == digit), TRAIN_PER_CLASS, replace=False)
        for digit in range(10)])).astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="directory with the four MNIST IDX .gz files")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = parser.parse_args()

    sources, arrays, counts = {}, {}, {}
    rng = np.random.default_rng(SEED)
    for split in ("train", "test"):
        paths = [args.source / name for name in IDX_FILES[split]]
        for path in paths:
            entry = REGISTRY["mnist"][path.name]
            placed = _files.verify(path, entry)
            sources[path.name] = {"url": entry.url, "published_sha256": entry.sha256,
                                  "payload_sha256": entry.payload_sha256,
                                  "used_file_sha256": placed}
        images, labels = _readers.read_idx_pair(*paths)
        picked = select(split, labels, rng)
        arrays[f"x_{split}"] = images[picked]
        arrays[f"y_{split}"] = labels[picked]
        arrays[f"idx_{split}"] = picked
        counts[split] = {str(d): int(np.sum(labels[picked] == d)) for d in range(10)}

    raw = npz_bytes(arrays)
    _io.atomic_write(args.out / _readers.EMBEDDED_NPZ, lambda f: f.write(raw))
    provenance = {
        "description": "MNIST embedded in ntkcompanion: the complete official test set and a "
                       "class-balanced subset of the official training set.",
        "script": "scripts/make_embedded_mnist.py",
        "seed": SEED,
        "selection": SELECTION,
        "counts": counts,
        "sources": sources,
        "source_check": "each source file matched the pinned sha256 of the published .gz "
                        "or the pinned payload_sha256 of its decompressed IDX content",
        "npz": _readers.EMBEDDED_NPZ,
        "npz_sha256": hashlib.sha256(raw).hexdigest(),
        "npz_bytes": len(raw),
        "arrays": {name: {"dtype": str(a.dtype), "shape": list(a.shape),
                          "sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()}
                   for name, a in arrays.items()},
        "licence": LICENCE,
    }
    _io.atomic_write_text(args.out / _readers.EMBEDDED_JSON, json.dumps(provenance, indent=2) + "\n")
    for name in (_readers.EMBEDDED_NPZ, _readers.EMBEDDED_JSON):
        (args.out / name).chmod(0o644)  # package data: readable by every user of an install
    print(f"wrote {args.out / _readers.EMBEDDED_NPZ} ({len(raw)} bytes) and "
          f"{_readers.EMBEDDED_JSON}")


if __name__ == "__main__":
    main()
