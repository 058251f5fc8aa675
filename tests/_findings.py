"""Writing a case's expected finding patterns, matching a check document's findings against
them, and showing the findings when a case fails: shared by the clinical case tables
(test_check_cases, test_label_rules)."""

from __future__ import annotations

from typing import Any


def want(
    severity: str | None = None,
    kind: str | None = None,
    subject: str | None = None,
    trigger: str | None = None,
    in_message: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A finding pattern: only the keys given are matched (see :func:`matches`)."""
    pattern = {
        "severity": severity,
        "kind": kind,
        "subject": subject,
        "trigger": trigger,
        "in_message": in_message,
        **extra,
    }
    return {k: v for k, v in pattern.items() if v is not None}


def matches(finding: dict[str, Any], pattern: dict[str, Any]) -> bool:
    """Whether ``finding`` has every key of ``pattern`` (``in_message``: a part of its message)."""
    for key, value in pattern.items():
        if key == "in_message":
            if value not in finding["message"]:
                return False
        elif finding.get(key) != value:
            return False
    return True


def show(findings: list[dict[str, Any]]) -> str:
    """One line per finding, for an assertion message."""
    return (
        "\n".join(
            f"  {f['severity']:<15} {f['kind']:<15} {f['subject']:<35} {f['trigger']:<30} "
            f"{f.get('path') or ''}"
            for f in findings
        )
        or "  (no findings)"
    )
