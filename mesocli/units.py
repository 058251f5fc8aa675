"""The one unit registry, and the only place where text becomes a quantity.

The registry is built lazily: commands that never touch a quantity (``meso --help``,
``meso ingredients list``) never import pint. Every quantity meso handles is made by this
module's registry, so quantities always interoperate.

Accepted forms (case of unit symbols matters, as in pint):

* ``"20 mg/mL"``, ``"0.5 mL"``, ``"25 cm**2"``, ``"25 cm^2"``, ``"25 cm²"``, ``"70 kg"``
* ``"2 % w/v"`` (grams per 100 mL), also ``"2% w/v"`` and ``"2 %w/v"``
* ``"1.5 g/(100 mL)"``; the juxtaposed ``"1.5 g/100 mL"`` is refused as ambiguous
* ``"1000 IU"`` and ``"1000 IU/mL"``: international units, a dimension of their own that
  converts to mass only through a substance's own factor
* ``"150 USP/mL"``: USP enzyme units (hyaluronidase)
* ``{"value": 20, "unit": "mg/mL"}``: the JSON form meso writes

A bare ``%`` is refused for concentrations: it does not say w/v, w/w or v/v.

Unit symbols are read exactly as written (case included) and only from the short list each kind
of quantity may use (``UNIT_WORDS``): pint would read ``ML`` as megalitres, ``Mg`` as megagrams
and multiply by ``percent``, ``ppm``, ``turn`` or ``radian`` without a word; meso refuses them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.errors import UnitError

if TYPE_CHECKING:  # pragma: no cover
    import pint

_REGISTRY: pint.UnitRegistry | None = None

Units = Any  # a unit text ("mg/mL"), or the units of a quantity as pint holds them (units_of)

# The dimension each kind of quantity must have, as pint dimensionality strings.
KINDS: dict[str, str] = {
    "mass": "[mass]",
    "volume": "[length] ** 3",
    "length": "[length]",
    "area": "[length] ** 2",
    "time": "[time]",
    "concentration": "[mass] / [length] ** 3",
    "activity-concentration": "[biological_activity] / [length] ** 3",
    "usp-concentration": "[usp_activity] / [length] ** 3",
    "mass-per-area": "[mass] / [length] ** 2",
    "mass-per-body-mass": "",  # dimensionless (mg/kg)
    "activity": "[biological_activity]",
}

KIND_NAMES = {"mass": "a mass", "volume": "a volume", "length": "a length", "area": "an area",
              "time": "a duration", "concentration": "a concentration",
              "activity-concentration": "an activity concentration", "usp-concentration": "an activity concentration",
              "mass-per-area": "a mass per area", "mass-per-body-mass": "a dose per body mass",
              "activity": "an activity"}

# Kinds that accept one another: a concentration may be given by mass or by activity.
CONCENTRATION_KINDS = ("concentration", "activity-concentration", "usp-concentration")

# ASCII digits only: other scripts' digits (Bengali '৪' is 4 but looks like 8) are refused.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER}|nan|inf|infinity)\s*(.*?)\s*$", re.IGNORECASE)
_UNIT_CHARS_RE = re.compile(r"^[A-Za-zµμ²³°%/*^().\s0-9_]*$")
_PERCENT_RE = re.compile(r"^%\s*(w/v|w/w|v/v)?$", re.IGNORECASE)
_AMBIGUOUS_RE = re.compile(r"/\s*\d")
# Unit text is checked against this small grammar before pint sees it: unit words, '/', '*',
# a one-digit exponent, and a numeric factor only as the divisor of '/(100 mL)'. Anything
# else (stray numbers, exponent towers, unbalanced parentheses) is refused here, so pint's
# expression evaluator never multiplies a dose by a stray number or computes 9**9**9.
_EXPONENT_RE = re.compile(r"(\*\*|\^)\s*-?\d(?!\d)")
_DIVISOR_RE = re.compile(r"/\s*\(\s*\d+(?:\.\d+)?\s+(?=[A-Za-zµμ])")
_MAX_TEXT = 64


@dataclass(frozen=True, slots=True)
class Amount:
    """A magnitude with its unit text, as stored in the catalogue; no pint needed to hold it."""

    value: float
    unit: str

    def quantity(self) -> pint.Quantity:
        return Q_(self.value, self.unit)

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"


def registry() -> pint.UnitRegistry:
    """Return the process-wide registry, creating it on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _make_registry()
    return _REGISTRY


