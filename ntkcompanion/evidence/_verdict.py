r"""The verdict on one claim: a statistic, its 95% CI, a control, and a three-state decision.

A claim is *supported* when the whole 95% confidence interval of its statistic lies beyond the
decision threshold in the claimed direction, *not supported* when the whole interval lies on the
wrong side, and *undetermined* otherwise. Undetermined always carries its reason: the interval
straddles the threshold, too few points or seeds, the attack saturated, a ceiling, a tie, or a
NaN statistic. A saturated, tied or NaN statistic is never read as "not supported": absence of
resolution is not evidence against a claim.

Example:
    >>> decide(0.31, (0.22, 0.40), threshold=0.1)
    ('supported', '95% CI above the threshold')
"""

import math
from dataclasses import asdict, dataclass, field

__all__ = ["Decision", "Reason", "Verdict", "decide", "make_verdict"]


class Decision:
    """The three states of a verdict (plain strings, so they survive JSON)."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not supported"
    UNDETERMINED = "undetermined"
    ALL = (SUPPORTED, NOT_SUPPORTED, UNDETERMINED)


class Reason:
    """Reasons a decision carries; the first two explain decisive verdicts."""

    ABOVE = "95% CI above the threshold"
    BELOW = "95% CI below the threshold"
    STRADDLES = "CI straddles the threshold"
    TOO_FEW = "too few points"
    SATURATED = "saturated"
    NAN = "NaN"
    TIE = "tie"
    CEILING = "ceiling"


DIRECTIONS = ("above", "below")


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def decide(estimate, ci, threshold, *, direction: str = "above", n=None, min_n: int = 1,
           saturated: bool = False, ceiling: bool = False, tie: bool = False) -> tuple[str, str]:
    """``(decision, reason)`` for a statistic whose claimed effect lies ``direction`` of ``threshold``.

    Args:
      estimate: the statistic's value.
      ci: ``(low, high)`` 95% confidence interval.
      threshold: the decision threshold, in the statistic's units.
      direction: ``"above"`` if the claim predicts values above the threshold, ``"below"`` otherwise.
      n: number of points (or seeds) behind the estimate; with ``min_n`` decides "too few points".
      saturated, ceiling, tie: flags the caller sets when the experiment could not resolve the
        effect (checked first, in this order, after "too few points").

    Returns:
      ``(decision, reason)``, both strings from :class:`Decision` and :class:`Reason`.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction = {direction!r} is not allowed: expected 'above' or 'below'.")
    if n is not None and n < min_n:
        return Decision.UNDETERMINED, Reason.TOO_FEW
    if saturated:
        return Decision.UNDETERMINED, Reason.SATURATED
    if ceiling:
        return Decision.UNDETERMINED, Reason.CEILING
    if tie:
        return Decision.UNDETERMINED, Reason.TIE
    low, high = ci
    if not _finite(estimate, low, high, threshold):
        return Decision.UNDETERMINED, Reason.NAN
    if low == high == threshold:
        return Decision.UNDETERMINED, Reason.TIE
    if low > threshold:
        return (Decision.SUPPORTED, Reason.ABOVE) if direction == "above" else \
            (Decision.NOT_SUPPORTED, Reason.ABOVE)
    if high < threshold:
        return (Decision.SUPPORTED, Reason.BELOW) if direction == "below" else \
            (Decision.NOT_SUPPORTED, Reason.BELOW)
    return Decision.UNDETERMINED, Reason.STRADDLES


