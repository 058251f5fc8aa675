"""JSON text as meso writes it: compact (one NDJSON line, :func:`compact`) or indented
(:func:`indented`), both exactly what the standard library's ``json.dumps`` gives, and with the
characters a terminal would act on escaped (:func:`printable`).

``JSONEncoder.encode`` builds a new C encoder on every call that is not a plain string, which
costs as much as encoding a short document; :func:`encoder_of` builds one once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.encoder import encode_basestring as _basestring
from typing import Any


def encoder_of(template: json.JSONEncoder) -> Callable[[Any], str]:
    """A function giving exactly ``template.encode(document)``, made once.

    ``template`` must not check for cycles (``check_circular=False``): a reused encoder would
    keep the marks of a call that failed half-way. The documents meso writes are built fresh
    and have no cycles. Without the C accelerator, ``template.encode`` itself is returned.
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if template.check_circular:
        raise ValueError("an encoder made once must not check for cycles (check_circular=False)")
    if make is None or template.indent is not None:
        return template.encode
    text = encoder.encode_basestring_ascii if template.ensure_ascii else encoder.encode_basestring
    encode = make(None, template.default, text, None, template.key_separator, template.item_separator,
                  template.sort_keys, template.skipkeys, template.allow_nan)

    def encoded(document: Any) -> str:
        if isinstance(document, str):
            return text(document)  # what JSONEncoder.encode does for a string
        return "".join(encode(document, 0))

    return encoded


def compact(document: Any) -> str:
    """Exactly ``printable(json.dumps(document, ensure_ascii=False, separators=(",", ":")))``: the
    text of one NDJSON line (a batch answer, ``meso batch``'s error lines, ``--ndjson``).

    orjson writes it, several times faster than the standard library's C encoder (a batch
    line's 4 KB check document in about 4 µs instead of about 25). Its text is the standard
    library's except in cases the standard library writes instead:

    - a float of magnitude below 1e-4, which orjson writes as ``0.00001`` or ``1e-6`` where
      Python writes ``1e-05`` and ``1e-06``; orjson's text then holds ``0.0000``, or ``e-``
      and one digit closing a number, and such text (rarely, the same letters in a string)
      is written again by the standard library;
    - what orjson refuses: an integer beyond 64 bits, a key that is not text, a lone
      surrogate, nesting deeper than 254, and the dataclasses and dates it is told not to
      write itself (the standard library refuses those too, with its own ``TypeError``).

    Documents are built from text, numbers, booleans, ``None``, lists, tuples and dicts, and
    their numbers are finite: meso refuses NaN and infinity wherever a number comes in
    (orjson would write ``null`` for them, the standard library ``NaN``; orjson would also
    write an enum or a UUID, which the standard library refuses).
    """
    data = _orjson_text(document)
    if data is None:
        return printable(_stdlib_compact(document))
    text = data.decode()
    return text if _nothing_to_escape(data) else printable(text)


def compact_utf8(document: Any) -> bytes:
    """:func:`compact` in UTF-8, as ``meso batch`` writes it (orjson's bytes as they are, when
    :func:`printable` has nothing to escape in them). A lone surrogate, which UTF-8 cannot hold
    and meso refuses in its input, would be written as a backslash escape."""
    data = _orjson_text(document)
    if data is None:
        return printable(_stdlib_compact(document)).encode("utf-8", "backslashreplace")
    return data if _nothing_to_escape(data) else printable(data.decode()).encode()


