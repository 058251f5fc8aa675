"""``meso catalogue``: a clinic's own substances, products and FHIR codes (import, export, remove, log)."""

from __future__ import annotations

from pathlib import Path

import typer

from mesocli.cli.io import show_text, write_json
from mesocli.cli.output import JSON_OPTION, OUTPUT_OPTION, choose, destination, format_option

REPORT_FORMATS = ("table", "json")
LOG_FORMATS = ("table", "json", "csv", "markdown")
LOG_COLUMNS = ("id", "imported_at", "file", "sha256", "substances", "products", "replaced", "codes")

catalogue = typer.Typer(
    help="A clinic's own substances, products and FHIR codes: import, export, remove, and the import log.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(catalogue, name="catalogue")


def _clinic_database() -> str:
    from mesocli import config
    from mesocli.errors import InputError

    url = config.database_url()
    if url is None:
        raise InputError(
            f"the shipped catalogue is read-only; set {config.DATABASE_ENV} to the clinic's database "
            "(create it with 'meso db upgrade')"
        )
    return url


@catalogue.command("import")
def import_command(
    source: str = typer.Argument(..., metavar="FILE",
                                 help="TOML file of [[substance]], [[product]] and [[code]] rows, or -."),
    replace: bool = typer.Option(False, "--replace",
                                 help="Replace rows with the same id (codes: the same kind, system and code) "
                                      "imported before."),
    output_format: str = format_option(*REPORT_FORMATS),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a clinic's substances, products and FHIR codes (the format of the catalogue's TOML files).

    A [[code]] row maps a coding of the clinic's record system to a catalogue term, as
    data/codes/fhir.toml does; a code the shipped table maps already is refused.

    The whole file is validated against the catalogue first and written in one transaction: a bad
    file changes nothing and the error names the row and the reason. Imported rows are marked
    local and are kept by 'meso db upgrade'.
    """
    from mesocli.cli.io import read_text
    from mesocli.storage.importer import MAX_IMPORT_BYTES, import_catalogue

    as_json = choose(output_format, as_json, REPORT_FORMATS) == "json"
    url = _clinic_database()
    text = read_text(source, "import file", limit=MAX_IMPORT_BYTES)
    name = "standard input" if source == "-" else Path(source).name
    report = import_catalogue(url, text, name, replace=replace)
    if as_json:
        from mesocli.cli.output import catalogue_or_none
        from mesocli.render.documents import envelope

        write_json(envelope("catalogue-import", catalogue=catalogue_or_none(), file=report.file_name,
                            sha256=report.sha256,
                            substances=list(report.substances), products=list(report.products),
                            replaced=list(report.replaced), location=report.location, codes=list(report.codes)))
        return
    codes = f" and {len(report.codes)} FHIR code(s)" if report.codes else ""
    typer.echo(f"{show_text(report.location)}: imported {len(report.substances)} substance(s) and "
               f"{len(report.products)} product(s){codes} from {show_text(report.file_name)}"
               + (f", replacing {', '.join(map(show_text, report.replaced))}" if report.replaced else ""))
    for row_id in (*report.substances, *report.products, *report.codes):
        typer.echo(f"  + {show_text(row_id)} (local)")


@catalogue.command("export")
def export_command(
    everything: bool = typer.Option(False, "--all",
                                    help="Also write the shipped substances, products and FHIR codes."),
    output: str | None = typer.Option(None, "--output", "-o", metavar="FILE",
                                      help="Write to FILE instead of standard output (- is standard output)."),
) -> None:
    """Write the clinic's substances, products and FHIR codes as TOML that 'meso catalogue import' reads.

    With --all the shipped rows are written too, for review; those cannot be imported back.
    """
    from mesocli import __version__
    from mesocli.api import load_catalogue
    from mesocli.storage.export import export_toml

    cat = load_catalogue()
    substances = [s for s in cat.substances.values() if everything or s.local]
    products = [p for p in cat.products.values() if everything or p.local]
    codes = [c for c in cat.fhir_codes if everything or c.local]
    scope = ("all substances, products and FHIR codes" if everything
             else "the clinic's own substances, products and FHIR codes")
    header = (f"meso {__version__} catalogue export: {scope}\n"
              f"{len(substances)} substance(s), {len(products)} product(s), {len(codes)} FHIR code(s), "
              f"from {cat.location}")
    text = export_toml(substances, products, header=header, codes=codes)
    from mesocli.cli.output import destination

    with destination(output) as stream:
        stream.write(text)


@catalogue.command("remove")
def remove_command(
    ids: list[str] = typer.Argument(..., metavar="ID...",
                                    help="Ids of substances or products the clinic imported, or SYSTEM|CODE of "
                                         "its FHIR codes."),
    output_format: str = format_option(*REPORT_FORMATS),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove substances, products or FHIR codes the clinic imported (never shipped ones)."""
    as_json = choose(output_format, as_json, REPORT_FORMATS) == "json"
    from mesocli.storage.db import describe
    from mesocli.storage.importer import remove_local

    url = _clinic_database()
    removed = remove_local(url, ids)
    if as_json:
        from mesocli.cli.output import catalogue_or_none
        from mesocli.render.documents import envelope

        write_json(envelope("catalogue-remove", catalogue=catalogue_or_none(), removed=list(removed),
                            location=describe(url)))
        return
    for row_id in removed:
        typer.echo(f"  - {show_text(row_id)}")


@catalogue.command("log")
def log_command(output_format: str = format_option(*LOG_FORMATS), as_json: bool = JSON_OPTION,
                output: str | None = OUTPUT_OPTION) -> None:
    """List every import into the clinic's database: when, which file, its SHA-256, what it added."""
    from mesocli.storage.importer import import_log

    fmt = choose(output_format, as_json, LOG_FORMATS)
    entries = import_log(_clinic_database())
    items = [{"id": e.id, "imported_at": e.imported_at, "file": e.file_name, "sha256": e.sha256,
              "substances": e.substances, "products": e.products, "replaced": e.replaced, "codes": e.codes}
             for e in entries]
    with destination(output) as stream:
        if fmt == "json":
            from mesocli.cli.output import catalogue_or_none
            from mesocli.render.documents import envelope

            write_json(envelope("catalogue-log", catalogue=catalogue_or_none(), items=items), stream)
        elif fmt == "csv":
            from mesocli.render.tabular import items_csv

            items_csv(LOG_COLUMNS, items, stream)
        elif fmt == "markdown":
            from mesocli.render.tabular import items_markdown

            items_markdown("Catalogue imports", LOG_COLUMNS, items, stream)
        else:
            from mesocli.render.human import Printer

            Printer(stream).table(
                ["#", "Imported (UTC)", "File", "SHA-256", "Substances", "Products", "Replaced", "Codes"],
                [[str(e.id), e.imported_at, e.file_name, e.sha256[:12], str(e.substances), str(e.products),
                  str(e.replaced), str(e.codes)] for e in entries],
                title=f"Catalogue imports ({len(entries)})",
            )
