"""How terms are shown: labels in the reader's language, safe links, short names."""

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from flask import g, has_request_context, request
from markupsafe import Markup, escape

from clusterpolisee.store.termtext import term_nt
from clusterpolisee.xlsx import INTEGER_TYPES

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
    lang: str = ""  # the text's language tag where it is not the page's (English)


#: The site's own language, looked up after the reader's (then untagged, ``mul``, any).
SITE_LANGUAGE = "en"
#: Ranges of one Accept-Language header that count: a page costs each of them per label.
MAX_RANGES = 16
_RANGE = re.compile(r"^(\*|[a-z]{1,8}(-[a-z0-9]{1,8})*)$")


def language_ranges(header: str | None) -> tuple[str, ...]:
    """The language ranges of an Accept-Language header, lower-case, most preferred first (by
    q, then as written). ``q=0`` ("not acceptable") and malformed entries are left out, and
    so is everything after ``*``: any language will do there, so the site's default is next.
    Pages depend on this alone (the page cache keys on it, not on the header's spelling)."""
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        name, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and _RANGE.match(name.lower()):  # "nan" > 0 is False too
            weighted.append((-q, i, name.lower()))
    ranges = [name for _, _, name in sorted(weighted)]
    if "*" in ranges:
        ranges = ranges[: ranges.index("*")]
    return tuple(dict.fromkeys(ranges))[:MAX_RANGES]


def lookup(tags: Iterable[str], ranges: Sequence[str]) -> str | None:
    """The tag (as given) of the label to show: RFC 4647 Lookup (section 3.4) over ``ranges``
    and then ``SITE_LANGUAGE``, case-insensitively; failing those, the untagged label, then
    ``mul``, then the first tag in code-point order; None when there are no tags.

    Each range is tried whole, then cut a subtag at a time (``sr-latn-rs``, ``sr-latn``,
    ``sr``); at each length a tag more specific than it (``sr`` finds ``sr-latn``) is taken
    before cutting further, as a label in the reader's language beats one in none of them."""
    given: dict[str, str] = {}
    for tag in tags:
        given.setdefault(tag.lower(), tag)
    if not given:
        return None
    for wanted in (*ranges, SITE_LANGUAGE):
        while wanted:
            if wanted in given:
                return given[wanted]
            longer = sorted(t for t in given if t.startswith(wanted + "-"))
            if longer:
                return given[longer[0]]
            wanted = wanted.rpartition("-")[0]
            if len(wanted.rpartition("-")[2]) == 1:  # a singleton ("x") goes with what follows
                wanted = wanted.rpartition("-")[0]
    for last in ("", "mul"):
        if last in given:
            return given[last]
    return min(given.values())


def preference() -> tuple[str, ...]:
    """The reader's language ranges (``language_ranges`` of the request's Accept-Language);
    none outside a request, so the site's language is used."""
    if not has_request_context():
        return ()
    if "cpo_langs" not in g:
        g.cpo_langs = language_ranges(request.headers.get("Accept-Language"))
    return g.cpo_langs


def pick_label(by_lang: dict[str, str] | None) -> str | None:
    picked = pick_tagged(by_lang)
    return picked[1] if picked else None


def pick_tagged(by_lang: dict[str, str] | None) -> tuple[str, str] | None:
    """(language tag, label) in the reader's language (``lookup`` over ``preference()``); the
    one place a label is chosen for display, drop-down options included."""
    tag = lookup(by_lang or (), preference())
    return None if tag is None or by_lang is None else (tag, by_lang[tag])


def foreign(tag: str | None) -> str:
    """``tag`` where it names a language other than the page's (``<html lang="en">``), for a
    ``lang`` attribute (a screen reader then reads "Regione Marche" as Italian), else ""."""
    return tag if tag and tag.split("-")[0].lower() != "en" else ""


