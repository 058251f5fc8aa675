"""Verbs: ``meso check``, ``meso build`` and ``meso schema``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

import typer

from mesocli.cli import completion as complete
from mesocli.cli.io import read_document, write_json
from mesocli.cli.output import JSON_OPTION, OUTPUT_OPTION, choose, destination, format_option
from mesocli.errors import InputError


# ------------------------------------------------------------------------------- renderers
# Each command's formats are the keys of its table, so what --format offers and what is written
# for it cannot drift apart. A renderer writes (stream, request, answer, catalogue) in its format;
# options only some formats use (--explain) come as keywords the others ignore.
def _check_table(stream: TextIO, request: Any, result: Any, cat: Any, *, compact: bool = False,
                 **_options: Any) -> None:
    from mesocli.render.check_view import patient_line, render_check
    from mesocli.render.human import Printer

    render_check(Printer(stream), cat, result, patient_line(result), compact=compact)


def _check_csv(stream: TextIO, request: Any, result: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.tabular import findings_csv

    findings_csv(result.findings, stream)


def _check_markdown(stream: TextIO, request: Any, result: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.tabular import check_markdown

    stream.write(check_markdown(result, cat))


def _check_fhir(stream: TextIO, request: Any, result: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.fhir import check_bundle

    write_json(check_bundle(result, cat), stream)


def _json(stream: TextIO, request: Any, answer: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.documents import answer_document

    write_json(answer_document(request, answer, cat), stream)


def _build_table(stream: TextIO, request: Any, recipe: Any, cat: Any, *, explain: bool = False,
                 **_options: Any) -> None:
    from mesocli.render.human import Printer
    from mesocli.render.recipe import render_recipe

    render_recipe(Printer(stream), recipe, cat, explain=explain)


def _build_markdown(stream: TextIO, request: Any, recipe: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.recipe import recipe_markdown

    stream.write(recipe_markdown(recipe, cat))


def _build_fhir(stream: TextIO, request: Any, recipe: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.fhir import recipe_bundle

    write_json(recipe_bundle(recipe, cat), stream)


def _build_csv(stream: TextIO, request: Any, recipe: Any, cat: Any, **_options: Any) -> None:
    from mesocli.render.tabular import recipe_csv

    recipe_csv(recipe, cat, stream)


CHECK_RENDERERS: dict[str, Callable[..., None]] = {
    "table": _check_table, "json": _json, "csv": _check_csv, "markdown": _check_markdown, "fhir": _check_fhir,
}
BUILD_RENDERERS: dict[str, Callable[..., None]] = {
    "table": _build_table, "json": _json, "markdown": _build_markdown, "fhir": _build_fhir, "csv": _build_csv,
}
CHECK_FORMATS = tuple(CHECK_RENDERERS)
BUILD_FORMATS = tuple(BUILD_RENDERERS)


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("check")(check)
    app.command("schema")(schema)


def _request(action: str, patient_file: str | None, recipe_file: str | None = None, **options: Any) -> Any:
    """The options of ``meso check`` or ``meso build`` as one request, read as a batch line is.

    Options left unset are not fields; the patient and recipe files are read here, so their
    errors name the option and the file.
    """
    from mesocli.domain.patient import patient_from_mapping
    from mesocli.domain.request import option_name, request_from_mapping

    if patient_file == "-" and recipe_file == "-":
        raise InputError("--patient and --recipe cannot both read standard input")
    fields = {key: list(value) if isinstance(value, list | tuple) else value
              for key, value in options.items() if value is not None and value != []}
    if patient_file is not None:
        fields["patient"] = patient_from_mapping(read_document(patient_file, "--patient"),
                                                 what=_named("--patient", patient_file))
    if recipe_file is not None:
        from mesocli.domain.recipe import recipe_from_mapping

        fields["recipe"] = recipe_from_mapping(read_document(recipe_file, "--recipe"),
                                               what=_named("--recipe", recipe_file))
    return request_from_mapping(fields, action=action, name=option_name)


def _named(option: str, source: str) -> str:
    """How errors in a file's content name it: the option and the file."""
    return f"{option} {'standard input' if source == '-' else source}"