def _make_registry() -> pint.UnitRegistry:
    import pint

    ureg = _build_with_cache(pint.UnitRegistry)
    # Display litres as "L" so volumes print as "mL", the clinical and UCUM spelling.
    ureg.define("liter = decimeter ** 3 = L = l = litre")
    ureg.define("international_unit = [biological_activity] = IU = iu")
    ureg.define("usp_unit = [usp_activity] = USP")
    ureg.define("mcg = microgram")
    ureg.formatter.default_format = "~P"
    pint.set_application_registry(ureg)
    return ureg


_MEMO_LIMIT = 4096
_UNIT_QUANTITIES: dict[str, Any] = {}
_UNIT_TEXT: dict[tuple[Any, str], str] = {}
_PARSED_TEXT: dict[tuple[Any, str, bool], tuple[float, Any]] = {}
_VALUE_TEXT: dict[tuple[float, Any], str] = {}  # the text of a magnitude in a unit: doses recur


def _build_with_cache(make: Callable[..., Any]) -> Any:
    """``make(cache_folder=...)`` with pint's cache of parsed definitions when it can be trusted.

    pint keeps that cache as pickle files, and unpickling runs code, so the folder is used only
    when it and every file in it belong to this user and no one else can write them (see
    :func:`_trusted_folder`); the lock on it is waited for at most ``LOCK_WAIT`` seconds. A
    cache pint cannot read (truncated, corrupt, from another pint) is emptied and written again.
    Whatever goes wrong with the cache, the registry is built from pint's definition files.
    """
    folder = _definitions_cache()
    lock = _locked(folder)
    if lock is None:
        return make(cache_folder=None, autoconvert_offset_to_baseunit=True)
    try:
        if not _trusted_folder(folder):
            return make(cache_folder=None, autoconvert_offset_to_baseunit=True)
        mask = os.umask(0o077)  # what pint writes there is this user's alone
        try:
            try:
                return make(cache_folder=folder, autoconvert_offset_to_baseunit=True)
            except Exception:  # an unreadable cache file: start it again
                _empty(folder)
                return make(cache_folder=folder, autoconvert_offset_to_baseunit=True)
        finally:
            os.umask(mask)
    except Exception:  # a cache folder that cannot be written at all
        return make(cache_folder=None, autoconvert_offset_to_baseunit=True)
    finally:
        os.close(lock)  # closing releases the lock


LOCK_WAIT = 10.0  # seconds to wait for another process writing pint's cache, then go on without it


def _definitions_cache() -> str | None:
    """pint's cache of its parsed unit definitions, under meso's own cache directory.

    Building the registry from pint's definition files takes a few hundred milliseconds;
    from pint's cache, a few tens. Without a usable cache directory pint parses the files.
    """
    try:
        from mesocli import config

        folder = config.home_dir() / "cache" / "pint"
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
        if not os.access(folder, os.W_OK):
            return None
        return str(folder)
    except Exception:  # any problem with the cache only costs time
        return None


def _owned_privately(info: os.stat_result) -> bool:
    """Whether a file or folder belongs to this user and no one else may write it."""
    import stat

    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted_folder(folder: str) -> bool:
    """Whether pint may read its pickles from ``folder``: the folder and its parent are real
    directories (not links) of this user that no one else can write, and every entry in it is
    a regular file of this user that no one else can write."""
    import stat

    try:
        for path in (os.path.dirname(folder), folder):
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or not _owned_privately(info):
                return False
        with os.scandir(folder) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode) or not _owned_privately(info):
                    return False
    except OSError:
        return False
    return True


