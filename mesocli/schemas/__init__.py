"""JSON Schemas (draft 2020-12) of meso's output contracts, shipped inside the package.

``recipe`` is what ``meso build --json`` writes, ``check`` what ``meso check --json`` writes,
``error`` the document written on failure under ``--json``, ``batch`` one line of
``meso batch`` output, ``list`` what the list and search commands write and ``show`` what the
show commands write. Each schema's ``$id`` is under ``https://meso.invalid/schemas/``, a
placeholder host (``.invalid`` is reserved by RFC 2606): it names the schema, nothing is served
there. ``batch.json`` embeds the other three under their own ``$id`` so it validates alone.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("recipe", "check", "batch", "error", "list", "show")
BASE_URI = "https://meso.invalid/schemas/"


def load(name: str) -> dict[str, Any]:
    """The schema called ``name`` (one of :data:`NAMES`) as a fresh dict."""
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r}; choose one of {', '.join(NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
