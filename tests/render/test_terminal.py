"""Human output on a real terminal of 80 and 120 columns and through a pipe: one layout, colour
the only difference, nothing split, indents kept; and no control character ever reaches a
terminal raw, nor Markdown markup from a name into the recipe card."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.render import human
from mesocli.render.human import Printer, visible, words
from mesocli.render.recipe import md, md_source, recipe_markdown
from tests._terminal import meso_env, run_on_terminal, run_piped

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

CHECK = ("check", "--allergy", "parabens", "--condition", "asthma",
         "--ingredient", "lidocaine-2pct-md-methylparaben", "--ingredient", "ha-nonxl-booster")
SCREEN = ("check", "--allergy", "lidocaine")
COMMANDS = {
    "check": CHECK,
    "screen": SCREEN,
    "build": ("build", "--indication", "hair-loss"),
    "show": ("ingredients", "show", "lidocaine"),
    "list": ("conditions", "list"),
}
SGR = re.compile(r"\x1b\[[0-9;]*m")
URL = re.compile(r"https?://[^\s<>]+")
AMOUNT = re.compile(r"\d[\d.,]*(?:-\d[\d.,]*)? (?:mg/mL|mL|mg|mm|cm²|mg/kg|days?|hours?|d)\b")
IDENT = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b")
DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff]")


def _text(data: bytes) -> str:
    return data.replace(b"\r\n", b"\n").decode("utf-8")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return str(tmp_path_factory.mktemp("meso-home"))


def _env(home: str, **overrides: str | None) -> dict[str, str]:
    return meso_env(**{"MESO_HOME": home, "COLUMNS": None, **overrides})


def _terminal(args, home: str, columns: int, **env: str | None) -> str:
    run = run_on_terminal(*args, env=_env(home, **env), stdout_tty=True, columns=columns)
    assert run.code in (0, 1), run.stderr
    return _text(run.terminal)


@pytest.fixture(scope="module")
def outputs(home):
    """Each command's output at 80 and 120 columns, in colour and with NO_COLOR, through a pipe,
    and at a width where nothing wraps."""
    found = {}
    for name, args in COMMANDS.items():
        found[name] = {
            "wide": run_piped(*args, env=_env(home, COLUMNS="2000")).stdout.decode("utf-8"),
            "pipe": run_piped(*args, env=_env(home)).stdout.decode("utf-8"),
            "json": (json.loads(run_piped(*args, "--json", env=_env(home)).stdout)
                     if name in ("check", "screen") else None),
        }
        for columns in (80, 120):
            found[name][columns] = _terminal(args, home, columns)
            found[name][f"{columns}-plain"] = _terminal(args, home, columns, NO_COLOR="1")
        found[name]["100-dumb"] = _terminal(args, home, 100, TERM="dumb")
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("columns", [80, 120])
def test_colour_is_the_only_difference(outputs, name, columns):
    """On a colour terminal the text is styled; without the styles it is exactly what NO_COLOR gives."""
    coloured, plain = outputs[name][columns], outputs[name][f"{columns}-plain"]
    assert "\x1b[" in coloured
    assert "\x1b" not in plain
    assert SGR.sub("", coloured) == plain


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_pipe_and_a_dumb_terminal_get_the_same_lines_at_the_default_width(outputs, name):
    """With no terminal width to go by, a pipe gets 100 columns, the same text as a dumb 100-column terminal."""
    assert human.DEFAULT_WIDTH == 100
    assert outputs[name]["pipe"] == outputs[name]["100-dumb"]
    assert "\x1b" not in outputs[name]["pipe"]


def _overflows_only_by_one_word(line: str, width: int) -> bool:
    return len(line) <= width or re.fullmatch(r"\s*(?:[-*] )?(?:[^\s:]+: )?\S+", line) is not None


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("width", [80, 100, 120])
def test_lines_fit_the_width(outputs, name, width):
    """Every line fits the width, unless it holds one word longer than the line (a URL)."""
    text = outputs[name]["pipe"] if width == 100 else outputs[name][f"{width}-plain"]
    long = [line for line in text.splitlines() if not _overflows_only_by_one_word(line, width)]
    assert not long
    assert max(len(line) for line in outputs[name]["wide"].splitlines()) > 80  # so wrapping was needed


def _protected(text: str) -> dict[str, int]:
    tokens: dict[str, int] = {}
    for pattern in (URL, AMOUNT, IDENT):
        for token in pattern.findall(text):
            tokens[token] = 0
    for token in tokens:
        tokens[token] = sum(line.count(token) for line in text.splitlines())
    return tokens


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("width", [80, 100, 120])
def test_ids_amounts_and_urls_are_never_split(outputs, name, width):
    """Every id, amount and URL of the unwrapped output appears as often, each whole on one line."""
    text = outputs[name]["pipe"] if width == 100 else outputs[name][f"{width}-plain"]
    expected = _protected(outputs[name]["wide"])
    assert any(URL.fullmatch(t) for t in expected) or name not in ("show", "check")
    assert any(AMOUNT.fullmatch(t) for t in expected) or name != "build"
    found = {token: sum(line.count(token) for line in text.splitlines()) for token in expected}
    assert found == expected


def _paragraph(lines: list[str], label: str) -> list[str]:
    """Every paragraph that starts with ``label``, its wrapped lines joined; continuation lines
    must be indented exactly under the text after the label."""
    paragraphs = []
    for index, line in enumerate(lines):
        if line.startswith(label):
            parts = [line[len(label):]]
            for follow in lines[index + 1:]:
                if not follow.startswith(" " * len(label)) or not follow[len(label)].strip():
                    break
                parts.append(follow[len(label):])
            paragraphs.append(" ".join(parts))
    return paragraphs


@pytest.mark.parametrize("name", ["check", "screen"])
@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_finding_shows_its_full_why_and_advice_under_its_label(outputs, name, width):
    """Each finding's whole message and advice are on screen, wrapped under the text after "why:"
    and "instead:" (never back at the margin)."""
    text = outputs[name]["pipe"] if width == 100 else outputs[name][f"{width}-plain"]
    lines = text.splitlines()
    findings = outputs[name]["json"]["findings"]
    assert findings
    whys = _paragraph(lines, "    why: ")
    advice = _paragraph(lines, "    instead: ")
    for finding in findings:
        assert " ".join(finding["message"].split()) in whys
        if finding.get("advice"):
            assert " ".join(finding["advice"].split()) in advice
    assert any(len(_paragraph_lines(lines, "    why: ", w)) > 1 for w in whys) or width == 120


def _paragraph_lines(lines: list[str], label: str, joined: str) -> list[str]:
    for index, line in enumerate(lines):
        if line.startswith(label) and joined.startswith(line[len(label):]):
            out = [line]
            for follow in lines[index + 1:]:
                if not follow.startswith(" " * len(label)) or not follow[len(label)].strip():
                    break
                out.append(follow)
            return out
    return []


def test_wrapped_recipe_reasons_keep_their_indent(outputs):
    """A product's reason under a syringe continues under the text after "id: ", never at the margin."""
    lines = outputs["build"]["80-plain"].splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"  [a-z0-9-]+: ", line)]
    assert starts
    wrapped = 0
    for i in starts:
        hang = len(re.match(r"  [a-z0-9-]+: ", lines[i]).group(0))
        j = i + 1
        while j < len(lines) and lines[j].startswith(" " * hang) and lines[j][hang] != " ":
            j += 1
        wrapped += j - i - 1
    assert wrapped  # at 80 columns some reasons do wrap


