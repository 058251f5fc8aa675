"""JSON text from a :class:`json.JSONEncoder`'s configuration, by its C encoder built once.

``JSONEncoder.encode`` builds a new C encoder on every call that is not a plain string, which
costs as much as encoding a short document. Hot paths (batch answers, finding texts, the keys
of remembered answers) encode thousands of small documents, so they build theirs once here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