def _empty(folder: str) -> None:
    """Remove pint's cache files (not the lock), so the next build writes them afresh."""
    import contextlib

    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name != ".lock" and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _locked(folder: str | None) -> int | None:
    """An exclusive lock on pint's cache folder, held while the registry reads or writes it.

    pint writes its cache files in place, so a process starting while another is still writing
    them would read half a file and lose unit definitions. Processes starting together take
    turns instead, each waiting at most ``LOCK_WAIT`` seconds. ``None`` when there is no folder,
    the lock file is not this user's own regular file (a link is never followed), the wait ran
    out, or locking is not possible (no ``fcntl`` on Windows): the registry is then built
    without the cache.
    """
    if folder is None:
        return None
    try:
        import fcntl
        import stat
        import time

        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        handle = os.open(os.path.join(folder, ".lock"), flags, 0o600)
    except (ImportError, OSError):
        return None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or not _owned_privately(info):
            raise OSError("not our lock file")
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
    except OSError:
        os.close(handle)
        return None


def _unit_text(units: Any, spec: str) -> str:
    """``format(unit, spec)`` for a quantity's units, remembered: pint looks every symbol up
    again on each call."""
    key = (units, spec)
    text = _UNIT_TEXT.get(key)
    if text is None:
        text = format(registry().Unit(units), spec)
        if len(_UNIT_TEXT) < _MEMO_LIMIT:
            _UNIT_TEXT[key] = text
    return text


def Q_(value: float, unit: Units) -> pint.Quantity:  # noqa: N802 - pint's own spelling
    """Build a quantity in the one registry."""
    return registry().Quantity(value, unit)


def parse_quantity(raw: Any, *, kind: str, what: str, allow_zero: bool = False) -> pint.Quantity:
    """Parse user input into a quantity of ``kind``, or raise :class:`UnitError`.

    ``what`` names the value in the error message (e.g. ``"--weight"``, ``"volume of
    lidocaine-1pct-sd"``). A quantity must be finite and positive (zero only when
    ``allow_zero``). A quantity given before (as text or as an object) gives the same quantity
    without being read again.
    """
    given = _given_as(raw)
    key = (given, kind, allow_zero) if given is not None else None
    if key is not None:
        found = _PARSED_TEXT.get(key)
        if found is not None:
            return as_quantity(*found)  # a quantity of its own for each caller
    quantity = _parse(raw, kind, what, allow_zero)
    if key is not None and len(_PARSED_TEXT) < _MEMO_LIMIT:
        _PARSED_TEXT[key] = (quantity.magnitude, quantity._units)
    return quantity


def _given_as(raw: Any) -> Any:
    """What identifies a given quantity for :func:`parse_quantity` to remember: its text, or the
    type, value and unit of a ``{"value", "unit"}`` object (``None`` for anything else)."""
    if type(raw) is str:
        return raw
    if type(raw) is dict and len(raw) == 2:
        value, unit = raw.get("value"), raw.get("unit")
        if type(value) in (int, float) and type(unit) is str:
            return (type(value), value, unit)
    return None


def mass_in_kg(raw: Any, *, what: str) -> float:
    """A mass given as text or as a ``{"value", "unit"}`` object, in kilograms.

    Gives ``float(parse_quantity(raw, kind="mass", what=what).to("kg").magnitude)``, errors
    included. A mass already in kilograms ("70 kg", the way weights are written) is its own
    number: it is read without building the registry, so a batch of checks whose patients
    give their weight never loads pint.
    """
    value, unit_text = _split(raw, what, EXAMPLES["mass"])
    if unit_text != "kg":
        return float(parse_quantity(raw, kind="mass", what=what).to("kg").magnitude)
    _check_value(value, what, allow_zero=False)
    return value


# How a hint writes a quantity of each kind: a weight's hint says "70 kg", never "2 mL".
EXAMPLES = {"mass": "70 kg", "volume": "2 mL", "area": "25 cm^2", "concentration": "20 mg/mL",
            "length": "4 mm", "time": "14 day", "mass-per-area": "2 mg/cm^2",
            "mass-per-body-mass": "4.5 mg/kg"}