# --------------------------------------------------------------------------- width and words


def test_width_comes_from_columns_then_the_terminal_then_the_default(monkeypatch):
    """COLUMNS wins; a stream that is no terminal gets 100; a tiny width is raised to the minimum."""
    monkeypatch.delenv("COLUMNS", raising=False)
    assert human.output_width(io.StringIO()) == human.DEFAULT_WIDTH
    monkeypatch.setenv("COLUMNS", "132")
    assert human.output_width(io.StringIO()) == 132
    monkeypatch.setenv("COLUMNS", "5")
    assert human.output_width(io.StringIO()) == human.MIN_WIDTH


def test_amounts_and_ranges_are_one_word():
    """A number and the unit after it wrap as one piece."""
    assert words("Lidocaine 10 mg/mL -> 3 mg, every 14-28 days") == [
        "Lidocaine", "10 mg/mL", "->", "3 mg,", "every", "14-28 days"]


@given(text=st.text(alphabet=st.sampled_from("ab cd-ef 10 mg/mL https://x.org/a_b\n"), max_size=300),
       width=st.integers(min_value=human.MIN_WIDTH, max_value=150))
def test_wrapping_keeps_every_word_and_the_indent(text, width):
    """Wrapping under a label keeps every word, in order, and every continuation line is indented."""
    lines = human.wrap(text, width, "    why: ")
    assert lines[0].startswith("    why:")
    assert all(line.startswith(" " * 9) or not line.strip() for line in lines[1:])
    assert " ".join(" ".join(lines).split()).replace("why: ", "", 1) == " ".join(
        visible(text).split()) or not text.strip()
    for line in lines:
        assert len(line) <= width or len(line.split()) <= 3


