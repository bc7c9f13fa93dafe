"""The outcome of verification: :class:`Check`, :class:`Report`, :class:`DatasetReport`.

A check has a status and a severity:

Statuses
--------
``pass``, ``fail``
    The check ran; the measured value is within (or beyond) its tolerance.
``warn``
    A ``warning`` check beyond its tolerance (a failure with ``strict=True``).
``info``
    A documented layout quirk the reader handled, or an ``info`` check beyond
    its tolerance. Never fails.
``skip``
    The check could not run; its message says why (no depth map, no rule for
    the stored Euler angles, an unreadable landmark file, ...). Never fails.

Reports print as aligned tables (``str(report)``) and serialise to JSON
(``report.to_json()``); a :class:`DatasetReport` adds per-check counts of every
status and the worst value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "STATUSES",
    "Check",
    "DatasetReport",
    "Diagnosis",
    "Report",
    "failure",
    "measured",
    "noted",
    "skipped",
    "verdict",
]

STATUSES = ("pass", "fail", "warn", "info", "skip")
"""Every status a :class:`Check` can have, in the order reports list them."""


@dataclass(frozen=True)
class Check:
    """One named check and its outcome.

    Attributes
    ----------
    name : str
        Dotted name, e.g. ``"landmarks.reprojection.ibug68"``.
    status : {"pass", "fail", "warn", "info", "skip"}
    severity : {"error", "warning", "info"}
    value : float or None
        The measured value (see ``unit``); None when nothing was measured.
    tolerance : float or None
        The largest value that passes.
    unit : str
    message : str
        What was measured, in words; for ``skip``, why the check did not run.
    hint : str
        How to read or fix a failure.
    """

    name: str
    status: str
    severity: str
    value: float | None = None
    tolerance: float | None = None
    unit: str = ""
    message: str = ""
    hint: str = ""

    @property
    def failed(self) -> bool:
        """True when the check fails verification."""
        return self.status == "fail"

    @property
    def skipped(self) -> bool:
        """True when the check could not run (:attr:`message` says why)."""
        return self.status == "skip"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (non-finite numbers as ``None``, ``"inf"``, ``"-inf"``)."""
        return {  # the fields in order (dataclasses.asdict, without its deep copies)
            "name": self.name,
            "status": self.status,
            "severity": self.severity,
            "value": _json_number(self.value),
            "tolerance": _json_number(self.tolerance),
            "unit": self.unit,
            "message": self.message,
            "hint": self.hint,
        }


def _json_number(v: float | None) -> float | str | None:
    if v is None or math.isfinite(v):
        return v
    return None if math.isnan(v) else ("inf" if v > 0 else "-inf")


def measured(
    name: str,
    value: float,
    tolerance: float,
    *,
    severity: str = "error",
    unit: str = "",
    message: str = "",
    hint: str = "",
    strict: bool = False,
) -> Check:
    """A check that passes when ``value <= tolerance``.

    Beyond the tolerance an ``error`` fails, a ``warning`` warns (fails when
    ``strict``) and an ``info`` check is information. The hint is kept only when
    the check does not pass.
    """
    ok = bool(value <= tolerance)
    if ok:
        status = "pass"
    elif severity == "error" or (severity == "warning" and strict):
        status = "fail"
    elif severity == "warning":
        status = "warn"
    else:
        status = "info"
    return Check(
        name, status, severity, float(value), float(tolerance), unit, message, "" if ok else hint
    )


def verdict(name: str, ok: bool, *, message: str, hint: str = "", **numbers: Any) -> Check:
    """An ``error`` check decided by ``ok`` (hint kept only on failure).

    ``numbers`` may give ``value``, ``tolerance`` and ``unit`` for the report.
    """
    return Check(
        name, "pass" if ok else "fail", "error", message=message, hint="" if ok else hint, **numbers
    )


def failure(name: str, message: str, hint: str = "", **numbers: Any) -> Check:
    """A failed ``error`` check (something that cannot be measured contradicts itself)."""
    return Check(name, "fail", "error", message=message, hint=hint, **numbers)


def noted(name: str, message: str, hint: str = "") -> Check:
    """Information: a quirk the reader handled. Never fails."""
    return Check(name, "info", "info", message=message, hint=hint)


def skipped(name: str, reason: str) -> Check:
    """A check that could not run, with the reason."""
    return Check(name, "skip", "info", message=reason)


class Diagnosis(NamedTuple):
    """One kind of mistake whose inverse fixes a failing frame (see ``verify(diagnose=True)``)."""

    kind: str
    residual_before: float
    residual_after: float


