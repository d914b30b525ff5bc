"""`clusterpolisee serve`: the web app under waitress (a production WSGI server)."""

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .paths import ConfigError

if TYPE_CHECKING:
    from flask import Flask

#: How long a stop (SIGTERM, Ctrl+C) waits for requests already being answered.
DRAIN_SECONDS = 30.0


class ListenError(Exception):
    """The server cannot start: the address could not be bound, or (SettingError) a setting
    cannot be used; the message says which and why. `serve` reports it as one line, exit 2."""


class SettingError(ListenError, ConfigError):
    """An environment setting of the web app that cannot be used (webapp.config.check):
    a ConfigError, and a ListenError so that the serve command reports it as one line."""


class _Late:
    """The WSGI application, set once the socket is bound and the app is built."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self.app(environ, start_response)  # type: ignore[misc]


class AccessLog(_Late):
    """One line per request: method, path (never its query string: it may hold a token),
    status, milliseconds and client, to stderr. Written when the body is done (a streamed
    answer counts whole), else as soon as the app returns."""

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        start = time.perf_counter()
        status: list[str] = []

        def record(code: str, headers: list, exc_info: Any = None) -> Callable:
            # A header waitress cannot write (Latin-1) is its 500 after the app returned:
            # logged as such, not as the app's status (a non-ASCII Link was logged 200).
            if not all(v.isascii() for _, v in headers) and not _latin1(headers):
                status.append("500")
            else:
                status.append(code)
            return start_response(code, headers, exc_info)

        body = self.app(environ, record)  # type: ignore[misc]
        if status and isinstance(body, (list, tuple)):  # whole already: the common case
            _log(environ, status, start)
            return body
        return _Logged(body, environ, status, start)


class _Logged:
    """A body that writes its request's access line when the server closes it."""

    __slots__ = ("body", "environ", "status", "start")

    def __init__(self, body: Iterable[bytes], environ: dict, status: list, start: float):
        self.body, self.environ, self.status, self.start = body, environ, status, start

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            _log(self.environ, self.status, self.start)


def _latin1(headers: list) -> bool:
    try:
        for _, value in headers:
            value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


#: Longest path (after encoding) an access line holds; a longer one is cut, ending in CUT.
PATH_SHOWN = 1_000
CUT = "%[cut]"  # a '%' not followed by two hex digits: never part of an encoded path
#: What a logged path keeps as it is: printable ASCII but the space and '%'.
_FIELD_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def _field(text: str) -> str:
    """``text`` (a WSGI string: the request's bytes as Latin-1) as one access-line field:
    every byte outside printable ASCII, the space and '%' percent-encoded (%20, %0A, %25,
    %C3%A9 for an "é" sent as UTF-8), so the field is the raw request path, unambiguous and
    without spaces: a path such as "/id/a 200 1.0ms 198.51.100.7" cannot forge the status
    and client fields for awk or fail2ban, nor a line break a line. Cut at PATH_SHOWN
    characters, marked by CUT (a 200 KB path made a 200 KB line)."""
    if not (text.isascii() and text.isprintable() and " " not in text and "%" not in text):
        text = quote(text.encode("latin-1", "backslashreplace"), safe=_FIELD_SAFE)
    if len(text) > PATH_SHOWN:
        cut = text[:PATH_SHOWN]
        percent = cut.rfind("%", PATH_SHOWN - 2)  # not inside an escape
        text = (cut[:percent] if percent >= 0 else cut) + CUT
    return text


