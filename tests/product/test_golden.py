"""The engine's and the formulator's outputs stay byte-identical to the recorded goldens.

The goldens (``tests/golden/*.ndjson`` and ``*.txt``) are every indication x area build and a
seeded matrix of checks, recipe checks, screens and patient builds on the shipped catalogue,
in JSON and in the text people read. After an intended change of output, run
``python tests/golden/record.py`` and review the diff.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _recorder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("golden_record", GOLDEN / "record.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORD = _recorder()


@pytest.mark.parametrize("family", list(RECORD.FAMILIES))
def test_outputs_match_the_goldens(family: str) -> None:
    """Each family's JSON and text, worked out again, equal the recorded files byte for byte."""
    from mesocli.api import load_catalogue

    ndjson, text = RECORD.render_family(load_catalogue(), family)
    assert ndjson == (GOLDEN / f"{family}.ndjson").read_text(encoding="utf-8")
    assert text == (GOLDEN / f"{family}.txt").read_text(encoding="utf-8")


def test_goldens_cover_every_finding_kind_a_check_can_give() -> None:
    """The recorded matrix gives every kind of finding: a golden that never showed a dose or
    protocol finding could not catch a change to those rules."""
    from mesocli.domain.engine import FINDING_KINDS

    recorded = "".join((GOLDEN / f"{family}.ndjson").read_text(encoding="utf-8") for family in RECORD.FAMILIES)
    missing = [kind for kind in FINDING_KINDS if f'"kind":"{kind}"' not in recorded]
    assert missing == []