def language_mark(tag: str | None) -> str:
    """The small visible mark of a text's language tag: shown only where the text is in
    another language than the page's and the reader's first one ("en" after every English
    label of an English page said nothing). The ``lang`` attribute (``foreign``) stays for
    screen readers whatever the mark."""
    if not foreign(tag):
        return ""
    first = preference()[:1]
    if first and first[0].split("-")[0] == tag.split("-")[0].lower():  # type: ignore[union-attr]
        return ""
    return tag or ""


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
        lang, label = pick_tagged((labels or {}).get(term.value)) or ("", "")
        href = url_builder.href(term.value)
        return Shown(
            label or curie(term.value),
            href,
            href is not None and url_builder.is_external(term.value),
            "",
            term.value,
            foreign(lang) if label else "",
        )
    if isinstance(term, ox.BlankNode):
        return Shown(f"_:{term.value}")
    if isinstance(term, ox.Literal):
        note = language_mark(term.language)
        if not note and term.datatype.value not in (*PLAIN_TYPES, RDF_LANG_STRING):
            note = curie(term.datatype.value)
        return Shown(term.value, note=note, lang=foreign(term.language))
    return Shown(term_nt(term))  # a triple term (RDF 1.2), as N-Triples writes it


def term_html(term: object, labels: dict[str, dict[str, str]] | None = None) -> Markup:
    """The HTML for one term (a link or text, with its note); every part is escaped.

    Done in Python rather than a Jinja macro because result tables call it for every cell."""
    s = show(term, labels)
    if s.href:
        attrs = ' rel="noopener nofollow" class="ext"' if s.external else ""
        if s.iri and s.iri != s.text:
            attrs += f' title="{escape(s.iri)}"'
        html = f'<a href="{escape(s.href)}"{attrs}{_lang_attr(s)}>{escape(s.text)}</a>'
    else:
        html = f'<span class="lit"{_lang_attr(s)}>{escape(s.text)}</span>'
    if s.note:
        html += f' <small class="note">{escape(s.note)}</small>'
    return Markup(html)


def _lang_attr(s: Shown) -> str:
    return f' lang="{escape(s.lang)}"' if s.lang else ""


#: Where a variable name's words meet: camelCase humps, digits after letters, ``_`` and ``-``.
_WORD_BREAK = re.compile(r"[_\-]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def heading(var: str, vars_: list[str] | tuple[str, ...] = ()) -> str:
    """A column heading read from a variable name (the downloads keep the name itself):
    ``goodPractices`` "Good practices", ``regionLabel`` "Region", or "Region name" where
    the result also has ``region`` (its column shows the same region as a link)."""
    words = [w for w in _WORD_BREAK.split(var) if w]
    if len(words) > 1 and words[-1] == "Label":
        words[-1:] = ["name"] if var[: -len("Label")] in vars_ else []
    words = [w if w.isupper() and len(w) > 1 else w.lower() for w in words] or [var]
    return words[0][:1].upper() + words[0][1:] + "".join(" " + w for w in words[1:])


XSD_DATE_TIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def time_html(term: object) -> Markup:
    """An xsd:dateTime as ``<time datetime="2026-12-06T17:28:03Z">2026-12-06 17:28 UTC</time>``
    (stored with milliseconds, it was shown as it is); a value without a time zone is shown
    without "UTC", and anything else as escaped text."""
    text = term.value if isinstance(term, ox.Literal) else ""
    try:
        if term.datatype.value != XSD_DATE_TIME:  # type: ignore[union-attr]
            raise ValueError(text)
        when = dt.datetime.fromisoformat(text)
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC)
    except (AttributeError, ValueError, OverflowError):
        return Markup(f'<span class="lit">{escape(text)}</span>')
    if when.tzinfo is None:
        return Markup(f'<time datetime="{when:%Y-%m-%dT%H:%M:%S}">{when:%Y-%m-%d %H:%M}</time>')
    return Markup(f'<time datetime="{when:%Y-%m-%dT%H:%M:%SZ}">{when:%Y-%m-%d %H:%M} UTC</time>')