def _orjson_text(document: Any, *, indent: bool = False) -> bytes | None:
    """orjson's UTF-8 text of ``document`` (compact, or indented by two spaces), or ``None``
    where it refuses the document or would write it otherwise than the standard library (see
    :func:`compact`)."""
    dumps = _orjson_dumps or _load_orjson()
    try:
        data = dumps(document, None, _ORJSON_INDENTED if indent else _ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    if b"0.0000" in data or _SHORT_NEGATIVE_EXPONENT.search(data) is not None:
        return None
    return data


def _nothing_to_escape(data: bytes) -> bool:
    """Whether the UTF-8 JSON text ``data`` holds no character :func:`printable` escapes."""
    if data.isascii():
        return b"\x7f" not in data
    # What printable looks for is DEL or a character beyond ASCII, so only those bytes are
    # searched (UTF-8 never uses an ASCII byte inside a longer character): a few dozen bytes
    # of a document of several kilobytes, as a rule.
    return _INVISIBLE.search(data.translate(None, _ASCII_BUT_DEL).decode()) is None


_ASCII_BUT_DEL = bytes(range(0x7F))
_stdlib_compact = encoder_of(json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False))
# a number ending in e- and one digit: what closes a number is ",", "}", "]", a line's end or the text's
_SHORT_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9][,}\]\n]|e-[0-9]$")
_orjson_dumps: Callable[..., bytes] | None = None  # imported when first needed (a few ms of start-up)
_ORJSON_OPTIONS = _ORJSON_INDENTED = 0


def _load_orjson() -> Callable[..., bytes]:
    global _orjson_dumps, _ORJSON_OPTIONS, _ORJSON_INDENTED
    import orjson

    _ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    _ORJSON_INDENTED = _ORJSON_OPTIONS | orjson.OPT_INDENT_2
    _orjson_dumps = orjson.dumps
    return orjson.dumps


def indented(document: Any) -> str:
    """Exactly ``json.dumps(document, ensure_ascii=False, indent=2)`` (for documents of finite
    numbers, as :func:`compact`).

    orjson writes it where its text is the standard library's (see :func:`compact` for where
    it is not). Otherwise, since the standard library encodes indented JSON with its
    pure-Python encoder only, every container that holds no non-empty container (a list of
    names, a finding's sources, most of a large document's leaves) is encoded in one call of a
    C encoder whose item separator carries the newline and the indentation of its depth; only
    the containers above those are walked in Python. Documents must have no cycles (meso
    builds them fresh); a key that is not text, which JSON turns into text, sends the whole
    document to ``json.dumps``.
    """
    data = _orjson_text(document, indent=True)
    if data is not None:
        return data.decode()
    try:
        parts: list[str] = []
        _indented(document, 0, parts)
        return "".join(parts)
    except _KeyNotTextError:
        return json.dumps(document, ensure_ascii=False, indent=2)


class _KeyNotTextError(Exception):
    """A key that is not text: ``json.dumps`` converts it (or refuses it) by rules of its own."""


_INDENT = "  "
_flat_encoders: list[Callable[[Any], Any]] = []  # one per depth, made when first needed


def _flat_encoder(depth: int) -> Callable[[Any], Any]:
    """The C encoder of a container at ``depth`` with no non-empty container in it."""
    from json import encoder

    while len(_flat_encoders) <= depth:
        inner = "\n" + _INDENT * (len(_flat_encoders) + 1)
        make = getattr(encoder, "c_make_encoder", None)
        template = json.JSONEncoder(ensure_ascii=False, separators=("," + inner, ": "), check_circular=False)
        if make is None:  # no C accelerator: the same text from the Python encoder
            _flat_encoders.append(lambda value, t=template: (t.encode(value),))
        else:
            _flat_encoders.append(make(None, template.default, encoder.encode_basestring, None, ": ",
                                       "," + inner, False, False, True))
    return _flat_encoders[depth]


