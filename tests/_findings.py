"""Matching a check document's findings against a case's expected patterns, and showing them
when a case fails: shared by the clinical case tables (test_check_cases, test_label_rules)."""

from __future__ import annotations

from typing import Any


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
