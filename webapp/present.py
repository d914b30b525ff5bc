"""How terms are shown: labels in the reader's language, safe links, short names."""

from dataclasses import dataclass

import pyoxigraph as ox
from flask import g, has_request_context, request
from markupsafe import Markup, escape

from . import url_builder
from .renderer import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: Datatypes whose values speak for themselves: no note beside them.
PLAIN_TYPES = {
    "http://www.w3.org/2001/XMLSchema#" + t
    for t in ("string", "integer", "decimal", "double", "boolean")
}
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True)
class Shown:
    """A term ready for a template: text to print (escaped by Jinja), an optional link."""

    text: str
    href: str | None = None
    external: bool = False
    note: str = ""  # language tag or datatype, shown small
    iri: str = ""


def languages() -> list[str]:
    """The reader's languages in order of preference, English last as the fallback."""
    if not has_request_context():
        return ["en", ""]
    if "cpo_langs" not in g:
        langs = [v.split("-")[0].lower() for v in request.accept_languages.values()]
        g.cpo_langs = [*dict.fromkeys([*langs, "en", ""])]
    return g.cpo_langs


def pick_label(by_lang: dict[str, str] | None) -> str | None:
    if not by_lang:
        return None
    for lang in languages():
        if lang in by_lang:
            return by_lang[lang]
    return next(iter(sorted(by_lang.items())))[1]


def curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def show(term: object, labels: dict[str, dict[str, str]] | None = None) -> Shown:
    """A term for display; NamedNodes get their label and, when http(s), a link."""
    if term is None:
        return Shown("")
    if isinstance(term, ox.NamedNode):
        label = pick_label((labels or {}).get(term.value))
        href = url_builder.href(term.value)
        return Shown(
            label or curie(term.value),
            href,
            href is not None and url_builder.is_external(term.value),
            "",
            term.value,
        )
    if isinstance(term, ox.BlankNode):
        return Shown(f"_:{term.value}")
    if isinstance(term, ox.Literal):
        note = term.language or ""
        if not note and term.datatype.value not in (*PLAIN_TYPES, RDF_LANG_STRING):
            note = curie(term.datatype.value)
        return Shown(term.value, note=note)
    return Shown(str(term))


def term_html(term: object, labels: dict[str, dict[str, str]] | None = None) -> Markup:
    """The HTML for one term (a link or text, with its note); every part is escaped.

    Done in Python rather than a Jinja macro because result tables call it for every cell."""
    s = show(term, labels)
    if s.href:
        attrs = ' rel="noopener nofollow" class="ext"' if s.external else ""
        if s.iri and s.iri != s.text:
            attrs += f' title="{escape(s.iri)}"'
        html = f'<a href="{escape(s.href)}"{attrs}>{escape(s.text)}</a>'
    else:
        html = f'<span class="lit">{escape(s.text)}</span>'
    if s.note:
        html += f' <small class="note">{escape(s.note)}</small>'
    return Markup(html)


#: Bidirectional controls (embeddings, overrides, isolates, marks): in a label they can make
#: text display in another order than it is stored ("gnp.exe" shown as "exe.png").
_BIDI_VISIBLE = {
    cp: f"[U+{cp:04X}]" for cp in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def visible_controls(value: object) -> object:
    """Jinja ``finalize``: every printed value shows bidirectional controls as [U+202E]
    instead of obeying them (Markup stays Markup: the marker has no HTML special chars)."""
    if isinstance(value, str):
        return value.translate(_BIDI_VISIBLE)
    return value