def value_html(term: object, labels: dict[str, dict[str, str]] | None = None) -> Markup:
    """A property's value on a page: an xsd:dateTime as ``time_html`` shows it (submission and
    link records showed ``2026-12-06T21:05:00.123Z``), any other term as ``term_html``, as
    is a dateTime whose text is no time (it keeps its datatype note)."""
    if isinstance(term, OnScale):
        return scale_html(term.term, term.scale)
    if isinstance(term, ox.Literal) and term.datatype.value == XSD_DATE_TIME:
        shown = time_html(term)
        if shown.startswith("<time"):
            return shown
    return term_html(term, labels)


#: Bidirectional controls (embeddings, overrides, isolates, marks): in a label they can make
#: text display in another order than it is stored ("gnp.exe" shown as "exe.png").
_BIDI_VISIBLE = {
    cp: f"[U+{cp:04X}]" for cp in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
# Control characters other than tab and line breaks, and the non-characters: a label may
# hold them (a submission's Turtle can), and raw in a page a BEL or NEL is invisible or
# garbles the text around it; shown as the same marker.
_BIDI_VISIBLE |= {
    cp: f"[U+{cp:04X}]"
    for cp in (*range(0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF)
    if cp not in (0x09, 0x0A, 0x0D)
}


def visible_controls(value: object) -> object:
    """Jinja ``finalize``: every printed value shows bidirectional and other control
    characters as [U+202E], [U+0007] instead of obeying them (Markup stays Markup: the
    marker has no HTML special chars)."""
    if isinstance(value, str):
        return value.translate(_BIDI_VISIBLE)
    return value


def shown_columns(
    vars_: Sequence[str],
    rows: Sequence[Sequence[object | None]],
    labels: dict[str, dict[str, str]] | None = None,
) -> list[int]:
    """The indexes of the columns an HTML table shows: all but each ``?xLabel`` whose ``?x``
    column, beside it in the result, already shows that label as its link's text in every
    row given (the page's rows: ``Practice`` and ``Practice name`` held the same words). A
    row whose label differs, or has a label and no link, keeps the column: nothing shown is
    lost. Downloads keep every column."""
    hidden = set()
    for i, var in enumerate(vars_):
        linked = var[: -len("Label")] if var.endswith("Label") else ""
        if linked and linked in vars_:
            j = list(vars_).index(linked)
            if all(_same_text(row[j], row[i], labels) for row in rows):
                hidden.add(i)
    return [i for i in range(len(vars_)) if i not in hidden]


def _same_text(link: object, label: object, labels: dict[str, dict[str, str]] | None) -> bool:
    if label is None:
        return True
    if not isinstance(link, ox.NamedNode) or not isinstance(label, ox.Literal):
        return False
    return show(link, labels).text == label.value


SH = "http://www.w3.org/ns/shacl#"
#: A property whose shapes bound its integers on both sides, at most this far apart, is a
#: scale: its values are shown as "4 / 5" (years, 1900 to 2100, are not).
MAX_SCALE = 10


@dataclass(frozen=True)
class Scale:
    """A property of bounded small integers, read from the shapes (shapes/*.ttl)."""

    iri: str
    name: str  # the shape's sh:name ("severity")
    low: int
    high: int
    meaning: str  # the shape's sh:description, else the ontology's skos:definition/rdfs:comment

    def point(self, term: object) -> str | None:
        """``term`` as a point of the scale ("4 / 5"), or None when it is no integer of it."""
        if not isinstance(term, ox.Literal) or term.datatype.value not in INTEGER_TYPES:
            return None
        try:
            value = int(term.value)
        except ValueError:
            return None
        return f"{value} / {self.high}" if self.low <= value <= self.high else None


def _integer(terms: list) -> int | None:
    values = {o.value for o in terms if isinstance(o, ox.Literal)}
    if len(values) != 1:
        return None
    try:
        return int(values.pop())
    except ValueError:  # a decimal bound: no scale of whole numbers
        return None


def read_scales(shapes: Iterable[ox.Triple], ontology: Iterable[ox.Triple]) -> dict[str, Scale]:
    """Each property with sh:minInclusive and sh:maxInclusive in its property shapes, at most
    MAX_SCALE apart. A property whose shapes give other bounds is left out (no one scale)."""
    from .docs_model import RDFS, SKOS, Graph

    g, onto = Graph(list(shapes)), Graph(list(ontology))
    found: dict[str, set[tuple[int, int]]] = {}
    names: dict[str, str] = {}
    meanings: dict[str, str] = {}
    for t in g.triples:
        if t.predicate.value != SH + "path" or not isinstance(t.object, ox.NamedNode):
            continue
        prop = t.object.value
        low = _integer(g.objects(t.subject, SH + "minInclusive"))
        high = _integer(g.objects(t.subject, SH + "maxInclusive"))
        found.setdefault(prop, set()).add((low, high))  # type: ignore[arg-type]
        names.setdefault(prop, g.text(t.subject, SH + "name"))
        meanings.setdefault(prop, g.text(t.subject, SH + "description"))
    scales = {}
    for prop, bounds in found.items():
        bounds.discard((None, None))  # type: ignore[arg-type]
        if len(bounds) != 1:
            continue
        low, high = bounds.pop()
        if low is None or high is None or not 0 < high - low <= MAX_SCALE:
            continue
        node = ox.NamedNode(prop)
        meaning = (
            meanings[prop]
            or onto.text(node, SKOS + "definition")
            or onto.text(node, RDFS + "comment")
        )
        name = names[prop] or onto.text(node, RDFS + "label") or prop.rsplit("#", 1)[-1]
        scales[prop] = Scale(prop, name, low, high, meaning)
    return scales


@functools.lru_cache(maxsize=1)
def scales() -> dict[str, Scale]:
    """The scales of the shapes in shapes/ (read once: the files are the site's own)."""
    from .docs_model import ontology_triples, shapes_triples

    return read_scales(shapes_triples(), ontology_triples())


@dataclass(frozen=True)
class OnScale:
    """A property's value to be shown as a point of its scale (``value_html``)."""

    term: object
    scale: Scale


def on_scale(predicate: object, term: object) -> object:
    """``term`` as an OnScale where ``predicate`` is a scale's property, else ``term``."""
    scale = scales().get(getattr(predicate, "value", ""))
    return OnScale(term, scale) if scale and scale.point(term) else term


def scale_html(term: object, scale: Scale) -> Markup:
    """``<span class="lit scale" title="How strongly … from 1 (minor) to 5 (critical).">4 / 5
    </span>``; the meaning is also in the page's text for screen readers (a title is not
    read by all): a visually hidden "on a scale of 1 to 5" follows."""
    point = scale.point(term) or getattr(term, "value", "")
    hint = f"{scale.name}, {scale.low} to {scale.high}: {scale.meaning}".strip(": ")
    return Markup(
        f'<span class="lit scale" title="{escape(hint)}">{escape(point)}</span>'
        f'<span class="visually-hidden"> ({escape(hint)})</span>'
    )


def scale_legend(query_text: str) -> list[Scale]:
    """The scales whose properties a query's text uses, as ``prefix:name`` of a PREFIX it
    declares or as a whole ``<IRI>``, in the order of their names: the legend under its
    results (which column comes from which property is not known, so the cells stay bare)."""
    prefixes = {
        ns: name for name, ns in re.findall(r"(?i)PREFIX\s+([\w.-]*):\s*<([^>]*)>", query_text)
    }
    used = []
    for iri, scale in scales().items():
        written = [f"<{iri}>"] + [
            f"{name}:{iri[len(ns) :]}" for ns, name in prefixes.items() if iri.startswith(ns)
        ]
        if any(re.search(rf"(?<![\w:.-]){re.escape(w)}(?![\w.-])", query_text) for w in written):
            used.append(scale)
    return sorted(used, key=lambda s: s.name)


#: The links' texts of the download formats whose suffix says little to a reader.
DOWNLOAD_LABELS = {"xlsx": "Excel (.xlsx)"}


def download_label(suffix: str) -> str:
    """A download link's text: "Excel (.xlsx)" for the workbook, else the suffix."""
    return DOWNLOAD_LABELS.get(suffix, suffix)