def _log(environ: dict, status: list[str], start: float) -> None:
    """Queue the request's access line: time, method, path, status, milliseconds, client,
    separated by single spaces. Method and path are ``_field``s (percent-encoded, cut at
    PATH_SHOWN), so every line splits into the same fields."""
    # Made here, written by AccessLines' thread: through logging a line cost 35 us, and even
    # a plain write per request gave up the interpreter lock to a system call mid-request
    # (cached page, 32 clients: 3,480-3,600 to 2,210-2,610 req/s, p99 18-20 to 22-32 ms;
    # buffered, 3,330-3,390 against 3,540-3,650 without a log, p99 20-21 ms). The stamp is
    # logging's format, made once a second.
    now = time.time()
    if int(now) != _stamp[0]:
        _stamp[:] = [int(now), time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))]
    path = _field(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    line = (
        f"{_stamp[1]},{int(now * 1000) % 1000:03d} clusterpolisee.access: "
        f"{_field(environ.get('REQUEST_METHOD', '-'))} {path} "
        f"{status[0][:3] if status else '-'} "
        f"{(time.perf_counter() - start) * 1000:.1f}ms {environ.get('REMOTE_ADDR', '-')}\n"
    )
    _pending.append(line)  # one operation under the interpreter lock: no lock of our own


_stamp: list = [0, ""]
_pending: list[str] = []
#: Seconds between writes of the access lines: a line shows at most this late.
FLUSH_SECONDS = 0.25


class AccessLines:
    """The thread that writes the access lines ``_log`` made, a batch every FLUSH_SECONDS
    and the rest when it stops."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(FLUSH_SECONDS):
            _flush()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        _flush()


def _flush() -> None:
    lines = _pending[:]
    del _pending[: len(lines)]  # lines added meanwhile are at the end: kept for next time
    if lines:
        sys.stderr.write("".join(lines))
        sys.stderr.flush()


def serve(
    store_path: Path,
    host: str,
    port: int,
    threads: int = 8,
    access_log: bool = True,
    **config: Any,
) -> None:
    """Serve until SIGTERM or Ctrl+C. The serving process is the store's one writer
    (uploads); query workers open it read-only.

    The address is bound before the app (and its query workers) is built, so a port in use
    is a ListenError with nothing to clean up, and "Serving" is printed only when it listens.
    """
    from webapp import close_app, create_app
    from webapp.config import check

    try:  # before the address is bound and the workers started
        check()
    except ConfigError as exc:
        raise SettingError(str(exc)) from None

    # Warnings as before; the web app's own notes (warm-up, recycled workers) too.
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.INFO)
    front = AccessLog() if access_log else _Late()
    server = _listen(front, host, port, threads, bool(config.get("TRUSTED_PROXIES")))
    stop = _stop_on_signals(server)
    app = create_app({"STORE_PATH": str(store_path), **config})
    lines = AccessLines() if access_log else None
    try:
        front.app = app
        _warn_stale_keys(app)
        _warn_tokens(Path(app.config["TOKENS_FILE"]))
        print(f"Serving {store_path} at http://{host}:{port}/ (Ctrl+C stops)", file=sys.stderr)
        _run(server, stop)
    finally:
        if lines is not None:
            lines.stop()
        close_app(app)


def _listen(front: _Late, host: str, port: int, threads: int, proxied: bool = False) -> Any:
    """A waitress server on ``host``:``port``. ``proxied``: the X-Forwarded-* headers are
    passed on to the app, which believes its trusted proxies' (webapp: ProxyFix); waitress
    drops them otherwise."""
    import waitress.server

    try:
        return waitress.server.create_server(
            front,
            host=host,
            port=port,
            threads=threads,
            ident="clusterpolisee",
            clear_untrusted_proxy_headers=not proxied,
        )
    except (OSError, ValueError) as exc:  # in use, not this machine's, not an address
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {why}") from None


def _stop_on_signals(server: Any) -> threading.Event:
    """SIGTERM and Ctrl+C both ask for a stop; the loop sees it at once (trigger)."""
    stop = threading.Event()

    def ask(*_: object) -> None:
        stop.set()
        if hasattr(server, "pull_trigger"):  # one socket; several: the loop's 1 s timeout
            server.pull_trigger()

    signal.signal(signal.SIGTERM, ask)
    signal.signal(signal.SIGINT, ask)
    return stop


def _run(server: Any, stop: threading.Event) -> None:
    """Answer until asked to stop; then accept no more connections, let the requests
    already received finish (at most DRAIN_SECONDS) and end the server's threads."""
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer

    sockets = server.map if hasattr(server, "map") else server._map
    adj = server.adj

    def turn() -> None:
        wasyncore.loop(adj.asyncore_loop_timeout, adj.asyncore_use_poll, sockets, count=1)

    while not stop.is_set():
        turn()
    for listener in [d for d in sockets.values() if isinstance(d, BaseWSGIServer)]:
        wasyncore.dispatcher.close(listener)  # not its trigger: answers still use it
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        channels = [d for d in sockets.values() if isinstance(d, HTTPChannel)]
        busy = [c for c in channels if c.requests or c.total_outbufs_len]
        for idle in set(channels) - set(busy):
            idle.handle_close()
        if not busy:
            break
        turn()
    server.task_dispatcher.shutdown()
    wasyncore.close_all(sockets)


def _warn_tokens(path: Path) -> None:
    """Log when no upload can be accepted: every upload is refused (403, 503) until the
    tokens file is made or mended, which the operator would otherwise learn from partners."""
    from webapp.tokens import TokensError, load

    warn = logging.getLogger(__name__).warning
    try:
        if not path.exists():
            warn(
                "no tokens file %s: every upload is refused until 'clusterpolisee token "
                "create --tokens %s' makes one",
                path,
                path,
            )
        elif not load(path):
            warn("the tokens file %s holds no token: every upload is refused", path)
    except TokensError as exc:
        warn("%s; meanwhile every upload is refused", exc)


def _warn_stale_keys(app: "Flask") -> None:
    """Log once when the store's search keys are not today's folding: searches then miss
    labels without a word, and only `materialise` mends it (a long-lived store is not rebuilt
    by an upgrade). Through the app's engine, so the search page's own check finds the
    answer in its cache."""
    from webapp.access import EngineStore
    from webapp.database import EngineError

    from .reasoning.keycheck import STALE, stale_search_keys

    try:
        check = stale_search_keys(EngineStore(app.extensions["cpo.db"]))
    except EngineError as exc:  # advisory: never keeps the server from starting
        logging.getLogger(__name__).warning("could not check the search keys: %s", exc)
        return
    if not check.ok:
        logging.getLogger(__name__).warning(
            "%s (%d of %d labels checked, e.g. %r)",
            STALE,
            len(check.stale),
            check.sampled,
            check.stale[0],
        )
