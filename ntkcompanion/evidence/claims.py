"""The decision function of each of the paper's seven claims; each returns :class:`Verdict` objects.

Every function takes plain arrays (per-point 0/1 correctness, per-seed values, curves), computes one
statistic per verdict with a 95% interval and a control, and decides in three states through
:func:`~ntkcompanion.evidence.decide`. A section passes the returned verdicts to
``record.report(..., verdicts=[v.to_dict() for v in verdicts])``; the claims page reads them.
:func:`threshold_sensitivity` shows how a verdict moves when its threshold moves.
"""

from ntkcompanion.evidence._claims_attacks import budget_curves, claim1, claim2
from ntkcompanion.evidence._claims_confirm import claim6
from ntkcompanion.evidence._claims_consistency import claim4, subspace_overlap
from ntkcompanion.evidence._claims_features import claim3, permuted_correctness
from ntkcompanion.evidence._claims_spectrum import claim5
from ntkcompanion.evidence._claims_training import claim7, lazy_epochs

__all__ = ["budget_curves", "claim1", "claim2", "claim3", "claim4", "claim5", "claim6", "claim7", "lazy_epochs",
           "permuted_correctness", "subspace_overlap", "threshold_sensitivity"]


def threshold_sensitivity(claim_fn, parameter: str, values, *args, which: int = 0, **kwargs) -> list[dict]:
    """Decision of verdict ``which`` of ``claim_fn(*args, **kwargs)`` as keyword ``parameter`` takes each value.

    Example: ``threshold_sensitivity(claim1, "threshold", [0.05, 0.1, 0.2], eps, kc, nc, y)`` gives
    ``[{"threshold": 0.05, "estimate": ..., "ci": [...], "decision": ..., "reason": ...}, ...]``.
    """
    rows = []
    for value in values:
        verdicts = claim_fn(*args, **{**kwargs, parameter: value})
        verdict = verdicts[which] if isinstance(verdicts, list) else verdicts
        rows.append({parameter: value, "estimate": verdict.estimate, "ci": list(verdict.ci),
                     "decision": verdict.decision, "reason": verdict.reason})
    return rows
