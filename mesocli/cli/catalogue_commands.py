"""Nouns: ``meso ingredients|products|indications|allergens|conditions|medications``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, TextIO

import typer

from mesocli.cli.io import write_json
from mesocli.cli.output import JSON_OPTION, OUTPUT_OPTION, choose, destination, format_option

LIST_FORMATS = ("table", "json", "csv", "markdown")
SHOW_FORMATS = ("table", "json")
LIST_JSON_OPTION = JSON_OPTION
FORMAT_OPTION = format_option(*LIST_FORMATS)
SHOW_FORMAT_OPTION = format_option(*SHOW_FORMATS)

# CSV columns of each listing: the keys of the items its JSON prints, in the same order.
INGREDIENT_COLUMNS = ("id", "name", "class", "role", "origin", "status", "injectable", "aliases", "local")
PRODUCT_COLUMNS = ("id", "name", "status", "vehicle", "dose", "do_not_admix", "generic", "local", "substances")
SEARCH_COLUMNS = ("type", "id", "name", "class", "matched", "rank")
INDICATION_COLUMNS = ("id", "name", "areas", "ingredients")
ALLERGEN_COLUMNS = ("id", "name", "aliases", "members", "origins")
CONDITION_COLUMNS = ("id", "name", "aliases", "evidence", "sources", "source_grades")
MEDICATION_COLUMNS = ("id", "name", "type", "classes", "aliases", "evidence", "sources", "source_grades")

ingredients = typer.Typer(help="Substances: actives, excipients and vehicles.", no_args_is_help=True)
products = typer.Typer(help="Products: what comes in a vial, ampoule or syringe.", no_args_is_help=True)
indications = typer.Typer(help="Indications, their areas, ingredients and protocols.", no_args_is_help=True)
allergens = typer.Typer(help="Allergen groups and cross-reactivity.", no_args_is_help=True)
conditions = typer.Typer(help="Patient conditions meso knows.", no_args_is_help=True)
medications = typer.Typer(help="Medications and medication classes meso knows.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ingredients, name="ingredients")
    app.add_typer(products, name="products")
    app.add_typer(indications, name="indications")
    app.add_typer(allergens, name="allergens")
    app.add_typer(conditions, name="conditions")
    app.add_typer(medications, name="medications")


def _catalogue() -> Any:
    from mesocli.api import load_catalogue

    return load_catalogue()


def _list_format(output_format: str, as_json: bool) -> str:
    """The format a listing writes: --json wins, as on the other commands."""
    return choose(output_format, as_json, LIST_FORMATS)


def _complete_from_catalogue(pick: Any) -> Any:
    """A completion callback offering catalogue ids; the catalogue is loaded only when asked."""

    def complete(incomplete: str) -> list[str]:
        try:
            ids = pick(_catalogue())
        except Exception:  # completion must never break the shell: offer nothing instead
            return []
        return sorted(i for i in ids if i.startswith(incomplete))

    return complete


complete_ingredient = _complete_from_catalogue(lambda c: [*c.substances, *c.products])
complete_substance = _complete_from_catalogue(lambda c: list(c.substances))
complete_product = _complete_from_catalogue(lambda c: list(c.products))
complete_class = _complete_from_catalogue(lambda c: {s.cls for s in c.substances.values()})
complete_indication = _complete_from_catalogue(lambda c: list(c.indications))
complete_allergen = _complete_from_catalogue(lambda c: list(c.groups))


class _Listing(NamedTuple):  # not a dataclass: importing dataclasses would slow every start-up
    """One listing to write: its items (the dicts its JSON holds) and how each format shows them."""

    kind: str
    items: list[dict[str, Any]]
    csv_columns: Sequence[str]
    columns: list[str]
    row: Any
    title: str
    catalogue: Any


def _list_table(stream: TextIO, listing: _Listing) -> None:
    from mesocli.render.human import Printer

    Printer(stream).table(listing.columns, [listing.row(i) for i in listing.items],
                          title=f"{listing.title} ({len(listing.items)})")


def _list_json(stream: TextIO, listing: _Listing) -> None:
    from mesocli.render.documents import envelope

    write_json(envelope(listing.kind, catalogue=listing.catalogue, items=listing.items), stream)


def _list_csv(stream: TextIO, listing: _Listing) -> None:
    from mesocli.render.tabular import items_csv

    items_csv(listing.csv_columns, listing.items, stream)


def _list_markdown(stream: TextIO, listing: _Listing) -> None:
    from mesocli.render.tabular import items_markdown

    items_markdown(listing.title, listing.csv_columns, listing.items, stream)


# How each of LIST_FORMATS is written (a test keeps the two the same).
LIST_RENDERERS = {"table": _list_table, "json": _list_json, "csv": _list_csv, "markdown": _list_markdown}


def _emit_list(kind: str, items: list[dict[str, Any]], fmt: str, csv_columns: Sequence[str],
               columns: list[str], row: Any, title: str, output: str | None, catalogue: Any) -> None:
    with destination(output) as stream:
        LIST_RENDERERS[fmt](stream, _Listing(kind, items, csv_columns, columns, row, title, catalogue))


def _emit_detail(kind: str, doc: dict[str, Any], fmt: str, view: Any, output: str | None, catalogue: Any) -> None:
    with destination(output) as stream:
        if fmt == "json":
            from mesocli.render.documents import envelope

            write_json(envelope(kind, catalogue=catalogue, **doc), stream)
            return
        from mesocli.render.human import Printer

        view(Printer(stream), doc)


@ingredients.command("list")
def ingredients_list(
    cls: str | None = typer.Option(None, "--class", help="Only this class, e.g. vitamin.",
                                     autocompletion=complete_class),
    indication: str | None = typer.Option(None, "--indication", help="Only ingredients that fit it.",
                                            autocompletion=complete_indication),
    output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION, output: str | None = OUTPUT_OPTION,
) -> None:
    """List substances, optionally by class or by indication."""
    fmt = _list_format(output_format, as_json)
    from mesocli.domain.queries import list_substances
    from mesocli.render.documents import substance_summary

    cat = _catalogue()
    items = [substance_summary(s) for s in list_substances(cat, cls=cls, indication=indication)]
    _emit_list("ingredients", items, fmt, INGREDIENT_COLUMNS, ["Id", "Name", "Class", "Role", "Status"],
               lambda i: [i["id"], i["name"], i["class"], i["role"], i["status"]], "Ingredients", output, cat)


@ingredients.command("show")
def ingredients_show(name: str = typer.Argument(..., help="Id, name or alias (any case).",
                                                    autocompletion=complete_ingredient),
                     output_format: str = SHOW_FORMAT_OPTION, as_json: bool = JSON_OPTION,
                     output: str | None = OUTPUT_OPTION) -> None:
    """Show a substance or product: composition, allergen groups, rules, protocols, sources."""
    fmt = choose(output_format, as_json, SHOW_FORMATS)
    from mesocli.render import views
    from mesocli.render.documents import ingredient_detail

    cat = _catalogue()
    found = cat.resolve_ingredient(name)
    _emit_detail("ingredient", ingredient_detail(cat, found.kind, found.id), fmt, views.ingredient, output, cat)


@ingredients.command("search")
def ingredients_search(text: str = typer.Argument(..., help="Words to look for."),
                       limit: int = typer.Option(25, "--limit", min=1, max=1000),
                       output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION,
                       output: str | None = OUTPUT_OPTION) -> None:
    """Search names, aliases and classes of substances and products, best match first."""
    fmt = _list_format(output_format, as_json)
    from mesocli.api import search

    hits = search(text, limit=limit)
    items = [{"type": h.kind, "id": h.id, "name": h.name, "class": h.cls, "matched": h.matched,
              "rank": h.rank} for h in hits]
    _emit_list("search", items, fmt, SEARCH_COLUMNS, ["Id", "Name", "Type", "Matched"],
               lambda i: [i["id"], i["name"], i["class"] if i["type"] == "substance" else "product",
                          i["matched"]], f"Matches for {text!r}", output, _catalogue() if fmt == "json" else None)


@products.command("list")
def products_list(
    substance: str | None = typer.Option(None, "--substance", help="Only products containing it.",
                                           autocompletion=complete_substance),
    output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION, output: str | None = OUTPUT_OPTION,
) -> None:
    """List products (presentations)."""
    fmt = _list_format(output_format, as_json)
    from mesocli.domain.queries import list_products
    from mesocli.render.documents import product_summary

    cat = _catalogue()
    items = [product_summary(p) for p in list_products(cat, substance=substance)]
    _emit_list("products", items, fmt, PRODUCT_COLUMNS, ["Id", "Name", "Status", "Vehicle", "Dose"],
               lambda i: [i["id"] + (" (local)" if i["local"] else ""), i["name"], i["status"],
                          i["vehicle"], i["dose"]], "Products", output, cat)


@products.command("show")
def products_show(name: str = typer.Argument(..., help="Product id, name or alias.", autocompletion=complete_product),
                  output_format: str = SHOW_FORMAT_OPTION, as_json: bool = JSON_OPTION,
                  output: str | None = OUTPUT_OPTION) -> None:
    """Show a product's composition and label facts."""
    fmt = choose(output_format, as_json, SHOW_FORMATS)
    from mesocli.render import views
    from mesocli.render.documents import ingredient_detail

    cat = _catalogue()
    found = cat.resolve("product", ("product",), name)
    _emit_detail("ingredient", ingredient_detail(cat, "product", found.id), fmt, views.ingredient, output, cat)


