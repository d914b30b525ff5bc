"""/queries: the catalog of stored questions; /queries/<name>: form, results, downloads."""

from functools import lru_cache
from urllib.parse import urljoin

import pyoxigraph as ox
from flask import Blueprint, abort, current_app, redirect, render_template, request

from clusterpolisee import xlsx
from clusterpolisee.catalog import (
    IRI_RE,
    Catalog,
    Option,
    Param,
    ParameterError,
    ServiceNotAllowed,
    StoredQuery,
    distinguish,
    fold_text,
    load_catalog,
    option_keys,
    shared_labels,
)
from clusterpolisee.reasoning.keycheck import STALE, stale_search_keys
from clusterpolisee.store.base import Term

from .. import maps, renderer, url_builder
from ..access import RESULT_KIND, EngineStore, db, download
from ..charts import bar_chart
from ..database import Database, EngineError, QueryTimedOut, Result
from ..errors import error_response, remote_failed, remote_fault
from ..pagecache import cached_page
from ..present import pick_label, pick_tagged

bp = Blueprint("queries", __name__)
RESERVED = {"page"}


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog()


@bp.route("/queries")
def index():
    cat = catalog()
    tag = request.args.get("tag", "")
    shown = [(q, _unavailable(q)) for q in cat.queries.values() if not tag or tag in q.tags]
    return render_template("queries.html", queries=shown, tags=cat.tags, tag=tag)


def _unavailable(q: StoredQuery) -> str | None:
    """Why this server cannot answer ``q``, for its visitors, or None: a SERVICE endpoint it
    calls is not on the operator's allow-list (the endpoint refuses it otherwise)."""
    refused = [s for s in q.services if s not in db().service_allowlist]
    if not refused:
        return None
    names = ", ".join(f"<{s}>" for s in refused)
    return (
        f"This question asks another SPARQL endpoint, {names}, for part of its answer, and "
        "this server is not allowed to call it (its operator can allow it with "
        f"'clusterpolisee serve --allow-service {refused[0]}')."
    )


@bp.route("/queries/<name>")
@bp.route("/queries/<name>.<suffix>")
@cached_page
def query(name: str, suffix: str | None = None):
    q = catalog().queries.get(name)
    if q is None:
        abort(404, f"no stored query named {name!r}")
    kind = RESULT_KIND[q.kind]
    fmt = _format(kind, suffix)
    if fmt is None:
        return error_response(
            406, "Not Acceptable", "offered: html, " + ", ".join(renderer.suffixes(kind))
        )
    try:
        q.check_services(db().service_allowlist)
    except ServiceNotAllowed as exc:
        if not fmt.is_html:
            return error_response(403, "Federated query not allowed", str(exc))
        # The question's page, saying why it cannot run here (a bare 403 said nothing to a
        # visitor who followed the catalog's link).
        return render_template(
            "query.html", q=q, unavailable=_unavailable(q), query_text=q.text
        ), 403
    raw = {k: v for k, v in request.args.items() if k not in RESERVED}
    store = EngineStore()
    try:
        # A parameter given twice is refused, not read as its first value (a link built by
        # appending to another one would silently answer for the first).
        for k in raw:
            if (times := len(request.args.getlist(k))) > 1:
                raise ParameterError(f"parameter {k!r} is given {times} times; give it once", k)
        values = q.bind(raw, store)
    except ParameterError as exc:
        if not fmt.is_html:
            return error_response(400, "Bad parameter", str(exc))
        # The page's words: the parameter's label, the choices by their labels and codes.
        return _page(q, raw, store, None, exc.shown, None, exc.param), 400
    try:
        result = run_stored(q, values)
    except EngineError as exc:
        if q.services and remote_fault(exc):
            return remote_failed(q.services, exc)
        if isinstance(exc, QueryTimedOut) and not raw and (later := _answer_later(q, values)):
            return later  # only a default page: a visitor cannot queue background work at will
        raise
    if not fmt.is_html:
        about = _about(q, values, raw) if fmt.attachment else None
        return download(fmt, result, about=about, name=q.name)
    last = _page_count(result)
    if _page_number() > last:
        # Past the end: go to the last page, as page=0 or page=abc show the first one.
        return redirect(
            url_builder.header_iri(
                url_builder.query_url(q.name, {**raw, "page": str(last)} if last > 1 else raw)
            )
        )
    return _page(q, raw, store, result, None, q.bound_text(values), values=values)


def run_stored(
    q: StoredQuery, values: dict[str, Term | None], engine: Database | None = None
) -> Result:
    """Run a stored question with bound values as its page does (webapp.warmup asks the
    same, so the result cache keys match). Raises EngineError subclasses. Pages and
    downloads share the answer; a page looks up the labels of what it shows (_labels)."""
    return (engine or db()).query(
        q.bound_text(values), trusted=True, store_sorts=q.store_sorts, split=True
    )


