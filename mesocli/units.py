"""The one unit registry, and the only place where text becomes a quantity.

A quantity inside meso is an :class:`Amount`: its value and unit text as written for people,
and, from the moment it is made, its number in the canonical unit of its dimension (mg, mL,
mg/mL, cm², day, ...). Comparisons and dose arithmetic use those canonical numbers only.

pint is used at the edges, once: when the unit registry is first needed, it works out the
facts of each unit word meso reads (``UNIT_WORDS``: its factor to pint's base units, its
dimension, its name and symbol), and those facts make a table. Unit text is then read by a
small evaluator of meso's own over that table (words, ``/``, ``*``, one-digit exponents,
``²``/``³``, parentheses, the ``/(100 mL)`` divisor), which reads every text the way pint's
expression parser does, and the text of a unit for people is written from the same table the
way pint writes it. The registry is built lazily: commands that never touch a quantity
(``meso --help``, ``meso ingredients list``) never import pint.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesocli.errors import UnitError

if TYPE_CHECKING:  # pragma: no cover
    import pint

_REGISTRY: pint.UnitRegistry | None = None

Units = Any  # a unit text ("mg/mL"); pint's own units are accepted at the edges (output of Q_)

# The dimension each kind of quantity must have, as pint writes dimensions.
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
# Unit text is checked against this small grammar before it is read: unit words, '/', '*',
# a one-digit exponent, and a numeric factor only as the divisor of '/(100 mL)'. Anything
# else (stray numbers, exponent towers, unbalanced parentheses) is refused here, so a dose is
# never multiplied by a stray number and no one computes 9**9**9.
_EXPONENT_RE = re.compile(r"(\*\*|\^)\s*-?\d(?!\d)")
_DIVISOR_RE = re.compile(r"/\s*\(\s*\d+(?:\.\d+)?\s+(?=[A-Za-zµμ])")
_MAX_TEXT = 64


@dataclass(frozen=True, slots=True)
class Amount:
    """A magnitude with its unit text, and the same quantity as a settled number in the
    canonical unit of its dimension (``Amount(0.3, "g").canonical == 300``, ``canonical_unit``
    ``"mg"``), worked out when the amount is made. Holding one needs no pint."""

    value: float
    unit: str
    # worked out from value and unit, so not content: equality and the catalogue's content
    # hash (mesocli.domain.identity) leave them out
    canonical: float = field(init=False, compare=False, repr=False, metadata={"derived": True})
    canonical_unit: str = field(init=False, compare=False, repr=False, metadata={"derived": True})

    def __post_init__(self) -> None:
        factor, target = _unit_facts(self.unit)[1:3]
        object.__setattr__(self, "canonical", settle(self.value * factor))
        object.__setattr__(self, "canonical_unit", target)

    def in_unit(self, unit: str) -> float:
        """The value in ``unit``, a unit of the same dimension (``Amount(2, "g").in_unit("mg")``
        is 2000); raises :class:`UnitError` for another dimension."""
        facts = _unit_facts(unit)
        if facts[2] != self.canonical_unit:
            raise UnitError(f"cannot give {self} in {unit}: a different kind of quantity")
        return self.value * _unit_facts(self.unit)[1] / facts[1]

    def quantity(self) -> pint.Quantity:
        """The same quantity in pint (an edge: for code that wants pint's own arithmetic)."""
        return Q_(self.value, self.unit)

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"


def _amount(value: float, unit: str, factor: float, target: str) -> Amount:
    """An :class:`Amount` whose unit's factor to ``target`` (its canonical unit) is known."""
    made = object.__new__(Amount)
    object.__setattr__(made, "value", value)
    object.__setattr__(made, "unit", unit)
    object.__setattr__(made, "canonical", settle(value * factor))
    object.__setattr__(made, "canonical_unit", target)
    return made


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


def Q_(value: float, unit: Units) -> pint.Quantity:  # noqa: N802 - pint's own spelling
    """Build a quantity in the one registry (an edge: pint's own arithmetic, for tests and callers
    that want it; meso itself computes with :class:`Amount`)."""
    return registry().Quantity(value, unit)


# ----------------------------------------------------------------------------- the unit table
# What pint knows about each unit word meso reads, asked of pint once, when the registry is
# first needed: a table of a closed list of words (UNIT_WORDS, and the symbols pint writes for
# them), not a store of what was asked before.


@dataclass(frozen=True, slots=True)
class _Unit:
    name: str  # pint's name of the unit ("milliliter"): units are sorted by it in unit text
    symbol: str  # its symbol as pint writes it ("mL")
    factor: float  # pint's base units per unit (kg, m, s, ...)
    dims: tuple[tuple[str, int], ...]  # its dimension, e.g. (("[length]", 3),)


# What unit text means: its units (pint's names and exponents), the factor that gives a
# magnitude in it in the canonical unit of its dimension, that unit, the text as meso writes it
# ("~C": "µg" for "ug") and the dimension.
_Facts = tuple[dict[str, Any], float, str, str, tuple[tuple[str, Any], ...]]

_WORDS: dict[str, _Unit] | None = None  # unit word or symbol -> its facts
_NAMES: dict[str, _Unit] = {}  # pint's name -> the same facts
_BASES: dict[str, float] = {}  # canonical unit -> its factor to pint's base units
# unit text -> its facts (_Facts) for every word and symbol and every canonical unit: the units
# the catalogue and meso's own numbers are written in, and most units people write
_TEXTS: dict[str, _Facts] = {}
_SHOWN: dict[str, tuple[int, str]] = {}  # the same texts: digits and unit text for people (format_value)


def _words() -> dict[str, _Unit]:
    global _WORDS
    if _WORDS is None:
        ureg = registry()
        table: dict[str, _Unit] = {}
        for word in sorted(ALL_UNIT_WORDS):
            unit = ureg.Unit(word)
            ((name, _),) = unit._units.items()
            dims = tuple(sorted((str(dim), int(exp)) for dim, exp in ureg.get_dimensionality(name).items()))
            facts = _Unit(name, format(unit, "~C"), float(ureg.Quantity(1.0, name).to_base_units().magnitude), dims)
            table[word] = facts
            _NAMES[name] = facts
        for facts in list(_NAMES.values()):  # the symbols pint writes ("d" for day, "a" for year)
            known = table.setdefault(facts.symbol, facts)
            assert known.name == facts.name, (facts.symbol, known.name, facts.name)
        for target in CANONICAL.values():
            _BASES[target] = _base_factor(_evaluated(target, table)[1])
        _WORDS = table
        for text in [*table, *CANONICAL.values()]:
            _TEXTS[text] = _facts_of(text)
            _SHOWN[text] = _shown(text)
    return _WORDS


# --------------------------------------------------------------------------- reading unit text
# Unit text is read the way pint's expression parser reads it (pint's string preprocessor,
# Python's tokenizer and pint's evaluation tree, for the characters meso lets through): a
# space between two operands multiplies, '^' and '²'/'³' are exponents, '.' is ignored, '*',
# '/' and juxtaposition bind equally from left to right and '**' from right to left. The
# result is a magnitude (a divisor such as '(100 mL)' makes it 0.01) and the units with their
# exponents, which give the factor to the canonical unit, the dimension and the text.

class _UnreadableError(Exception):
    """Unit text that pint would not read either."""


_SPACES_RE = re.compile(r"([\w.\-+*\\^])\s+")
_NUMBER_LETTER_RE = re.compile(r"\b([0-9]+\.?[0-9]*)(?=[e|E][a-zA-Z]|[a-df-zA-DF-Z])")
_JUXTAPOSED_RE = re.compile(r"([\w.)])\s+(?=[\w(])")
_SUPERSCRIPT_RE = re.compile(r"(⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:\.[⁰¹²³⁴⁵⁶⁷⁸⁹]*)?)")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹·⁻", "0123456789*-")
_TOKEN_RE = re.compile(r"\s*(?:(?P<number>[0-9]+\.?[0-9]*|\.[0-9]+)|(?P<name>[^\W\d]\w*)"
                       r"|(?P<op>\*\*|//|\.\.\.|[*/().]))")
_PRIORITY = {"**": 3, "unary": 2, "*": 1, "": 1, "//": 1, "/": 1}


def _tokens(text: str) -> list[tuple[str, str]]:
    text = _SPACES_RE.sub(r"\1 ", text)
    text = _NUMBER_LETTER_RE.sub(r"\1*", text)
    text = _JUXTAPOSED_RE.sub(r"\1*", text)
    text = _SUPERSCRIPT_RE.sub(r"**(\1)", text).translate(_SUPERSCRIPTS).replace("^", "**")
    tokens: list[tuple[str, str]] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise _UnreadableError(text)
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


def _tree(tokens: list[tuple[str, str]], index: int, depth: int, prev_op: str) -> tuple[Any, int]:
    """pint's evaluation tree for ``tokens`` (see ``pint.pint_eval.build_eval_tree``), as
    nested tuples ``(operator, left, right)`` with leaves ``(kind, text)``."""
    result: Any = None
    while True:
        kind, text = tokens[index]
        if kind == "op":
            if text == ")":
                if prev_op == "<none>":
                    raise _UnreadableError("unopened parenthesis")
                if result is None:
                    raise _UnreadableError("empty group")
                if prev_op == "(":
                    return result, index
                return result, index - 1
            if text == "(":
                right, index = _tree(tokens, index + 1, 0, "(")
                if tokens[index][1] != ")":
                    raise _UnreadableError("unclosed parenthesis")
                result = right if result is None else ("", result, right)
            elif text in _PRIORITY:
                if result is None:
                    raise _UnreadableError("unary operator")  # pint has no unary '*', '/' or '**'
                if _PRIORITY[text] <= _PRIORITY.get(prev_op, -1) and text != "**":
                    return result, index - 1
                right, index = _tree(tokens, index + 1, depth + 1, text)
                result = (text, result, right)
            # any other operator ('.') is passed over, as pint does
        elif kind in ("number", "name"):
            if result is not None:
                if _PRIORITY[""] <= _PRIORITY.get(prev_op, -1):
                    return result, index - 1
                right, index = _tree(tokens, index, depth + 1, "")
                result = ("", result, right)
            else:
                result = (kind, text)
        if tokens[index][0] == "end":
            if prev_op == "(":
                raise _UnreadableError("unclosed parenthesis")
            if result is None:
                raise _UnreadableError("nothing to read")
            return result, index
        if index + 1 >= len(tokens):  # pragma: no cover - the end token comes first
            raise _UnreadableError("unexpected end")
        index += 1


# A value while reading: (magnitude, units) where units maps pint's unit names to exponents,
# or None for a plain number.
_Value = tuple[Any, "dict[str, Any] | None"]


def _evaluate(node: Any, table: dict[str, _Unit]) -> _Value:
    operator = node[0]
    if operator == "number":
        text = node[1]
        return (int(text) if text.isdigit() else float(text)), None
    if operator == "name":
        facts = table.get(node[1])
        if facts is None:
            raise _UnreadableError(node[1])
        return 1, {facts.name: 1}
    left, right = _evaluate(node[1], table), _evaluate(node[2], table)
    if operator in ("", "*"):
        return left[0] * right[0], _combine(left[1], right[1], 1)
    if operator == "/":
        if right[0] == 0:
            raise _UnreadableError("division by zero")
        return left[0] / right[0], _combine(left[1], right[1], -1)
    if operator == "**":
        if right[1]:  # an exponent with units ('cm**2(mL)'): pint takes only a zero one
            if right[0] != 0:
                raise _UnreadableError("exponent with a unit")
            return 1, {}
        power = right[0]
        try:
            magnitude = left[0] ** power
        except (OverflowError, ZeroDivisionError):
            raise _UnreadableError("exponent out of range") from None
        if left[1] is None:
            return magnitude, None
        return magnitude, {name: exp * power for name, exp in left[1].items() if exp * power != 0}
    raise _UnreadableError(operator)  # '//' of units


def _combine(left: dict[str, Any] | None, right: dict[str, Any] | None, sign: int) -> dict[str, Any] | None:
    if left is None and right is None:
        return None
    out = dict(left or {})
    for name, exp in (right or {}).items():
        total = out.get(name, 0) + sign * exp
        if total:
            out[name] = total
        else:
            out.pop(name, None)
    return out


def _read(text: str) -> tuple[float, dict[str, Any]]:
    """The magnitude and units of unit ``text``, read as pint reads it; raises
    :class:`_UnreadableError` where pint would not read it either."""
    return _evaluated(text, _words())


def _evaluated(text: str, table: dict[str, _Unit]) -> tuple[float, dict[str, Any]]:
    facts = table.get(text)
    if facts is not None:  # one word, the common case
        return 1, {facts.name: 1}
    tree, _ = _tree(_tokens(text), 0, 0, "<none>")
    magnitude, units = _evaluate(tree, table)
    return magnitude, units or {}


# ----------------------------------------------------------------------------- facts of units
def _dimension(units: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    dims: dict[str, Any] = {}
    for name, exp in units.items():
        for dim, power in _NAMES[name].dims:
            dims[dim] = dims.get(dim, 0) + power * exp
    return tuple(sorted((dim, exp) for dim, exp in dims.items() if exp != 0))


_DIMENSION_RE = re.compile(r"(\[\w+\])(?: \*\* (\d+))?")


def _dimension_of(text: str) -> tuple[tuple[str, int], ...]:
    """A dimension as pint writes it ("[mass] / [length] ** 3") as :func:`_dimension` gives it."""
    dims: dict[str, int] = {}
    for sign, part in ((1, text.partition(" / ")[0]), (-1, text.partition(" / ")[2])):
        for dim, exp in _DIMENSION_RE.findall(part):
            dims[dim] = dims.get(dim, 0) + sign * int(exp or 1)
    return tuple(sorted(dims.items()))


def _base_factor(units: dict[str, Any]) -> float:
    """Base units per unit: the factors of the units above the line over those below it (so
    "mg/mL" is exactly 1e-6 / 1e-6)."""
    above = below = 1.0
    for name, exp in units.items():
        if exp > 0:
            above *= _NAMES[name].factor ** exp
        else:
            below *= _NAMES[name].factor ** -exp
    return above / below


def _unit_facts(unit: Units) -> _Facts:
    """The units of unit text ``unit`` (pint's names and exponents), the factor that gives a
    magnitude in it in the canonical unit of its dimension, and that unit. Raises
    :class:`UnitError` for a unit meso does not compute with."""
    if not isinstance(unit, str):
        unit = _pint_text(unit)
    if _WORDS is None:
        _words()
    found = _TEXTS.get(unit)
    return found if found is not None else _facts_of(unit)


def _facts_of(unit: str) -> _Facts:
    try:
        magnitude, units = _read(unit)
    except (_UnreadableError, ArithmeticError):
        raise UnitError(f"unknown unit {_printable(unit[:30])!r}") from None
    dims = _dimension(units)
    target = _CANONICAL_BY_DIMENSION.get(dims)
    if target is None:
        raise UnitError(f"{_format_units(units, 'C') or 'dimensionless'} is not a quantity meso computes with")
    return units, magnitude * _base_factor(units) / _BASES[target], target, _format_units(units, "C"), dims


def _pint_text(units: Any) -> str:
    """Unit text for pint's own units (an edge: quantities made with :func:`Q_`)."""
    return format(registry().Unit(getattr(units, "_units", units)), "~C")


# ----------------------------------------------------------------------------- writing units
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789.-", "⁰¹²³⁴⁵⁶⁷⁸⁹·⁻")


def _exponent(exp: Any) -> str:
    if isinstance(exp, float) and exp.is_integer():
        exp = int(exp)
    return format(exp, "n") if isinstance(exp, float) else str(exp)


def _format_units(units: dict[str, Any], spec: str) -> str:
    """Unit text as pint's formatter writes it: ``spec`` "C" (``format(unit, "~C")``, text pint
    reads back: ``mg/cm**2``), "~P" (``mg/cm²``) or "P" (names: ``day``); units sorted by name,
    each divisor after its own '/'."""
    if not units:
        return ""
    product, power = ("*", "{}**{}") if spec == "C" else ("·", "{}{}")
    parts: tuple[list[str], list[str]] = ([], [])
    for name in sorted(units):
        exp = units[name]
        shown = name if spec == "P" else _NAMES[name].symbol
        size = abs(exp)
        if size != 1:
            text = _exponent(size)
            shown = power.format(shown, text if spec == "C" else text.translate(_SUPERSCRIPT_DIGITS))
        parts[exp < 0].append(shown)
    numerator, denominator = parts
    text = product.join(numerator) if numerator else "1"
    return text + "".join(f"/{item}" for item in denominator) if denominator else text




def parse_quantity(raw: Any, *, kind: str, what: str, allow_zero: bool = False) -> Amount:
    """Parse user input into an :class:`Amount` of ``kind``, or raise :class:`UnitError`.

    ``what`` names the value in the error message (e.g. ``"--weight"``, ``"volume of
    lidocaine-1pct-sd"``). A quantity must be finite and positive (zero only when
    ``allow_zero``). The amount's unit is written the way meso writes units (``cm^2`` becomes
    ``cm**2``, ``milliliters`` ``mL``), its value carries any factor the text held
    (``1.5 g/(100 mL)`` is 0.015 g/mL, ``2 % w/v`` 20 mg/mL).
    """
    example = EXAMPLES.get(kind, "2 mL")
    value, unit_text = _split(raw, what, example)
    _check_value(value, what, allow_zero)
    amount, units = _to_amount(value, unit_text, what, example)
    check_kind(units, kind, what)
    if not _is_percent(unit_text):  # '% w/v' became mg/mL above
        _check_words(unit_text, kind, what)
    _check_plausible(amount, kind, what)
    return amount


def mass_in_kg(raw: Any, *, what: str) -> float:
    """A mass given as text or as a ``{"value", "unit"}`` object, in kilograms.

    Gives ``parse_quantity(raw, kind="mass", what=what)`` in kilograms, errors included. A mass
    already in kilograms ("70 kg", the way weights are written) is its own number: it is read
    without building the registry, so a batch of checks whose patients give their weight never
    loads pint.
    """
    if type(raw) is str:
        # The usual form, ASCII digits (a point at most), one space and "kg", is read without
        # the quantity pattern; it gives the number the pattern reads.
        number, _, unit = raw.partition(" ")
        digits = number.replace(".", "", 1)
        if unit == "kg" and digits.isdigit() and digits.isascii() and len(number) <= 20:
            value = float(number)
            if value > 0:
                return value
    value, unit_text = _split(raw, what, EXAMPLES["mass"])
    if unit_text != "kg":
        return parse_quantity(raw, kind="mass", what=what).in_unit("kg")
    _check_value(value, what, allow_zero=False)
    return value


# How a hint writes a quantity of each kind: a weight's hint says "70 kg", never "2 mL".
EXAMPLES = {"mass": "70 kg", "volume": "2 mL", "area": "25 cm^2", "concentration": "20 mg/mL",
            "length": "4 mm", "time": "14 day", "mass-per-area": "2 mg/cm^2",
            "mass-per-body-mass": "4.5 mg/kg"}


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


def _check_plausible(amount: Amount, kind: str, what: str) -> None:
    bound = PLAUSIBLE_MAXIMUM.get(kind)
    if bound is not None and amount.canonical > bound[0]:
        raise UnitError(f"{what}: {format_number(amount.value)} {amount.unit} is more than {bound[2]}")


def check_kind(units: dict[str, Any] | Amount, kind: str, what: str) -> None:
    """Raise :class:`UnitError` unless ``units`` (pint's unit names and exponents, as read
    from unit text, or an amount) have the dimension ``kind`` asks for."""
    if isinstance(units, Amount):
        units = _unit_facts(units.unit)[0]
    kinds = CONCENTRATION_KINDS if kind == "concentration" else (kind,)
    dims: Any = _dimension(units)
    if kind == "mass-per-body-mass" and dims == ():
        # Dimensionless is not enough: "4.5 mL/L" or "2 percent" are not doses per body mass.
        masses = all(_NAMES[name].dims == (("[mass]", 1),) for name in units)
        if not masses or len(units) != 2:
            dims = "not a mass per mass"
    if dims not in [_KIND_DIMENSIONS[k] for k in kinds]:
        unit = _format_units(units, "C") or "dimensionless"
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




def _to_amount(value: float, unit_text: str, what: str, example: str = "2 mL") -> tuple[Amount, dict[str, Any]]:
    """``value`` in ``unit_text`` as an amount, and its units (pint's names and exponents)."""
    if not unit_text:
        raise UnitError(f"{what}: {format_number(value)} has no unit; write it with one, e.g. '{example}'")
    known = _TEXTS.get(unit_text) if _WORDS is not None else None
    if known is not None:  # a word or a canonical unit: what reading it would give is in the table
        _check_words(unit_text, None, what)
        return _amount(value, known[3], known[1], known[2]), known[0]
    if not _UNIT_CHARS_RE.match(unit_text):
        raise UnitError(f"{what}: unit {_printable(unit_text[:30])!r} contains characters meso does not accept")
    percent = _is_percent(unit_text)
    if percent:
        basis = (percent.group(1) or "").lower()
        if basis == "w/v":
            units = {_words()["mg"].name: 1, _words()["mL"].name: -1}
            return _made(value * 10.0, units, 1), units
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
    try:
        magnitude, units = _read(unit_text)
    except (_UnreadableError, ArithmeticError):
        raise UnitError(f"{what}: unknown unit {_printable(unit_text[:30])!r}") from None
    if not math.isfinite(float(magnitude)) or magnitude <= 0:
        raise UnitError(f"{what}: unit {unit_text[:30]!r} has no usable scale")
    result = value * magnitude
    if not math.isfinite(float(result)):
        raise UnitError(f"{what}: value out of range")
    return _made(result, units, 1), units


def _made(value: float, units: dict[str, Any], magnitude: Any) -> Amount:
    """An amount of ``value`` in ``units`` (read from text), with its canonical number; a unit
    of a dimension meso does not compute with gets no canonical unit (``""``), and the kind
    check refuses it."""
    text = _format_units(units, "C") or "dimensionless"
    target = _CANONICAL_BY_DIMENSION.get(_dimension(units))
    if target is None:
        made = object.__new__(Amount)
        for name, item in (("value", value), ("unit", text), ("canonical", math.nan), ("canonical_unit", "")):
            object.__setattr__(made, name, item)
        return made
    return _amount(value, text, magnitude * _base_factor(units) / _BASES[target], target)


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
    """Parse catalogue text such as ``"20 mg/mL"`` into an :class:`Amount`."""
    return parse_quantity(text, kind=kind, what=what)


def to_amount(quantity: Amount | pint.Quantity) -> Amount:
    """An :class:`Amount` for an amount (itself) or a pint quantity (an edge: :func:`Q_`)."""
    if isinstance(quantity, Amount):
        return quantity
    return Amount(clean_number(float(quantity.magnitude)), format_unit(quantity))


def format_unit(quantity: Amount | pint.Quantity) -> str:
    """Unit text that meso (and pint) reads back, with clinical spellings (``mg/mL``, ``cm**2``)."""
    if isinstance(quantity, Amount):
        return quantity.unit
    return _pint_text(quantity._units) or "dimensionless"


def to_json(quantity: Amount | pint.Quantity) -> dict[str, Any]:
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




def format_quantity(quantity: Amount | pint.Quantity) -> str:
    """Human text for a quantity, e.g. ``"20 mg/mL"``, ``"25 cm²"``."""
    if isinstance(quantity, Amount):
        return format_value(quantity.value, quantity.unit)
    return format_value(quantity.magnitude, _pint_text(quantity._units))


def format_value(value: float, unit: Units) -> str:
    """:func:`format_quantity` of ``Amount(value, unit)``, without making the amount.

    Durations keep six significant figures and the full unit name (``14 day``); everything
    else four figures and the short symbol (``2.5 mL``).
    """
    if not isinstance(unit, str):
        unit = _pint_text(unit)
    if _WORDS is None:
        _words()
    digits, unit_text = _SHOWN.get(unit) or _shown(unit)
    return f"{format_number(float(value), digits)} {unit_text}".strip()


def _shown(unit: str) -> tuple[int, str]:
    units, _, target = _unit_facts(unit)[:3]
    if target == "day":
        return 6, _format_units(units, "P")
    return 4, _format_units(units, "~P")


def as_quantity(value: float, unit: Units) -> Amount:
    """An amount of ``value`` in ``unit``, the unit written as meso writes units (``uL`` as
    ``µL``, ``cm^2`` as ``cm**2``), as pint's ``Quantity(value, unit)`` writes it."""
    units = _unit_facts(unit)[0]
    text = _format_units(units, "C")
    return Amount(value, text) if text != unit else Amount(value, unit)


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
_CANONICAL_BY_DIMENSION = {_dimension_of(dims): unit for dims, unit in CANONICAL.items()}
_KIND_DIMENSIONS = {kind: _dimension_of(dims) for kind, dims in KINDS.items()}


def settle(value: float) -> float:
    """``value`` rounded to :data:`SIGNIFICANT` significant figures: the number a comparison sees."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{SIGNIFICANT}g}")


def canonical_unit(unit: Units) -> str:
    """The canonical unit of ``unit``'s dimension (``"mg"`` for ``"g"``, ``"mg/mL"`` for ``"g/L"``)."""
    return _unit_facts(unit)[2]


def canonical(value: float, unit: Units) -> float:
    """``Amount(value, unit).canonical``: a settled number in the canonical unit of ``unit``'s
    dimension (``canonical(0.3, "g") == 300``)."""
    return settle(value * _unit_facts(unit)[1])


def from_canonical(value: float, unit: Units) -> float:
    """A number in the canonical unit of ``unit``'s dimension, given in ``unit`` (for output)."""
    return value / _unit_facts(unit)[1]


def compatible(left: Units, right: Units) -> bool:
    """Whether quantities in these units convert to one another (the same dimension)."""
    return canonical_unit(left) == canonical_unit(right)


def has_dimension(unit: Units, dimension: str) -> bool:
    """Whether ``unit`` has ``dimension``, a dimension meso computes with, e.g.
    ``has_dimension("g", "[mass]")``."""
    return CANONICAL.get(dimension) == canonical_unit(unit)


def same_dimension(left: Amount, right: Amount) -> None:
    """Raise :class:`UnitError` unless two amounts can be compared (the same dimension)."""
    if left.canonical_unit != right.canonical_unit:
        raise UnitError(f"cannot compare {left} with {right}: {left.unit} and {right.unit} are "
                        "different kinds of quantity")


def sum_of(left: Amount, right: Amount) -> Amount:
    """``left + right`` in ``left``'s unit (amounts of one dimension)."""
    same_dimension(left, right)
    if right.unit == left.unit:
        return Amount(left.value + right.value, left.unit)
    return Amount(left.value + right.value * _unit_facts(right.unit)[1] / _unit_facts(left.unit)[1], left.unit)