def check(
    allergy: list[str] = typer.Option([], "--allergy", "-a",
                                      help="An allergy (substance, group or alias). Repeatable.",
                                      autocompletion=complete.allergies),
    condition: list[str] = typer.Option([], "--condition", "-c", help="A patient condition. Repeatable.",
                                        autocompletion=complete.conditions),
    medication: list[str] = typer.Option([], "--medication", "-m", help="A medication or class. Repeatable.",
                                         autocompletion=complete.medications),
    age: int | None = typer.Option(None, "--age", help="Age in whole years."),
    weight: str | None = typer.Option(None, "--weight", help='Body weight, e.g. "70 kg".'),
    sex: str | None = typer.Option(None, "--sex", metavar="female|male",
                                   help="The patient's sex (default: unknown).",
                                   autocompletion=complete.sexes),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Patient file (JSON, TOML or a FHIR R4 Bundle), or - for stdin."),
    ingredient: list[str] = typer.Option([], "--ingredient", "-i",
                                         help="A product or substance; several are mixed in one syringe.",
                                         autocompletion=complete.ingredients),
    recipe: str | None = typer.Option(None, "--recipe", help="Recipe JSON (as meso build --json writes), or -."),
    indication: str | None = typer.Option(None, "--indication", help="Check fit for this indication.",
                                          autocompletion=complete.indications),
    area: str | None = typer.Option(None, "--area", help="Body area, for on-label and per-area rules.",
                                    autocompletion=complete.areas),
    treatment_area: str | None = typer.Option(None, "--treatment-area", help='Treated area, e.g. "25 cm^2".'),
    max_products: int | None = typer.Option(None, "--max-products",
                                            help="Most products in one syringe (default 3)."),
    fail_on: str | None = typer.Option(None, "--fail-on",
                                       help="caution|contraindicated: what makes exit 1 (default contraindicated)."),
    output_format: str = format_option(*CHECK_FORMATS),
    as_json: bool = JSON_OPTION,
    output: str | None = OUTPUT_OPTION,
    compact: bool = typer.Option(False, "--compact",
                                 help="Screen as a table, one row and a one-line why per finding."),
) -> int:
    """Report every allergy, contraindication, incompatibility and dose problem.

    With no --ingredient and no --recipe, screen the patient against the whole catalogue:
    everything to avoid, everything that needs caution, and safe alternatives.

    \b
    Examples:
      meso check --allergy lidocaine
      meso check --allergy lidocaine --ingredient restylane-vital-lidocaine
      meso check --condition pregnancy --recipe recipe.json --json
      meso check --patient patient.json --ingredient dexpanthenol --format csv -o findings.csv
    """
    from mesocli.api import answer, load_catalogue

    fmt = choose(output_format, as_json, CHECK_FORMATS)
    request = _request("check", patient, recipe, allergies=allergy, conditions=condition, medications=medication,
                       age=age, weight=weight, sex=sex, ingredients=ingredient, indication=indication, area=area,
                       treatment_area=treatment_area, max_products=max_products, fail_on=fail_on)
    cat = load_catalogue()
    result = answer(request, cat)
    with destination(output) as stream:
        CHECK_RENDERERS[fmt](stream, request, result, cat, compact=compact)
    return request.exit_code(result)


def build(
    indication: str = typer.Option(..., "--indication", help="What to treat, e.g. hair-loss.",
                                   autocompletion=complete.indications),
    area: str | None = typer.Option(None, "--area", help="Body area (default: the indication's first).",
                                    autocompletion=complete.areas),
    allergy: list[str] = typer.Option([], "--allergy", "-a", help="An allergy. Repeatable.",
                                      autocompletion=complete.allergies),
    condition: list[str] = typer.Option([], "--condition", "-c", help="A patient condition. Repeatable.",
                                        autocompletion=complete.conditions),
    medication: list[str] = typer.Option([], "--medication", "-m", help="A medication or class. Repeatable.",
                                         autocompletion=complete.medications),
    age: int | None = typer.Option(None, "--age", help="Age in whole years."),
    weight: str | None = typer.Option(None, "--weight", help='Body weight, e.g. "70 kg".'),
    sex: str | None = typer.Option(None, "--sex", metavar="female|male",
                                   help="The patient's sex (default: unknown).",
                                   autocompletion=complete.sexes),
    patient: str | None = typer.Option(None, "--patient",
                                       help="Patient file (JSON, TOML or a FHIR R4 Bundle), or - for stdin."),
    volume: str | None = typer.Option(None, "--volume", help='Cocktail volume for the session, e.g. "4 mL".'),
    treatment_area: str | None = typer.Option(None, "--treatment-area", help='Treated area, e.g. "25 cm^2".'),
    max_products: int | None = typer.Option(None, "--max-products",
                                            help="Most products in one syringe, and most actives in the recipe "
                                                 "(default 3)."),
    output_format: str = format_option(*BUILD_FORMATS),
    as_json: bool = JSON_OPTION,
    explain: bool = typer.Option(False, "--explain", help="Show the arithmetic behind every amount and cap."),
    output: str | None = OUTPUT_OPTION,
) -> int:
    """Print a dosed cocktail for an indication, safe for the patient, or refuse.

    \b
    Examples:
      meso build --indication hair-loss
      meso build --indication submental-fat --volume "10 mL" --treatment-area "25 cm^2" --weight "60 kg"
      meso build --indication skin-rejuvenation --allergy lidocaine --format markdown -o card.md
    """
    from mesocli.api import answer, load_catalogue

    fmt = choose(output_format, as_json, BUILD_FORMATS)
    request = _request("build", patient, allergies=allergy, conditions=condition, medications=medication,
                       age=age, weight=weight, sex=sex, indication=indication, area=area, volume=volume,
                       treatment_area=treatment_area, max_products=max_products)
    cat = load_catalogue()
    recipe = answer(request, cat)
    with destination(output) as stream:
        BUILD_RENDERERS[fmt](stream, request, recipe, cat, explain=explain)
    return request.exit_code(recipe)


def schema(
    name: str = typer.Argument(..., metavar="recipe|check|batch|error|list|show",
                               help="Which output contract: recipe, check, batch, error, list or show."),
    output: str | None = OUTPUT_OPTION,
) -> int:
    """Print the JSON Schema (draft 2020-12) of an output contract.

    \b
    Examples:
      meso schema recipe > recipe.schema.json
      meso schema batch
      meso schema list -o list.schema.json
    """
    from mesocli import schemas

    if name not in schemas.NAMES:
        raise InputError(f"unknown schema {name!r}; choose one of {', '.join(schemas.NAMES)}")
    with destination(output) as stream:
        write_json(schemas.load(name), stream)
    return 0