@dataclass(frozen=True)
class Report:
    """The checks of one frame.

    Attributes
    ----------
    frame_id, vendor : str
    version : str or None
    checks : tuple of Check
    diagnosis : tuple of Diagnosis
        With ``verify(frame, diagnose=True)`` on a failing frame: the kinds of
        :data:`camgeom.testing.KINDS` whose inverse fixes failing checks, best
        first, with the residual of :attr:`diagnosis_check` before and after.
    diagnosis_check : str
        The failing check the diagnosis residuals are measured on.
    """

    frame_id: str
    vendor: str
    version: str | None
    checks: tuple[Check, ...]
    diagnosis: tuple[Diagnosis, ...] = ()
    diagnosis_check: str = ""

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not any(c.failed for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The failing checks."""
        return tuple(c for c in self.checks if c.failed)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks with status ``warn``."""
        return tuple(c for c in self.checks if c.status == "warn")

    @property
    def skips(self) -> tuple[Check, ...]:
        """The checks that could not run."""
        return tuple(c for c in self.checks if c.skipped)

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; checks: {', '.join(c.name for c in self.checks)}")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "frame_id": self.frame_id,
            "vendor": self.vendor,
            "version": self.version,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "diagnosis": [
                {
                    "kind": d.kind,
                    "check": self.diagnosis_check,
                    "residual_before": _json_number(d.residual_before),
                    "residual_after": _json_number(d.residual_after),
                }
                for d in self.diagnosis
            ],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def __str__(self) -> str:
        head = f"{self.frame_id} ({self.vendor} {self.version or 'unversioned'}): " + (
            "PASS" if self.passed else f"FAIL ({len(self.failures)} failing)"
        )
        rows = [("check", "status", "value", "tolerance", "note")]
        for c in self.checks:
            rows.append(
                (
                    c.name,
                    c.status.upper(),
                    _with_unit(c.value, c.unit),
                    _fmt(c.tolerance),
                    c.hint or c.message,
                )
            )
        return head + "\n" + _render(rows) + self._diagnosis_text()

    def _diagnosis_text(self) -> str:
        if not self.diagnosis:
            return ""
        name = self.diagnosis_check
        unit = self[name].unit if name in self else ""
        lines = ["", "diagnosis (best first):"]
        for d in self.diagnosis:
            lines.append(
                f"  {d.kind}: {name or 'failing checks'} "
                f"{_with_unit(d.residual_before, unit)} -> {_with_unit(d.residual_after, unit)}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class DatasetReport:
    """Reports of many frames, with unreadable frames listed apart.

    Attributes
    ----------
    reports : tuple of Report
    unreadable : tuple of (frame_id, message)
        Frames whose files could not be read.
    """

    reports: tuple[Report, ...]
    unreadable: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when every frame was read and passed."""
        return not self.unreadable and all(r.passed for r in self.reports)

    def summary(self) -> list[dict[str, Any]]:
        """Per check name: counts of each status, and the worst frame's value, tolerance and note.

        The worst value, its tolerance, unit and frame (``"worst_frame"``) come
        from one frame: the failing frame with the largest value (any frame when
        none failed). The note (``"hint"``) is that frame's hint or message when
        it failed; else the first failure's hint; for a check that never failed
        but was skipped, the first reason it was skipped.
        """
        by: dict[str, dict[str, Any]] = {}
        for r in self.reports:
            for c in r.checks:
                s = by.setdefault(
                    c.name,
                    {
                        "check": c.name,
                        "worst": None,
                        "tolerance": c.tolerance,
                        "unit": c.unit,
                        "worst_frame": None,
                        "hint": "",
                        "_worst_failed": False,
                    }
                    | {k: 0 for k in STATUSES},
                )
                s[c.status] += 1
                if c.value is not None:
                    # a failing value outranks a larger passing one (other tolerance)
                    key = (c.failed, c.value)
                    if s["worst"] is None or key > (s["_worst_failed"], s["worst"]):
                        s.update(
                            worst=c.value,
                            tolerance=c.tolerance,
                            unit=c.unit,
                            worst_frame=r.frame_id,
                            _worst_failed=c.failed,
                        )
                        if c.failed:
                            s["hint"] = c.hint or c.message
                if c.failed and not s["hint"]:
                    s["hint"] = c.hint or c.message
                elif c.skipped and not s["fail"] and not s["hint"]:
                    s["hint"] = f"skipped: {c.message}"
        for s in by.values():
            del s["_worst_failed"]
        return list(by.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: summary, per-frame reports and unreadable frames."""
        summ = self.summary()
        for s in summ:
            s["worst"] = _json_number(s["worst"])
        return {
            "passed": self.passed,
            "frames": len(self.reports),
            "failed_frames": sum(not r.passed for r in self.reports),
            "unreadable": [{"frame_id": f, "message": m} for f, m in self.unreadable],
            "summary": summ,
            "reports": [r.to_dict() for r in self.reports],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The dataset report as JSON text."""
        return json.dumps(self.to_dict(), **({"indent": 2} | kwargs))

    def __str__(self) -> str:
        n_fail = sum(not r.passed for r in self.reports)
        table = dataset_table(
            len(self.reports), n_fail, len(self.unreadable), self.passed, self.summary()
        )
        lines = [table]
        lines += [f"UNREADABLE {fid}: {msg}" for fid, msg in self.unreadable]
        return "\n".join(lines)


def dataset_table(
    frames: int,
    failing: int,
    unreadable: int,
    passed: bool,
    summary: Iterable[Mapping[str, Any]],
) -> str:
    """The dataset table: a head line and one row per check of ``summary`` (see
    :meth:`DatasetReport.summary`), worst value, tolerance and note from the named frame."""
    head = f"{frames} frames verified, {failing} failing, {unreadable} unreadable: " + (
        "PASS" if passed else "FAIL"
    )
    rows = [("check", *STATUSES, "worst", "tolerance", "worst frame", "note")]
    for s in summary:
        rows.append(
            (
                s["check"],
                *(str(s[k]) for k in STATUSES),
                _with_unit(s["worst"], s["unit"]),
                _fmt(s["tolerance"]),
                s["worst_frame"] or "",
                s["hint"],
            )
        )
    return "\n".join([head, "", _render(rows)])


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if v == 0:
        return "0"
    return f"{v:.3g}"


def _with_unit(v: float | None, unit: str) -> str:
    return _fmt(v) + (f" {unit}" if unit and v is not None else "")


def _render(rows: Sequence[tuple[str, ...]]) -> str:
    """Align every column but the last (a free-text note); rule under the header."""
    n = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(n)) + "  " + r[n] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)
