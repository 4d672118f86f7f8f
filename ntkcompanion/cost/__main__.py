"""``python -m ntkcompanion.cost [--paper]``: calibrate the cost model on this machine, or print the paper table.

The paper table validates each section's block of ``params/paper.yaml`` against the section's
declarations (``sections.paper_values``): this entry point sits above both packages.
"""

from __future__ import annotations

import argparse

from ntkcompanion import sections
from ntkcompanion.cost import _calibrate, _model, _paper


def paper_table(path=None) -> str:
    """:func:`ntkcompanion.cost.paper_table` of every section's paper profile (``params/paper.yaml`` or ``path``)."""
    return _paper.paper_table({s: sections.paper_values(s, path) for s in sections.SECTIONS})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ntkcompanion.cost",
                                     description="Calibrate the cost model, or print the paper-profile estimates.")
    parser.add_argument("--paper", action="store_true",
                        help="print every section's paper-profile estimate as a Markdown table")
    if parser.parse_args(argv).paper:
        print(paper_table())
        return
    result = _calibrate.calibrate()
    print(f"float32 matmul: {result['matmul_flops'] / 1e9:.1f} GFLOP/s")
    for kind, ratio in result["ratios"].items():
        print(f"  {kind}: {ratio:.2f} of the matmul rate (model: {_model.EFFICIENCY[kind]:.2f})")


if __name__ == "__main__":
    main()
