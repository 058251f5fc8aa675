"""The recipe's schedule and technique against the catalogue protocol for its indication and area."""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.dosing import exceeds, shorter
from mesocli.domain.rules.base import PROCEDURE, Check, Context, Finding, sourced
from mesocli.units import format_quantity


def evaluate(ctx: Context) -> Iterator[Finding]:
    options = ctx.options
    if options.indication is None or (options.sessions is None and options.interval is None
                                      and options.volume_per_point is None and options.points is None):
        return  # nothing of the recipe's schedule or technique to compare
    protocol = ctx.cat.protocol_for(options.indication, options.area)
    if protocol is None:
        return
    cites = sourced(protocol.provenance)
    where = f"the {options.indication} protocol for the {protocol.area}"
    if options.sessions is not None and protocol.sessions_max is not None and options.sessions > protocol.sessions_max:
        yield Finding("caution", "protocol", PROCEDURE, "sessions",
                      f"{options.sessions} sessions exceed {protocol.sessions_max} in {where}.", **cites)
    if options.interval is not None and protocol.interval_min is not None:
        minimum = protocol.interval_min
        if shorter(options.interval, minimum):
            yield Finding("caution", "protocol", PROCEDURE, "interval",
                          f"An interval of {format_quantity(options.interval)} is shorter than "
                          f"{format_quantity(minimum)} in {where}.", **cites)
    if options.volume_per_point is not None and protocol.max_volume_per_point is not None:
        cap = protocol.max_volume_per_point
        volume_per_point = options.volume_per_point
        if exceeds(volume_per_point, cap):
            yield Finding("caution", "protocol", PROCEDURE, "volume-per-point",
                          f"{format_quantity(options.volume_per_point)} per point exceeds "
                          f"{format_quantity(cap)} in {where}.", **cites)
    if options.points is not None and protocol.max_points is not None and options.points > protocol.max_points:
        yield Finding("caution", "protocol", PROCEDURE, "points",
                      f"{options.points} points exceed {protocol.max_points} in {where}.", **cites)


CHECK = Check("protocol", "quantities", evaluate)