# --------------------------------------------------------------------------- control characters


@given(st.text())
def test_visible_leaves_no_control_character(text):
    """Whatever the text, what is shown has no control, escape, bidi or surrogate character left,
    and text without one is left exactly as it was."""
    from mesocli.render.jsontext import INVISIBLE

    shown = visible(text)
    assert DANGEROUS.search(shown) is None
    shown.encode("utf-8")
    # INVISIBLE (checked against the Unicode database in test_attack_escapes.py) is escaped too.
    if DANGEROUS.search(text) is None and re.search(f"[{INVISIBLE}]", text) is None:
        assert shown == text


@settings(max_examples=60)
@given(name=st.text(min_size=1, max_size=40), other=st.text(max_size=80),
       width=st.integers(min_value=40, max_value=160), colour=st.booleans())
def test_the_printer_never_writes_a_raw_control_character(name, other, width, colour):
    """Names and texts with any characters come out of every printer method escaped."""
    out = io.StringIO()
    p = Printer(out, colour=colour, width=width)
    p.heading(name)
    p.line(f"  - {name}: {other}")
    p.field(name, other)
    p.severity("caution", f"{name} ({other})")
    p.table(["Id", name], [[name, other], [other, name]], title=name)
    p.table([name] * 8, [[name * 30] * 8])  # too wide for a table: printed as blocks
    p.note(other)
    text = SGR.sub("", out.getvalue())
    assert DANGEROUS.search(text.replace("\n", "")) is None
    assert "\x1b" not in text


def test_an_error_message_is_shown_escaped(capsys):
    """The one-line error on stderr shows a control sequence from the input as text."""
    from mesocli.cli.app import _fail

    assert _fail(2, "unknown allergy 'x\x1b[2J\u202ey\x9b1m'") == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err and "\x9b" not in err
    assert "x\\x1b[2J\\u202ey\\x9b1m" in err


def test_a_hostile_name_does_not_reach_the_terminal_raw(home):
    """A term with an escape sequence, typed by the user, is escaped in everything meso writes."""
    run = run_piped("check", "--allergy", "lidocaine\u202e\x1b]0;pwned\x07", env=_env(home))
    assert run.code == 2
    assert DANGEROUS.search(run.stderr.decode("utf-8", "replace").replace("\n", "")) is None


# --------------------------------------------------------------------------- markdown


MD_SPECIAL = set("\\`*_[]<>#|")


def _unescaped(text: str) -> str:
    return re.sub(r"\\.", "", text)


@given(st.text())
def test_markdown_text_has_no_markup_left(text):
    """A name in the card can hold no Markdown markup, line break or control character, and
    removing the escapes gives back the name as shown on a terminal."""
    shown = md(text)
    assert not MD_SPECIAL & set(_unescaped(shown))
    assert "\n" not in shown and DANGEROUS.search(shown) is None
    assert re.sub(r"\\(.)", r"\1", shown) == " ".join(visible(text).split("\n"))


def test_a_source_keeps_its_url_as_a_link():
    """A source's URL stays one clickable autolink; its title is escaped."""
    assert (md_source("Smith *et al* [2020] <https://example.org/a_b?c=1>")
            == "Smith \\*et al\\* \\[2020\\] <https://example.org/a_b?c=1>")
    assert md_source("no <url here>") == "no \\<url here\\>"