def _answer_later(q: StoredQuery, values: dict[str, Term | None]):
    """A 503 saying the default page's answer is being worked out, once the warm-up has
    queued a run of it with its longer time limit (webapp/warmup.py); None when it could not
    queue one."""
    warmer = current_app.extensions.get("cpo.warmer")
    if warmer is None or (ahead := warmer.defer(q, values, db().version())) is None:
        return None
    seconds = warmer.retry_after(ahead)
    resp = error_response(
        503,
        "Answer being prepared",
        f"This question took longer than this page may wait ({db().timeout:g} s) at the size "
        "of the data. The server now works it out in the background, with more time, and "
        f"keeps the answer: ask again in about {seconds} seconds (reload this page).",
    )
    resp.headers["Retry-After"] = str(seconds)
    return resp


def _about(q: StoredQuery, values: dict[str, Term | None], raw: dict[str, str]) -> xlsx.About:
    """What a workbook's "About" sheet says of the question it answers: its parameters
    (defaults too) by their labels, a resource's with its label in the reader's language
    ("Receiving region: Region Vojvodine (https://...)"), its page with the parameters given,
    and its columns headed as the page heads them."""
    from ..present import heading  # imported here: this function alone is edited for this

    iris = {t.value for t in values.values() if isinstance(t, ox.NamedNode)}
    found = db().labels(iris) if iris else {}
    value_labels = {iri: label for iri in iris if (label := pick_label(found.get(iri)))}
    return xlsx.About(
        what=f"Stored question {q.name}: {q.summary}",
        parameters=xlsx.parameter_lines(
            raw, values, {p.name: p.label for p in q.params}, value_labels
        ),
        page=urljoin(request.host_url, url_builder.query_url(q.name, raw)),
        data_version=db().version(),
        heading=heading,
    )


def _format(kind: str, suffix: str | None) -> renderer.Format | None:
    if suffix is None:
        return renderer.negotiate(request.accept_mimetypes, kind, "html")
    fmt = renderer.by_suffix(suffix, kind)
    if fmt is None:
        abort(404, f"no .{suffix} format for this query; use " + ", ".join(renderer.suffixes(kind)))
    return fmt


def _page(
    q,
    raw: dict[str, str],
    store: EngineStore,
    result,
    error: str | None,
    text: str | None,
    error_param: str = "",
    values: dict[str, Term | None] | None = None,
):
    """The question's page; ``text`` is the query it ran (None when a parameter was bad),
    ``error_param`` the parameter whose field the error concerns, ``values`` the terms it
    bound (a code such as ``RO21`` resolved to its region)."""
    size = current_app.config["PAGE_SIZE"]
    page = _page_number()
    items = _items(result)
    rows = items[(page - 1) * size : page * size]
    choices = [(p, p.options(store)) for p in q.params]
    # The options' labels come in the same job as the rows' (one job a page, as before).
    labelled = {
        o.value for p, opts in choices if _relabels(p) for o in opts or () if IRI_RE.match(o.value)
    }
    labels = _labels(result, rows, labelled)
    params = [
        _field(p, _options(p, opts, labels), raw, values, store, error_param) for p, opts in choices
    ]
    asked = [(p.label, said) for p, _o, _v, said in params if said is not None]
    return render_template(
        "query.html",
        q=q,
        params=params,
        result=result,
        rows=rows,
        labels=labels,
        page=page,
        pages=_page_count(result),
        error=error,
        error_param=error_param,
        chart=bar_chart(result.vars, result.rows, q.chart) if result and q.chart else None,
        region_map=_map(result, labels),
        downloads=[
            (s, url_builder.query_url(q.name, raw, s))
            for s in renderer.suffixes(RESULT_KIND[q.kind])
        ],
        page_url=lambda n: url_builder.query_url(q.name, {**raw, "page": str(n)}),
        stable_url=url_builder.query_url(q.name, raw),
        # The text with the page's values bound, so the editor gives the page's rows; none
        # after a bad parameter, where the page ran nothing to open.
        query_text=text or q.text,
        asked=asked,
        retry=_retry(q, raw, params) if result is not None and not _items(result) else [],
        editor_url=url_builder.sparql_url(text, "html") if text else None,
        stale_keys=_stale_keys(q),
    )