def _json_number(x):
    """Floats for JSON; NaN and infinities become ``None`` (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _number(x):
    return float("nan") if x is None else float(x)


@dataclass
class Verdict:
    """One claim's verdict, as stored in a section's ``metrics.json`` under ``"verdicts"``.

    Attributes:
      claim: the paper's claim number, 1–7.
      statistic: short name of the statistic (``"transfer gap Δ (narrow − wide)"``).
      definition: the statistic in words, with its population (test points, seeds) and attack.
      estimate: its value; ``ci``: its 95% interval ``(low, high)``.
      control: the control or null it is compared with; ``control_value``: that control's value.
      threshold: the decision threshold; ``direction``: ``"above"`` or ``"below"`` it is claimed.
      decision: one of :class:`Decision`; ``reason``: why (a :class:`Reason`, maybe with a note).
      n: number of test points (or seeds) behind the estimate.
      details: extra JSON-able numbers (curves, counts) for pages and figures.
      key: a unique slug for the verdict (``"claim2_trend"``), for glue names when a claim has
        several verdicts; defaults to ``"claim<n>"``.
    """

    claim: int
    statistic: str
    definition: str
    estimate: float
    ci: tuple
    control: str
    control_value: float
    threshold: float
    decision: str
    reason: str
    n: int
    direction: str = "above"
    details: dict = field(default_factory=dict)
    key: str = ""

    def __post_init__(self):
        self.key = self.key or f"claim{self.claim}"
        if self.claim not in range(1, 8):
            raise ValueError(f"claim = {self.claim!r} is not allowed: expected an integer 1–7.")
        if self.decision not in Decision.ALL:
            raise ValueError(f"decision = {self.decision!r} is not allowed: expected one of {Decision.ALL}.")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction = {self.direction!r} is not allowed: expected 'above' or 'below'.")
        self.ci = (float(self.ci[0]), float(self.ci[1]))

    def to_dict(self) -> dict:
        """A JSON-able dict (NaN → ``None``); inverse of :meth:`from_dict`."""
        record = asdict(self)
        record["estimate"] = _json_number(self.estimate)
        record["ci"] = [_json_number(c) for c in self.ci]
        record["control_value"] = _json_number(self.control_value)
        record["threshold"] = _json_number(self.threshold)
        record["n"] = int(self.n)
        return record

    @classmethod
    def from_dict(cls, record: dict) -> "Verdict":
        """The verdict stored by :meth:`to_dict` (``None`` → NaN)."""
        ci = record.get("ci") or (None, None)
        return cls(claim=int(record["claim"]), statistic=record["statistic"],
                   definition=record.get("definition", ""), estimate=_number(record.get("estimate")),
                   ci=(_number(ci[0]), _number(ci[1])), control=record.get("control", ""),
                   control_value=_number(record.get("control_value")),
                   threshold=_number(record.get("threshold")), decision=record["decision"],
                   reason=record.get("reason", ""), n=int(record.get("n", 0)),
                   direction=record.get("direction", "above"), details=dict(record.get("details") or {}),
                   key=record.get("key", ""))


def make_verdict(claim: int, statistic: str, definition: str, estimate, ci, *, threshold,
                 control: str, control_value, n: int, direction: str = "above", min_n: int = 1,
                 saturated: bool = False, ceiling: bool = False, tie: bool = False,
                 undetermined: str | None = None, override: tuple | None = None, note: str = "",
                 details: dict | None = None, key: str = "") -> Verdict:
    """A :class:`Verdict` whose decision comes from :func:`decide`.

    ``undetermined`` forces an undetermined decision with that reason (for conditions
    :func:`decide` cannot see, e.g. "clean accuracy not above the majority rate");
    ``override = (decision, reason)`` sets both, for a decisive condition outside the CI
    (e.g. a confirmation step that failed). ``note`` is appended to the reason.
    """
    if override is not None:
        decision, reason = override
    elif undetermined is not None:
        decision, reason = Decision.UNDETERMINED, undetermined
    else:
        decision, reason = decide(estimate, ci, threshold, direction=direction, n=n, min_n=min_n,
                                  saturated=saturated, ceiling=ceiling, tie=tie)
    if note:
        reason = f"{reason}; {note}"
    return Verdict(claim=claim, statistic=statistic, definition=definition, estimate=_number(estimate),
                   ci=(_number(ci[0]), _number(ci[1])), control=control,
                   control_value=_number(control_value), threshold=float(threshold), decision=decision,
                   reason=reason, n=int(n), direction=direction, details=details or {}, key=key)