def _indented(value: Any, depth: int, out: list[str]) -> None:
    """Append the text of ``value`` at ``depth`` to ``out``."""
    if isinstance(value, dict):
        if not value:
            out.append("{}")
        elif _is_flat(value.values()):
            _flat(value, depth, out)
        else:
            inner = "\n" + _INDENT * (depth + 1)
            separator = "," + inner
            append = out.append
            append("{")
            for key, item in value.items():
                if type(key) is not str:
                    raise _KeyNotTextError
                append(inner)
                append(_basestring(key))
                append(": ")
                if type(item) is str:
                    append(_basestring(item))
                else:
                    _indented(item, depth + 1, out)
                inner = separator
            append("\n" + _INDENT * depth + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
        elif _is_flat(value):
            _flat(value, depth, out)
        else:
            inner = "\n" + _INDENT * (depth + 1)
            separator = "," + inner
            append = out.append
            append("[")
            for item in value:
                append(inner)
                if type(item) is str:
                    append(_basestring(item))
                else:
                    _indented(item, depth + 1, out)
                inner = separator
            append("\n" + _INDENT * depth + "]")
    else:
        out.extend(_flat_encoder(depth)(value, 0))


_CONTAINERS = (list, tuple, dict)


def _is_flat(values: Any) -> bool:
    """Whether no value is a non-empty container."""
    for item in values:  # noqa: SIM110 (a loop: no generator to resume per value)
        if isinstance(item, _CONTAINERS) and item:
            return False
    return True


def _flat(value: Any, depth: int, out: list[str]) -> None:
    """A non-empty container with no non-empty container in it, opened and closed on lines of its own."""
    if isinstance(value, dict) and any(type(key) is not str for key in value):
        raise _KeyNotTextError
    text = "".join(_flat_encoder(depth)(value, 0))
    out.append(text[0] + "\n" + _INDENT * (depth + 1) + text[1:-1] + "\n" + _INDENT * depth + text[-1])


# What ``json.dumps(..., ensure_ascii=False)`` leaves raw although a terminal acts on it or
# shows nothing for it: DEL and the C1 controls, and every invisible format character (Unicode
# categories Cc but C0, which JSON escapes itself, Cf, Zl and Zp): soft hyphen, bidirectional
# marks, embeddings, overrides and isolates, zero-width characters, the byte-order mark, line
# and paragraph separators, interlinear annotations and the tag characters.
_BMP = ("\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
        "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb")
_ASTRAL = ("\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
           "\U000e0020-\U000e007f")
INVISIBLE = _BMP + _ASTRAL
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# Searched apart: a class holding characters beyond the BMP is several times slower to search
# with, and most text has no such character (which an encoding to UTF-16 finds out at once).
_INVISIBLE_BMP = re.compile(f"[{_BMP}]")
_INVISIBLE_ASTRAL = re.compile(f"[{_ASTRAL}]")
# also the C0 controls but tab and newline, and lone surrogates (no terminal or file can take them)
_SHOWN_RAW = re.compile(f"[\x00-\x08\x0b-\x1f{INVISIBLE}\ud800-\udfff]")


def _json_escape(code: int) -> str:
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes a character beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _codes(pattern: str) -> list[int]:
    """Every code point of the character class text ``pattern`` (ranges as ``a-b``)."""
    codes, chars = [], list(pattern)
    while chars:
        first = ord(chars.pop(0))
        if len(chars) >= 2 and chars[0] == "-":
            last = ord(chars[1])
            del chars[:2]
        else:
            last = first
        codes.extend(range(first, last + 1))
    return codes


_JSON_ESCAPES = {code: _json_escape(code) for code in _codes(INVISIBLE)}


def printable(text: str) -> str:
    """JSON text ``text`` with every :data:`INVISIBLE` character written as a ``\\uXXXX`` escape.

    Such characters only occur inside JSON strings, so the text parses to the same value. The
    check costs a scan or two in C, and nearly nothing for ASCII text; only text that holds one
    is rewritten.
    """
    if text.isascii():
        if "\x7f" not in text:
            return text
    elif _INVISIBLE_BMP.search(text) is None and (
            len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text) or _INVISIBLE_ASTRAL.search(text) is None):
        return text
    return _INVISIBLE.sub(_json_escaped, text)


def _json_escaped(match: re.Match[str]) -> str:
    return _JSON_ESCAPES[ord(match.group())]


def shown(text: str) -> str:
    """``text`` with every C0 control but tab and newline, every :data:`INVISIBLE` character and
    every lone surrogate written visibly as ``\\xNN`` or ``\\uNNNN`` (``\\UNNNNNNNN`` beyond the
    BMP), for text that is not JSON: CSV cells, and everything the human renderer prints."""
    if text.isascii() and text.isprintable():
        return text
    return _SHOWN_RAW.sub(_visibly, text)


def _visibly(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