HOSTILE = st.text(alphabet=st.sampled_from(list("ab |*_[]`<>#\\\n\x1b\u202e-")), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(product=HOSTILE, substance=HOSTILE, indication=HOSTILE, title=HOSTILE)
def test_the_card_keeps_its_structure_whatever_the_names(built_recipe, product, substance, indication, title):
    """Names and titles with Markdown markup, line breaks and escapes cannot break the card:
    one line per row, the table's columns, the headings."""
    recipe, cat = built_recipe
    cat = copy.copy(cat)
    cat.indications = {k: dataclasses.replace(v, name=indication) for k, v in cat.indications.items()}
    syringes = tuple(dataclasses.replace(s, components=tuple(
        dataclasses.replace(c, product=dataclasses.replace(c.product, name=product),
                            substances=tuple(dataclasses.replace(d, name=substance) for d in c.substances))
        for c in s.components)) for s in recipe.syringes)
    # A hostile title in place of each source's own, keeping its URL where it has one.
    sources = tuple(f"{title} <{found.group()}>" if (found := URL.search(s)) else title for s in recipe.sources)
    card = recipe_markdown(dataclasses.replace(recipe, syringes=syringes, sources=sources), cat)
    assert DANGEROUS.search(card.replace("\n", "")) is None
    plain = recipe_markdown(recipe, built_recipe[1])
    assert len(card.splitlines()) == len(plain.splitlines())
    for line, reference in zip(card.splitlines(), plain.splitlines(), strict=True):
        assert line.startswith("#") == reference.startswith("#")
        assert _unescaped(line).count("|") == reference.count("|")
        assert _unescaped(line).count("`") == reference.count("`")


@pytest.fixture(scope="module")
def built_recipe():
    from mesocli import build, load_catalogue

    cat = load_catalogue()
    return build("skin-rejuvenation", catalogue=cat), cat


# --------------------------------------------------------------------------- the card


def _card(*args: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mesocli", "build", *args, "--format", "markdown"],
                          env=meso_env(**env), capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_card_names_its_date_version_and_catalogue(home):
    """The card carries the date (from SOURCE_DATE_EPOCH), meso's version, the catalogue's schema
    revision and a content hash that does not depend on the process."""
    from mesocli import __version__, load_catalogue

    first = _card("--indication", "skin-rejuvenation", MESO_HOME=home, SOURCE_DATE_EPOCH="1700000000",
                  PYTHONHASHSEED="1")
    second = _card("--indication", "skin-rejuvenation", MESO_HOME=home, SOURCE_DATE_EPOCH="1700000000",
                   PYTHONHASHSEED="2")
    assert first == second
    assert "- **Date:** 2023-11-14" in first
    revision = load_catalogue().revision
    made_by = next(line for line in first.splitlines() if line.startswith("- **Made by:**"))
    assert f"meso {__version__}" in made_by and f"catalogue revision {revision}" in made_by
    assert re.search(r"content sha256 `[0-9a-f]{64}`", made_by)


def test_the_card_prints_ranges_as_ranges(home):
    """A protocol's interval and sessions are printed as the ranges the sources give."""
    card = _card("--indication", "skin-rejuvenation", MESO_HOME=home)
    assert "- Interval: 14-28 days" in card
    assert "- Sessions: 3-4" in card
    assert "at least 14 day" not in card


def test_ranges_are_written_as_people_write_them():
    """Both bounds make a range, one bound says which, units follow the number."""
    from mesocli.render.recipe import count_range, range_text
    from mesocli.units import Amount

    assert range_text(Amount(14, "day"), Amount(28, "day")) == "14-28 days"
    assert range_text(Amount(1, "day"), None) == "at least 1 day"
    assert range_text(None, Amount(4, "mm")) == "up to 4 mm"
    assert range_text(Amount(2, "mm"), Amount(2, "mm")) == "2 mm"
    assert range_text(None, None) is None
    assert count_range(3, 4) == "3-4" and count_range(3, None) == "at least 3" and count_range(None, None) is None


def test_compact_screen_is_one_row_per_finding(meso):
    """--compact prints a screen as a table: one row per finding (its id first), no why/instead lines."""
    doc = meso("check", "--allergy", "lidocaine", "--json").json()
    outcome = meso("check", "--allergy", "lidocaine", "--compact")
    assert outcome.exit_code == 1
    lines = outcome.stdout.splitlines()
    assert not any(line.startswith("    why: ") for line in lines)
    start = lines.index(next(line for line in lines if line.startswith("Avoid (")))
    end = lines.index("", start)
    rows = [line for line in lines[start + 3:end] if not line.startswith(" ")]
    avoid = [f["subject"] for f in doc["findings"] if f["severity"] == "contraindicated"]
    assert [row.split()[0] for row in rows] == avoid