def _field(
    p: Param,
    options: list[Option] | None,
    raw: dict[str, str],
    values: dict[str, Term | None] | None,
    store: EngineStore,
    error_param: str,
) -> tuple[Param, list[Option] | None, str, str | None]:
    """A parameter's field: its drop-down's choices (labels that two choices share followed
    by their codes, "Nord-Est (RO21)"), the value selected, and what the answer line says
    was asked (None: nothing bound). A value the drop-down does not list stays selected as
    "‹value› (not allowed)" (the browser would select the first choice, and the next Run
    would ask something else); a code (``RO21``) selects its choice."""
    given = raw.get(p.name, "").strip()
    value = given or p.default or ""
    if options is None:  # free input: as typed (the bound term may be folded, "κεντρικησ")
        return p, None, value, (value or None) if values is not None else None
    bound = (values or {}).get(p.name)
    if bound is not None:  # a code (RO21) selects the choice it resolved to
        value = bound.value
    if shared := shared_labels(options):
        options = distinguish(options, option_keys(store, shared))
    by_value = {o.value: o for o in options}
    if value and value not in by_value:
        resolved = None
        if p.type == "iri" and p.name != error_param and not IRI_RE.match(value):
            try:
                resolved = p.resolve(value, store).value
            except ParameterError:
                resolved = None
        if resolved in by_value:
            value = resolved
        else:
            options = [Option(value, f"{value} (not allowed)"), *options]
            by_value[value] = options[0]
    said = by_value[value].label if values is not None and value else None
    return p, options, value, said


def _retry(q: StoredQuery, raw: dict[str, str], params: list) -> list[tuple[str, str]]:
    """After an empty answer: for each parameter set to other than its default, a link to
    the same question with it reset (to "(any)" where it is optional and has no default)."""
    links = []
    for p, options, value, _said in params:
        if not raw.get(p.name, "").strip() or value == (p.default or ""):
            continue
        rest = {k: v for k, v in raw.items() if k != p.name}
        if p.default is None:
            to = "(any)"
        else:
            by_value = {o.value: o.label for o in options or ()}
            to = f"{by_value.get(p.default, p.default)} (its default)"
        links.append((f"{p.label}: {to}", url_builder.query_url(q.name, rest)))
    return links


def _relabels(p: Param) -> bool:
    """Whether ``p``'s drop-down lists resources, whose labels ``_options`` picks again."""
    return p.type == "iri" and p.allowed is None


def _options(
    p: Param, options: list[Option] | None, labels: dict[str, dict[str, str]]
) -> list[Option] | None:
    """A drop-down's choices with their labels in the reader's language, as the page's linked
    columns show them (``pick_tagged``): the options queries pick English or any label. An
    option keeps its label where that is none of the value's stored labels (an untagged
    ``CONCAT``, "10 — Manufacture of food products"), and a value listed once per language
    is listed once. Relabelled, they are sorted by their folded labels, as ``Param.options``
    sorts a class's members."""
    if not options or not _relabels(p):
        return options
    seen: dict[str, Option] = {}
    for o in options:
        by_lang = labels.get(o.value)
        if by_lang and (o.lang or o.label in by_lang.values()):
            lang, label = pick_tagged(by_lang) or (o.lang, o.label)
            o = Option(o.value, label, lang)
        seen.setdefault(o.value, o)
    shown = list(seen.values())
    if shown == options:
        return options
    return sorted(shown, key=lambda o: (fold_text(o.label), o.label))


def _stale_keys(q: StoredQuery) -> str | None:
    """What the page says while the search keys a folded parameter is compared with are not
    today's folding (reasoning/keycheck), or None. Its query is answered from the engine's
    cache after the first page of a data version, and the page itself is cached."""
    if not any(p.fold for p in q.params):
        return None
    try:
        check = stale_search_keys(EngineStore())
    except EngineError:  # advisory: the page shows its answer whatever the check could read
        return None
    return None if check.ok else STALE


def _items(result) -> list:
    """What a page lists: a result's rows, or its triples for a graph; nothing before a run."""
    if result is None:
        return []
    return result.triples if result.kind == "graph" else result.rows


def _page_count(result) -> int:
    """Pages of the result, at least one, so an empty answer still has its page 1."""
    return max(1, -(-len(_items(result)) // current_app.config["PAGE_SIZE"]))


def _labels(result, rows: list, options: set[str]) -> dict[str, dict[str, str]]:
    """Labels of the IRIs this page shows: its rows' (or triples'), every region's of the
    result for the map, and ``options`` (its drop-downs'). Labelling all 10,000 rows of a
    listing took 350 ms at 1M; a page's, a few ms."""
    if result is None:
        return db().labels(options) if options else {}
    prefix = url_builder.id_prefix() + "region/"
    cells = (t for row in rows for t in (_triple_terms(row) if result.kind == "graph" else row))
    shown = {t.value for t in cells if isinstance(t, ox.NamedNode)}
    regions = {
        t.value
        for row in result.rows
        for t in row
        if isinstance(t, ox.NamedNode) and t.value.startswith(prefix)
    }
    wanted = shown | regions | options
    return db().labels(wanted) if wanted else {}


def _triple_terms(t: ox.Triple) -> tuple:
    return (t.subject, t.predicate, t.object)


def _map(result, labels: dict[str, dict[str, str]]):
    if result is None or result.kind != "select":
        return None
    prefix = url_builder.id_prefix() + "region/"
    return maps.from_result(result.vars, result.rows, labels, prefix, pick_label)


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1