def _parse(raw: Any, kind: str, what: str, allow_zero: bool) -> pint.Quantity:
    example = EXAMPLES.get(kind, "2 mL")
    value, unit_text = _split(raw, what, example)
    _check_value(value, what, allow_zero)
    quantity = _to_quantity(value, unit_text, what, example)
    check_kind(quantity, kind, what)
    checked = _CHECKED_WORDS.setdefault(kind, set())
    if unit_text not in checked:
        if not _is_percent(unit_text):  # '% w/v' became mg/mL above
            _check_words(unit_text, kind, what)
        if len(checked) < _MEMO_LIMIT:
            checked.add(unit_text)
    _check_plausible(quantity, kind, what)
    return quantity


def _check_value(value: float, what: str, allow_zero: bool) -> None:
    if not math.isfinite(value):
        raise UnitError(f"{what}: {value!r} is not a finite number")
    if value < 0 or (value == 0 and not allow_zero):
        raise UnitError(f"{what}: must be greater than zero, got {format_number(value)}")


# Upper bounds beyond which a value cannot describe a mesotherapy session, so it is a typing
# error, not an input to compute with: a treatment area larger than an adult's whole skin
# (about 2 m²) would make every per-area dose limit meaningless. Bounds are in canonical units.
PLAUSIBLE_MAXIMUM = {"area": (20000.0, "cm**2", "the whole skin of an adult (about 2 m**2)"),
                     "time": (3650.0, "day", "ten years")}


def _check_plausible(quantity: pint.Quantity, kind: str, what: str) -> None:
    bound = PLAUSIBLE_MAXIMUM.get(kind)
    if bound is not None and canonical(float(quantity.magnitude), quantity._units) > bound[0]:
        raise UnitError(f"{what}: {format_number(float(quantity.magnitude))} {format_unit(quantity)} "
                        f"is more than {bound[2]}")


def check_kind(quantity: pint.Quantity, kind: str, what: str) -> None:
    """Raise :class:`UnitError` unless ``quantity`` has the dimension ``kind`` asks for."""
    kinds = CONCENTRATION_KINDS if kind == "concentration" else (kind,)
    wanted = [KINDS[k] for k in kinds]
    dims = _dims(quantity)
    if kind == "mass-per-body-mass" and dims == "":
        # Dimensionless is not enough: "4.5 mL/L" or "2 percent" are not doses per body mass.
        ureg = registry()
        masses = all(str(ureg.get_dimensionality(name)) == "[mass]" for name in quantity.units._units)
        if not masses or len(quantity.units._units) != 2:
            dims = "not a mass per mass"
    if dims not in wanted:
        unit = format_unit(quantity)
        expected = {
            "concentration": "a concentration such as '20 mg/mL' or '2 % w/v'",
            "volume": "a volume such as '2 mL'",
            "mass": "a mass such as '70 kg' or '100 mg'",
            "area": "an area such as '25 cm**2'",
            "length": "a length such as '4 mm'",
            "time": "a duration such as '14 day'",
            "mass-per-area": "a mass per area such as '2 mg/cm**2'",
            "mass-per-body-mass": "a dose per body mass such as '4.5 mg/kg'",
        }.get(kind, kind)
        raise UnitError(f"{what}: '{unit}' is not {expected}")


def _dims(quantity: pint.Quantity) -> str:
    dims = quantity.dimensionality
    return str(dims) if dims else ""


