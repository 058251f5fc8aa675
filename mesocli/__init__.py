"""meso: formulate mesotherapy cocktails and check them for safety, from a sourced catalogue.

The public Python API::

    from mesocli import Patient, build, check, load_catalogue

    result = check(Patient(allergies=["lidocaine"]), ingredients=["hyaluronic-acid"])
    print(result.status, [f.message for f in result.findings])

meso is decision support for qualified practitioners; it does not replace clinical judgement.
Names are imported lazily so that ``import mesocli`` stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Catalogue",
    "CheckResult",
    "DatabaseError",
    "Finding",
    "InputError",
    "MesoError",
    "Patient",
    "Recipe",
    "UnitError",
    "UnknownTermError",
    "__version__",
    "build",
    "check",
    "load_catalogue",
]

_LAZY = {
    "Catalogue": "mesocli.domain.catalogue",
    "CheckResult": "mesocli.domain.engine",
    "Finding": "mesocli.domain.engine",
    "Patient": "mesocli.domain.patient",
    "build": "mesocli.api",
    "check": "mesocli.api",
    "Recipe": "mesocli.domain.formulate",
    "load_catalogue": "mesocli.api",
    "MesoError": "mesocli.errors",
    "InputError": "mesocli.errors",
    "UnknownTermError": "mesocli.errors",
    "UnitError": "mesocli.errors",
    "DatabaseError": "mesocli.errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.api import build, check, load_catalogue
    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.engine import CheckResult, Finding
    from mesocli.domain.formulate import Recipe
    from mesocli.domain.patient import Patient
    from mesocli.errors import DatabaseError, InputError, MesoError, UnitError, UnknownTermError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mesocli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
