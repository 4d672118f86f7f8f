"""Rebuilds the embedded MNIST subset shipped in ``ntkcompanion/_data/``.

    python scripts/make_embedded_mnist.py --source DIR

DIR holds the four MNIST IDX ``.gz`` files (official, or re-gzipped copies such as
those ``scripts/provision_test_data.sh`` writes to ``DEST/mnist``). Each is verified
against the pinned registry (file or payload SHA-256). The subset is class-balanced
and deterministic: 400 train and 100 test images per digit, drawn without
replacement with ``np.random.default_rng(SEED)`` and kept in their original order.
Outputs: ``mnist_subset.npz`` (x_* uint8 (n, 28, 28, 1), y_* int64 (n,), idx_* int64
original indices) and ``mnist_subset.json`` (provenance). The npz is written with fixed
zip timestamps, so rerunning the script reproduces it byte for byte (for a given zlib).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path
import zipfile

import numpy as np

from ntkcompanion.data import _files, _readers
from ntkcompanion.data._registry import IDX_FILES, REGISTRY

SEED = 20220524
PER_CLASS = {"train": 400, "test": 100}
OUT_DIR = Path(__file__).resolve().parents[1] / "ntkcompanion" / "_data"
LICENCE = ("MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "
           "licensed under CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/). "
           "This file is a subset of it, redistributed under the same licence.")


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> bytes:
    """Writes a compressed npz with fixed member timestamps and returns its bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    raw = buffer.getvalue()
    path.write_bytes(raw)
    return raw


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
            _files.verify(path, entry)
            sources[path.name] = {"url": entry.url, "sha256": entry.sha256,
                                  "payload_sha256": entry.payload_sha256}
        images, labels = _readers.read_idx_pair(*paths)
        picked = np.sort(np.concatenate([
            rng.choice(np.flatnonzero(labels == digit), PER_CLASS[split], replace=False)
            for digit in range(10)]))
        arrays[f"x_{split}"] = images[picked]
        arrays[f"y_{split}"] = labels[picked]
        arrays[f"idx_{split}"] = picked.astype(np.int64)
        counts[split] = {str(d): int(np.sum(labels[picked] == d)) for d in range(10)}

    args.out.mkdir(parents=True, exist_ok=True)
    raw = _write_npz(args.out / _readers.EMBEDDED_NPZ, arrays)
    provenance = {
        "description": "Class-balanced subset of MNIST embedded in ntkcompanion.",
        "script": "scripts/make_embedded_mnist.py",
        "seed": SEED,
        "sampling": "per class, numpy.random.default_rng(seed).choice without replacement, "
                    "train then test, each digit 0..9 in turn; indices sorted",
        "counts": counts,
        "sources": sources,
        "source_check": "each source file matched the pinned sha256 of the published .gz "
                        "or the pinned payload_sha256 of its decompressed IDX content",
        "npz": _readers.EMBEDDED_NPZ,
        "npz_sha256": hashlib.sha256(raw).hexdigest(),
        "npz_bytes": len(raw),
        "arrays": {name: {"dtype": str(a.dtype), "shape": list(a.shape)}
                   for name, a in arrays.items()},
        "licence": LICENCE,
    }
    (args.out / _readers.EMBEDDED_JSON).write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {args.out / _readers.EMBEDDED_NPZ} ({len(raw)} bytes) and "
          f"{_readers.EMBEDDED_JSON}")


if __name__ == "__main__":
    main()