def _split(raw: Any, what: str, example: str = "2 mL") -> tuple[float, str]:
    if isinstance(raw, dict):
        if set(raw) - {"value", "unit"} or "value" not in raw or "unit" not in raw:
            raise UnitError(f"{what}: a quantity object needs exactly 'value' and 'unit'")
        value, unit = raw["value"], raw["unit"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UnitError(f"{what}: 'value' must be a number")
        if not isinstance(unit, str):
            raise UnitError(f"{what}: 'unit' must be text such as 'mg/mL'")
        if len(unit) > _MAX_TEXT:
            raise UnitError(f"{what}: unit text longer than {_MAX_TEXT} characters")
        try:
            number = float(value)
        except OverflowError:
            raise UnitError(f"{what}: {_printable(str(value)[:20])}... is out of range") from None
        return number, unit.strip()
    if isinstance(raw, bool | int | float):
        raise UnitError(f"{what}: {raw!r} has no unit; write it with one, e.g. '{example}'")
    if not isinstance(raw, str):
        raise UnitError(f"{what}: expected a quantity such as '{example}', got {type(raw).__name__}")
    if len(raw) > _MAX_TEXT:
        raise UnitError(f"{what}: quantity text longer than {_MAX_TEXT} characters")
    match = _QUANTITY_RE.match(raw)
    if not match:
        raise UnitError(f"{what}: cannot read {raw.strip()[:40]!r} as a number with a unit")
    try:
        value = float(match.group(1))
    except ValueError:  # pragma: no cover - the pattern only lets numbers through
        raise UnitError(f"{what}: {match.group(1)!r} is not a number") from None
    if math.isinf(value) and match.group(1)[-1:].isdigit():
        raise UnitError(f"{what}: {match.group(1)} is out of range (not a finite number)")
    return value, match.group(2)


def _to_quantity(value: float, unit_text: str, what: str, example: str = "2 mL") -> pint.Quantity:
    if not unit_text:
        raise UnitError(f"{what}: {format_number(value)} has no unit; write it with one, e.g. '{example}'")
    if not _UNIT_CHARS_RE.match(unit_text):
        raise UnitError(f"{what}: unit {_printable(unit_text[:30])!r} contains characters meso does not accept")
    percent = _is_percent(unit_text)
    if percent:
        basis = (percent.group(1) or "").lower()
        if basis == "w/v":
            return Q_(value * 10.0, "mg/mL")
        if basis:
            raise UnitError(
                f"{what}: '% {basis}' is not a mass per volume; give the concentration as "
                "'% w/v' or in mg/mL"
            )
        raise UnitError(
            f"{what}: a bare '%' is ambiguous (w/v, w/w or v/v?); write '{format_number(value)} % w/v' "
            f"or '{format_number(value * 10)} mg/mL'"
        )
    if _AMBIGUOUS_RE.search(unit_text):
        raise UnitError(
            f"{what}: '{_printable(unit_text)}' is ambiguous (pint reads 'g/100 mL' as (g/100)*mL); "
            "put the divisor in parentheses, e.g. '1.5 g/(100 mL)', or use mg/mL"
        )
    _check_grammar(unit_text, what)
    _check_words(unit_text, None, what)
    unit = _UNIT_QUANTITIES.get(unit_text)
    if unit is None:
        try:
            unit = registry().parse_expression(unit_text.replace("^", "**"))
        except Exception as exc:
            raise UnitError(f"{what}: unknown unit {_printable(unit_text[:30])!r}") from exc
        if len(_UNIT_QUANTITIES) < _MEMO_LIMIT:
            _UNIT_QUANTITIES[unit_text] = unit
    if not isinstance(unit, registry().Quantity):
        raise UnitError(f"{what}: {unit_text[:30]!r} is a number, not a unit")
    if not math.isfinite(float(unit.magnitude)) or unit.magnitude <= 0:
        raise UnitError(f"{what}: unit {unit_text[:30]!r} has no usable scale")
    result = value * unit
    if not math.isfinite(float(result.magnitude)):
        raise UnitError(f"{what}: value out of range")
    return result


def _is_percent(unit_text: str) -> re.Match[str] | None:
    return _PERCENT_RE.match(unit_text.replace(" ", "")) or _PERCENT_RE.match(unit_text)


def _check_grammar(unit_text: str, what: str) -> None:
    shown = _printable(unit_text[:30])
    if unit_text.count("(") != unit_text.count(")") or re.search(r"\(\s*\)", unit_text):
        raise UnitError(f"{what}: unit {shown!r} has unbalanced or empty parentheses")
    depth = 0
    for char in unit_text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise UnitError(f"{what}: unit {shown!r} has unbalanced parentheses")
    if re.search(r"(\*\*|\^)\s*-?\d\s*(\*\*|\^)", unit_text):
        raise UnitError(f"{what}: unit {shown!r} chains exponents")
    stripped = _DIVISOR_RE.sub("/(", _EXPONENT_RE.sub("", unit_text))
    if re.search(r"\d", stripped):
        raise UnitError(f"{what}: unexpected number in unit {shown!r}; write one number followed by "
                        "its unit, e.g. '20 mg/mL'")
    if re.search(r"(\*\*|\^)", stripped) or re.search(r"[*/]\s*$|^\s*[*/]", stripped):
        raise UnitError(f"{what}: unit {shown!r} is incomplete")


# The unit symbols meso reads, exactly as written (case matters: "ML" would be a megalitre and
# "Mg" a megagram to pint, so neither is read at all), by the kind of quantity they may appear in.
# Everything else, pint's thousands of other units and prefixes included (percent, ppm, turn,
# radian, Mg, ML, kL, ...), is refused, so no dimensionless factor or unusual prefix can scale a
# dose unseen, and trailing text is never read as a unit.
_MASS = frozenset({"g", "mg", "ug", "µg", "μg", "mcg", "gram", "grams", "milligram", "milligrams",
                   "microgram", "micrograms"})
_BODY_MASS = frozenset({"kg", "g", "lb", "kilogram", "kilograms", "gram", "grams"})
_VOLUME = frozenset({"L", "l", "mL", "ml", "dL", "dl", "uL", "µL", "μL", "liter", "liters", "litre", "litres",
                     "milliliter", "milliliters", "millilitre", "millilitres"})
_LENGTH = frozenset({"m", "cm", "mm", "um", "µm", "μm"})
_TIME = frozenset({"s", "min", "h", "hour", "hours", "d", "day", "days", "week", "weeks", "month", "months",
                   "year", "years"})
_ACTIVITY = frozenset({"IU", "USP"})
UNIT_WORDS: dict[str, frozenset[str]] = {
    "mass": _MASS | _BODY_MASS,
    "volume": _VOLUME | {"cm"},  # cm**3
    "length": _LENGTH,
    "area": _LENGTH,
    "time": _TIME,
    "concentration": _MASS | _VOLUME | _ACTIVITY | {"cm"},
    "activity-concentration": _ACTIVITY | _VOLUME | {"cm"},
    "usp-concentration": _ACTIVITY | _VOLUME | {"cm"},
    "mass-per-area": _MASS | _LENGTH,
    "mass-per-body-mass": _MASS | _BODY_MASS,
    "activity": _ACTIVITY,
}
ALL_UNIT_WORDS = frozenset().union(*UNIT_WORDS.values())
_WORD_RE = re.compile(r"[^\s*/^().0-9²³-]+")
_CHECKED_WORDS: dict[str, set[str]] = {}  # unit texts already found to use only a kind's words


def _check_words(unit_text: str, kind: str | None, what: str) -> None:
    """Refuse a unit symbol meso does not read at all (``kind`` ``None``), or one that makes no
    clinical sense in a quantity of ``kind`` (a kilogram of drug per millilitre)."""
    allowed = ALL_UNIT_WORDS if kind is None else UNIT_WORDS[kind]
    for word in _WORD_RE.findall(unit_text):
        if word in allowed:
            continue
        shown = _printable(word[:20])
        hint = sorted(w for w in allowed if w.lower() == word.lower())
        if hint:
            raise UnitError(f"{what}: unknown unit {shown!r}: unit symbols are case-sensitive and "
                            f"{shown!r} is not {hint[0]!r}; write {hint[0]!r}")
        known = ", ".join(sorted(w for w in allowed if w.isascii() and len(w) <= 4))
        if kind is None:
            raise UnitError(f"{what}: unknown unit {shown!r} (meso reads exact, case-sensitive symbols such "
                            "as mg, mL, kg, cm**2, day, IU)")
        raise UnitError(f"{what}: {shown!r} makes no sense in {KIND_NAMES.get(kind, kind)}; use {known}")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def parse_amount(text: str, *, kind: str, what: str) -> Amount:
    """Parse catalogue text such as ``"20 mg/mL"`` into an :class:`Amount` in canonical units."""
    quantity = parse_quantity(text, kind=kind, what=what)
    return to_amount(quantity)


def to_amount(quantity: pint.Quantity) -> Amount:
    return Amount(clean_number(float(quantity.magnitude)), format_unit(quantity))


def format_unit(quantity: pint.Quantity) -> str:
    """Unit text that pint parses back, with clinical spellings (``mg/mL``, ``cm**2``)."""
    text = _unit_text(quantity._units, "~C")
    return text or "dimensionless"


def to_json(quantity: pint.Quantity | Amount) -> dict[str, Any]:
    """The JSON contract for a quantity: ``{"value": number, "unit": "mg/mL"}``."""
    if isinstance(quantity, Amount):
        return {"value": clean_number(quantity.value), "unit": quantity.unit}
    return {"value": clean_number(float(quantity.magnitude)), "unit": format_unit(quantity)}


def clean_number(value: float) -> float | int:
    """Round to 6 significant figures so arithmetic noise never reaches output."""
    if value == 0:
        return 0
    rounded = float(f"{value:.6g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded


def format_number(value: float, digits: int = 6) -> str:
    """A number for people: ``digits`` significant figures, no trailing zeros."""
    if not math.isfinite(value):
        return str(value)
    cleaned = float(f"{value:.{digits}g}")
    return str(int(cleaned)) if cleaned.is_integer() and abs(cleaned) < 1e15 else f"{cleaned:g}"


def format_quantity(quantity: pint.Quantity | Amount) -> str:
    """Human text for a quantity, e.g. ``"20 mg/mL"``, ``"25 cm²"``."""
    if isinstance(quantity, Amount):
        return format_value(quantity.value, quantity.unit)
    return format_value(quantity.magnitude, quantity._units)


def format_value(value: float, unit: Units) -> str:
    """:func:`format_quantity` of ``Q_(value, unit)``, without making the quantity.

    Durations keep six significant figures and the full unit name (``14 day``); everything
    else four figures and the short symbol (``2.5 mL``). The same doses and limits come back
    again and again, so each text is remembered.
    """
    key = (value, unit)
    text = _VALUE_TEXT.get(key)
    if text is None:
        units = units_of(unit)
        if canonical_unit(units) == "day":
            digits, unit_text = 6, _unit_text(units, "P")
        else:
            digits, unit_text = 4, _unit_text(units, "~P")
        text = f"{format_number(float(value), digits)} {unit_text}".strip()
        if len(_VALUE_TEXT) < _MEMO_LIMIT:
            _VALUE_TEXT[key] = text
    return text


def units_of(unit: pint.Quantity | Units) -> Units:
    """The units of a quantity, or of a unit text, as pint holds them."""
    if isinstance(unit, str):
        return _facts(unit)[0]
    return getattr(unit, "_units", unit)


def as_quantity(value: float, unit: Units) -> pint.Quantity:
    """``Q_(value, unit)`` for a number meso worked out (an edge: output)."""
    return registry().Quantity(value, units_of(unit))


# ----------------------------------------------------------------------------- canonical numbers
# Every comparison meso makes between quantities (a dose and its limit, a strength and the one
# studied, an interval and its minimum, a volume and the syringe's graduation) is a plain float
# comparison of two numbers in the canonical unit of their dimension (CANONICAL), each first
# settled to SIGNIFICANT significant figures (:func:`settle`). Floating point noise from unit
# factors and from summing and multiplying magnitudes sits in the 16th and 17th significant
# figure, far below the 12th, and no clinical quantity is meaningful beyond the 6 figures meso
# prints; so settled numbers that are equal as decimals compare equal, and no comparison needs
# a tolerance of its own.

SIGNIFICANT = 12

# dimension (as pint writes it) -> the canonical unit of quantities of that dimension
CANONICAL: dict[str, str] = {
    "[mass]": "mg",
    "[length] ** 3": "mL",
    "[mass] / [length] ** 3": "mg/mL",
    "[length] ** 2": "cm**2",
    "[length]": "mm",
    "[time]": "day",
    "[mass] / [length] ** 2": "mg/cm**2",
    "": "mg/kg",  # a dose per body mass, the only dimensionless quantity meso reads
    "[biological_activity]": "IU",
    "[biological_activity] / [length] ** 3": "IU/mL",
    "[usp_activity]": "USP",
    "[usp_activity] / [length] ** 3": "USP/mL",
}


def settle(value: float) -> float:
    """``value`` rounded to :data:`SIGNIFICANT` significant figures: the number a comparison sees."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{SIGNIFICANT}g}")


# What pint knows about each unit meso computes with (a unit text such as "mg/mL", or the units
# of a quantity): its units as pint holds them, the factor to the canonical unit of its
# dimension, and that unit. Asked of pint once per unit; a few dozen units occur, so the table
# is small and bounded.
_UNIT_FACTS: dict[Any, tuple[Any, float, str]] = {}


def _facts(unit: Units) -> tuple[Any, float, str]:
    found = _UNIT_FACTS.get(unit)
    if found is None:
        quantity = Q_(1.0, unit)
        dims = quantity.dimensionality
        target = CANONICAL.get(str(dims) if dims else "")
        if target is None:
            raise UnitError(f"{format_unit(quantity)} is not a quantity meso computes with")
        found = (quantity._units, float(quantity.to(target).magnitude), target)
        if len(_UNIT_FACTS) < _MEMO_LIMIT:
            _UNIT_FACTS[unit] = found
    return found


def _canonical_factor(unit: Units) -> tuple[float, str]:
    """The number pint multiplies a magnitude in ``unit`` by to give it in the canonical unit of
    its dimension, and that unit."""
    _, number, target = _facts(unit)
    return number, target


def canonical_unit(unit: Units) -> str:
    """The canonical unit of ``unit``'s dimension (``"mg"`` for ``"g"``, ``"mg/mL"`` for ``"g/L"``)."""
    return _canonical_factor(unit)[1]


def canonical(value: float, unit: Units) -> float:
    """``Q_(value, unit)`` as a settled number in its canonical unit: ``canonical(0.3, "g") == 300``."""
    return settle(value * _canonical_factor(unit)[0])


def in_canonical(amount: Amount) -> float:
    """An :class:`Amount` as a settled number in the canonical unit of its dimension."""
    return canonical(amount.value, amount.unit)


def from_canonical(value: float, unit: Units) -> float:
    """A number in the canonical unit of ``unit``'s dimension, given in ``unit`` (for output)."""
    return value / _canonical_factor(unit)[0]


def compatible(left: Units, right: Units) -> bool:
    """Whether quantities in these units convert to one another (the same dimension)."""
    return canonical_unit(left) == canonical_unit(right)


def has_dimension(unit: Units, dimension: str) -> bool:
    """``Q_(x, unit).check(dimension)`` for a dimension meso computes with, e.g.
    ``has_dimension("g", "[mass]")``."""
    return CANONICAL.get(dimension) == canonical_unit(unit)


def canonical_pair(left: float, left_unit: Units, right: float, right_unit: Units) -> tuple[float, float]:
    """The two settled canonical numbers to compare for ``Q_(left, left_unit)`` and
    ``Q_(right, right_unit)``. Raises pint's ``DimensionalityError`` for different dimensions."""
    if canonical_unit(left_unit) != canonical_unit(right_unit):
        Q_(1.0, left_unit).to(units_of(right_unit))  # raises DimensionalityError
    return canonical(left, left_unit), canonical(right, right_unit)


def activity_to_mass(quantity: pint.Quantity, iu_mass: Amount) -> pint.Quantity:
    """Convert IU (or IU per volume) to mass using one substance's own factor."""
    per_iu = Q_(iu_mass.value, iu_mass.unit) / Q_(1, "IU")
    return (quantity * per_iu).to_reduced_units()