@indications.command("list")
def indications_list(output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION,
                       output: str | None = OUTPUT_OPTION) -> None:
    """List indications and their areas."""
    fmt = _list_format(output_format, as_json)
    cat = _catalogue()
    items = [{"id": i.id, "name": i.name, "areas": list(i.areas), "ingredients": len(i.fits)}
             for i in sorted(cat.indications.values(), key=lambda i: i.id)]
    _emit_list("indications", items, fmt, INDICATION_COLUMNS, ["Id", "Name", "Areas", "Ingredients"],
               lambda i: [i["id"], i["name"], ", ".join(i["areas"]), i["ingredients"]], "Indications", output, cat)


@indications.command("show")
def indications_show(name: str = typer.Argument(..., help="Indication id, name or alias.",
                                                    autocompletion=complete_indication),
                     output_format: str = SHOW_FORMAT_OPTION, as_json: bool = JSON_OPTION,
                     output: str | None = OUTPUT_OPTION) -> None:
    """Show an indication: areas, ingredients by fit and evidence, protocols."""
    fmt = choose(output_format, as_json, SHOW_FORMATS)
    from mesocli.render import views
    from mesocli.render.documents import indication_detail

    cat = _catalogue()
    found = cat.resolve_indication(name)
    _emit_detail("indication", indication_detail(cat, cat.indications[found.id]), fmt, views.indication, output, cat)


