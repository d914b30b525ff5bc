"""CLI commands of the web front end: `serve` and `token create`, `list`, `revoke`."""

import sys
from pathlib import Path

import click

from . import paths
from .cli_exits import exit_codes, group_exit_codes
from .cli_types import SECONDS

DEFAULT_TOKENS = paths.ROOT / "var" / "tokens.json"

#: Why a token command exits 2, besides its own reasons.
TOKENS_FAILS = "a tokens file that cannot be read or written"


def register(main: click.Group, store_path_option) -> None:
    # --store only: serve refuses a remote store (CLUSTERPOLISEE_ENDPOINT), so it offers no
    # --endpoint, which its help listed and it always refused.
    @main.command()
    @store_path_option
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
    @click.option(
        "--port",
        default=5000,
        show_default=True,
        type=click.IntRange(1, 65535),
        help="Port to bind.",
    )
    @click.option(
        "--timeout",
        type=SECONDS,
        default=10.0,
        show_default=True,
        help="Seconds a query may run before it is stopped.",
    )
    @click.option(
        "--workers",
        default=3,
        show_default=True,
        type=click.IntRange(min=1),  # 0 started a server that answered nothing
        help="Query worker processes.",
    )
    @click.option(
        "--worker-nice",
        default=10,
        show_default=True,
        type=click.IntRange(0, 19),
        help="How much nicer than the server the query workers run, so pages stay quick "
        "while a long query runs (0: the same priority).",
    )
    @click.option(
        "--pause-after",
        default=0.25,
        show_default=True,
        type=click.FloatRange(min=0),
        help="Seconds after which a query counts as long: it is then stopped while other "
        "requests are answered and continued when there are none, so pages stay quick while "
        "it runs (0: never stopped). Its time limit keeps running meanwhile.",
    )
    @click.option(
        "--cache-size",
        default=256,
        show_default=True,
        type=click.IntRange(min=0),
        help="Query results kept per data version (0 turns the cache off).",
    )
    @click.option(
        "--warm/--no-warm",
        default=True,
        show_default=True,
        help="After start and after each upload, run every stored question with its default "
        "parameters in the background, so first visitors get cached results.",
    )
    @click.option(
        "--tokens",
        "tokens_file",
        default=DEFAULT_TOKENS,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Hashed partner upload tokens (see 'token create').",
    )
    @click.option(
        "--access-log/--no-access-log",
        default=True,
        show_default=True,
        help="Log one line per request: method, path (never the query string), status, "
        "milliseconds, client address.",
    )
    @click.option(
        "--proxies",
        default=0,
        show_default=True,
        type=click.IntRange(0, 10),
        help="Reverse proxies in front of this server (e.g. 1 behind one nginx) whose "
        "X-Forwarded-For, -Proto, -Host and -Prefix headers are believed: the server's own "
        "URLs (VoID, service description, links) then name the public address, and the "
        "access log the client. 0: those headers are ignored, as any client could send them.",
    )
    @click.option(
        "--allow-service",
        multiple=True,
        envvar="CLUSTERPOLISEE_SERVICE_ALLOW",
        help="A SPARQL endpoint federated queries (stored or not) may call with SERVICE "
        "(repeatable; exact IRI; default: CLUSTERPOLISEE_SERVICE_ALLOW, whitespace-separated). "
        "Without it SERVICE is refused.",
    )
    @exit_codes(
        {
            0: "when stopped (SIGTERM or Ctrl+C)",
            2: "a bad --allow-service, a remote store, no store at --store, or a store or "
            "address that cannot be used",
        },
        interruptible=False,  # Ctrl+C stops it cleanly (serve._stop_on_signals)
    )
    def serve(
        store_path: Path,
        host: str,
        port: int,
        timeout: float,
        workers: int,
        worker_nice: int,
        pause_after: float,
        cache_size: int,
        warm: bool,
        tokens_file: Path,
        access_log: bool,
        proxies: int,
        allow_service: tuple[str, ...],
    ) -> None:
        """Serve the web front end and SPARQL endpoint with waitress.

        This process is the store's one writer (uploads); queries run in worker processes
        that open the store read-only and are stopped after --timeout seconds.
        """

        from webapp.heap import limit_arenas_by_env

        from .cli_store import remote_selected, require_store
        from .serve import ListenError
        from .serve import serve as run
        from .store import StoreError

        bad = [u for u in allow_service if not u.startswith(("http://", "https://"))]
        if bad:
            click.echo(f"error: --allow-service needs http(s) URLs, got {bad[0]!r}", err=True)
            sys.exit(2)
        if remote_selected():  # --endpoint, its variable or the config file
            click.echo(
                "error: serve runs on the embedded store (--store); with a remote "
                "store, let clients use that server's own SPARQL endpoint",
                err=True,
            )
            sys.exit(2)
        require_store(store_path)  # before "Serving ... at", which a missing store followed
        # Bounded memory under load (bench/soak.py): few malloc arenas for this threaded
        # process (set before its threads start) and, by the environment, for the workers.
        limit_arenas_by_env()
        try:  # serve prints "Serving ... at" once it listens
            run(
                store_path,
                host,
                port,
                access_log=access_log,
                QUERY_TIMEOUT=timeout,
                WORKERS=workers,
                WORKER_NICE=worker_nice,
                PAUSE_LONG_QUERIES=pause_after,
                CACHE_SIZE=cache_size,
                PAGE_CACHE_SIZE=2 * cache_size,
                WARM_QUERIES=warm,
                TOKENS_FILE=str(tokens_file),
                SERVICE_ALLOWLIST=allow_service,
                TRUSTED_PROXIES=proxies,
            )
        except (StoreError, ListenError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    @main.group()
    @group_exit_codes
    def token() -> None:
        """Manage partner upload tokens (stored hashed)."""

    tokens_option = click.option(
        "--tokens",
        "tokens_file",
        default=DEFAULT_TOKENS,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
    )

    @token.command("create")
    @click.option("--partner", required=True, help="Partner id, e.g. marche-region.")
    @tokens_option
    @exit_codes({0: "created", 2: f"a bad or unknown partner id, or {TOKENS_FAILS}"})
    def token_create(partner: str, tokens_file: Path) -> None:
        """Create an upload token for a partner and print it once."""
        import re

        from webapp.tokens import CURATOR, TokensError, create

        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", partner):
            click.echo("error: a partner id is lower-case words joined by hyphens", err=True)
            sys.exit(2)
        known = reference_partners()
        if partner not in known and partner != CURATOR:
            # Else the token is made, and only its first upload says "unknown partner".
            click.echo(
                f"error: {unknown_partner(partner, known)} "
                f"(or {CURATOR}, who reviews link candidates)",
                err=True,
            )
            sys.exit(2)
        if tokens_file == DEFAULT_TOKENS:  # var/ is not in a fresh clone; another folder
            DEFAULT_TOKENS.parent.mkdir(exist_ok=True)  # must exist (a typo made folders)
        try:
            click.echo(create(tokens_file, partner))
        except (TokensError, OSError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    @token.command("list")
    @tokens_option
    @exit_codes({0: "listed (no tokens too)", 2: "for a tokens file that cannot be read"})
    def token_list(tokens_file: Path) -> None:
        """Show each partner's tokens by the start of their hashes (never the tokens)."""
        from webapp.tokens import TokensError, load

        try:
            data = load(tokens_file)
        except TokensError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if not data:
            click.echo(f"no tokens in {tokens_file}", err=True)
        for partner in sorted(data):
            shown = " ".join(h[:HASH_SHOWN] for h in data[partner])
            click.echo(f"{partner}\t{len(data[partner])}\t{shown}")

    @token.command("revoke")
    @click.option("--partner", required=True, help="Partner id whose tokens stop working.")
    @click.option(
        "--prefix",
        default="",
        help="Only the token whose hash starts so (as 'token list' shows it).",
    )
    @tokens_option
    @exit_codes({0: "revoked", 2: f"no such token of the partner, or {TOKENS_FAILS}"})
    def token_revoke(partner: str, prefix: str, tokens_file: Path) -> None:
        """Revoke all of a partner's tokens, or with --prefix one of them."""
        from webapp.tokens import TokensError, revoke

        try:
            removed = revoke(tokens_file, partner, prefix)
        except (TokensError, OSError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if not removed:  # a typo must not look like a revocation
            which = f"whose hash starts with {prefix!r}" if prefix else "at all"
            click.echo(f"error: {partner} has no token {which} in {tokens_file}", err=True)
            sys.exit(2)
        click.echo(f"revoked {removed} token(s) of {partner}", err=True)


#: Hex digits of a token's hash that `token list` shows: enough to tell them apart.
HASH_SHOWN = 12


def unknown_partner(partner: str, known: set[str]) -> str:
    """What to say of ``partner`` when it is none of the project partners ``known``."""
    return (
        f"unknown partner {partner!r}: not a project partner in data/reference/partners.ttl; "
        f"the partners are: {', '.join(sorted(known))}"
    )


def reference_partners() -> set[str]:
    """The ids of the project partners in the reference data, which uploads accept."""
    import pyoxigraph as ox

    from .namespaces import CPO
    from .submissions import partner_iri

    prefix = partner_iri("")
    a = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    is_partner = ox.NamedNode(f"{CPO}ProjectPartner")
    found = set()
    for path in paths.reference_files():
        for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if t.predicate == a and t.object == is_partner and t.subject.value.startswith(prefix):
                found.add(t.subject.value.removeprefix(prefix))
    return found
