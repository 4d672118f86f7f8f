#!/usr/bin/env bash
# Puts MathJax 3 (the es5 bundle and its fonts) into DEST, from the npm registry, so that
# the built book renders its maths with no network (offline readers, the browser test).
# The published book can use it too; without it Jupyter Book loads MathJax from a CDN.
#
#   scripts/provision_mathjax.sh DEST      # then: scripts/build_book.py --mathjax DEST
#
# Idempotent; extracts to a temporary directory and renames, so an interrupted run leaves
# nothing that looks complete.
set -euo pipefail
VERSION=3.2.2
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
DEST=$1
if [[ -f $DEST/tex-mml-chtml.js && -f $DEST/.version-$VERSION ]]; then
  echo "mathjax: already in $DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "error: npm is needed to fetch mathjax@$VERSION (or put MathJax's es5/ directory in $DEST)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mathjax@$VERSION" >/dev/null && tar xzf "mathjax-$VERSION.tgz")
touch "$work/package/es5/.version-$VERSION"
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$work/package/es5" "$DEST"
echo "mathjax: provisioned $DEST"