@allergens.command("list")
def allergens_list(output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION,
                       output: str | None = OUTPUT_OPTION) -> None:
    """List allergen groups."""
    fmt = _list_format(output_format, as_json)
    cat = _catalogue()
    items = [{"id": g.id, "name": g.name, "aliases": list(g.aliases), "members": sorted(g.members),
              "origins": sorted(g.origins)} for g in sorted(cat.groups.values(), key=lambda g: g.id)]
    _emit_list("allergens", items, fmt, ALLERGEN_COLUMNS, ["Id", "Name", "Members / origins"],
               lambda i: [i["id"], i["name"], ", ".join(i["members"] + i["origins"])], "Allergen groups", output, cat)


@allergens.command("show")
def allergens_show(name: str = typer.Argument(..., help="Group id, name or alias.", autocompletion=complete_allergen),
                   output_format: str = SHOW_FORMAT_OPTION, as_json: bool = JSON_OPTION,
                  output: str | None = OUTPUT_OPTION) -> None:
    """Show an allergen group: members, source organisms, cross-reactivity, products."""
    fmt = choose(output_format, as_json, SHOW_FORMATS)
    from mesocli.render import views
    from mesocli.render.documents import group_detail

    cat = _catalogue()
    found = cat.resolve("allergen group", ("group",), name)
    _emit_detail("allergen", group_detail(cat, cat.groups[found.id]), fmt, views.group, output, cat)


@conditions.command("list")
def conditions_list(output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION,
                       output: str | None = OUTPUT_OPTION) -> None:
    """List patient conditions (use their ids or aliases with --condition)."""
    fmt = _list_format(output_format, as_json)
    cat = _catalogue()
    items = [{"id": c.id, "name": c.name, "aliases": list(c.aliases), **_cited(c.provenance)}
             for c in sorted(cat.conditions.values(), key=lambda c: c.id)]
    _emit_list("conditions", items, fmt, CONDITION_COLUMNS, ["Id", "Name", "Aliases", "Evidence"],
               lambda i: [i["id"], i["name"], ", ".join(i["aliases"]), i["evidence"]], "Conditions", output, cat)


@medications.command("list")
def medications_list(output_format: str = FORMAT_OPTION, as_json: bool = LIST_JSON_OPTION,
                       output: str | None = OUTPUT_OPTION) -> None:
    """List medications and classes (use either with --medication)."""
    fmt = _list_format(output_format, as_json)
    cat = _catalogue()
    items = [{"id": m.id, "name": m.name, "type": "medication", "classes": list(m.classes),
              "aliases": list(m.aliases), **_cited(m.provenance)}
             for m in sorted(cat.medications.values(), key=lambda m: m.id)]
    items += [{"id": c.id, "name": c.name, "type": "class", "classes": [], "aliases": list(c.aliases),
               **_cited(c.provenance)} for c in sorted(cat.medication_classes.values(), key=lambda c: c.id)]
    _emit_list("medications", items, fmt, MEDICATION_COLUMNS, ["Id", "Name", "Type", "Classes", "Evidence"],
               lambda i: [i["id"], i["name"], i["type"], ", ".join(i["classes"]), i["evidence"]], "Medications",
               output, cat)


def _cited(provenance: Any) -> dict[str, Any]:
    """A vocabulary row's evidence, its sources as findings cite them, and each source's own
    grade in the same order (a row given no provenance is unsourced)."""
    if provenance is None:
        from mesocli.domain.model import Provenance

        provenance = Provenance("unsourced")
    return {"evidence": provenance.evidence, "sources": list(provenance.citations),
            "source_grades": provenance.grades()}
