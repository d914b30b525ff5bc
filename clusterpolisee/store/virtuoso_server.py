"""Start and stop a throwaway Virtuoso 7 instance on loopback (for tests and benchmarks).

Everything lives in one temporary folder: a copy of the packaged virtuoso.ini with every file
path pointed there and both ports bound to 127.0.0.1. The server is stopped by the PID we
started, never by name.
"""

import configparser
import http.client
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..allocator import without_preload

PACKAGED_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
PACKAGED_DB_DIR = "/var/lib/virtuoso-opensource-7/db"
VIRTUOSO = "virtuoso-t"
ISQL = "isql-vt"


class VirtuosoUnavailable(RuntimeError):
    """Virtuoso is not installed or did not start; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class VirtuosoServer:
    """A running throwaway instance: endpoints, credentials and how to stop it."""

    folder: Path
    http_port: int
    isql_port: int
    user: str = "kguser"
    password: str = field(default_factory=lambda: "pw" + secrets.token_hex(8))
    dba_password: str = field(default_factory=lambda: "pw" + secrets.token_hex(8))
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def endpoint(self) -> str:
        """The anonymous, read-only SPARQL endpoint."""
        return f"{self.base}/sparql"

    @property
    def update_endpoint(self) -> str:
        return f"{self.base}/sparql-auth"

    @property
    def gsp_endpoint(self) -> str:
        return f"{self.base}/sparql-graph-crud-auth"

    def env(self) -> dict[str, str]:
        """The environment variables that point the remote backend at this server."""
        return {
            "CLUSTERPOLISEE_ENDPOINT": self.endpoint,
            "CLUSTERPOLISEE_UPDATE_ENDPOINT": self.update_endpoint,
            "CLUSTERPOLISEE_GSP_ENDPOINT": self.gsp_endpoint,
            "CLUSTERPOLISEE_USER": self.user,
            "CLUSTERPOLISEE_PASSWORD": self.password,
        }

    def isql(self, sql: str, timeout: float = 600) -> str:
        """Run SQL as dba through isql on the loopback port; raise with its output on error."""
        proc = subprocess.run(
            [ISQL, f"127.0.0.1:{self.isql_port}", "dba", self.dba_password, f"exec={sql}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=without_preload(),
        )
        if proc.returncode != 0 or "*** Error" in proc.stdout + proc.stderr:
            raise VirtuosoUnavailable(f"isql failed: {sql}\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """``kill -9`` the server (by the PID we started), as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def restart(self, timeout: float = 120) -> None:
        """Start the server again on the same database files and ports (after a stop or a
        crash; Virtuoso rolls its transaction log forward first)."""
        if self.process and self.process.poll() is None:
            raise VirtuosoUnavailable(f"Virtuoso is still running (pid {self.process.pid})")
        launch(self)
        try:
            wait_ready(self, timeout)
        except BaseException:
            self.stop()
            raise

    def answers(self, timeout: float = 2) -> bool:
        """Whether the SPARQL endpoint answers a trivial query within ``timeout`` seconds."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}?query=ASK%7B%7D", timeout=timeout):
                return True
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            return False

    def db_size(self) -> int:
        """Bytes of database, transaction log and temp files in the folder."""
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


def write_ini(folder: Path, http_port: int, isql_port: int, settings: dict[str, dict]) -> Path:
    ini = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";",))
    ini.optionxform = str  # Virtuoso keys are case sensitive in practice; keep them
    ini.read(PACKAGED_INI)
    db = str(folder)
    # Every file of the packaged instance (database, log, lock, transaction and temp files)
    # moves into our folder, so two instances never share a file.
    for section in ini.sections():
        for key, value in ini[section].items():
            if value.startswith(PACKAGED_DB_DIR):
                ini[section][key] = db + value[len(PACKAGED_DB_DIR) :]
    ini["Parameters"]["ServerPort"] = f"127.0.0.1:{isql_port}"
    ini["Parameters"]["DirsAllowed"] = f"., /usr/share/virtuoso-opensource-7/vad, {db}"
    ini["HTTPServer"]["ServerPort"] = f"127.0.0.1:{http_port}"
    ini["URIQA"]["DefaultHost"] = f"127.0.0.1:{http_port}"
    for section, values in settings.items():
        ini[section].update({k: str(v) for k, v in values.items()})
    path = folder / "virtuoso.ini"
    with path.open("w") as fh:
        ini.write(fh)
    return path


def wait_ready(server: VirtuosoServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process and server.process.poll() is not None:
            log = (server.folder / "virtuoso.log").read_text(errors="replace")[-2000:]
            raise VirtuosoUnavailable(f"virtuoso-t exited at start:\n{log}")
        if server.answers():
            return
        time.sleep(0.3)
    raise VirtuosoUnavailable(f"Virtuoso did not answer on {server.endpoint} in {timeout} s")


def launch(server: VirtuosoServer) -> None:
    """Run virtuoso-t on the instance's folder (its ini file is already written)."""
    server.process = subprocess.Popen(
        [VIRTUOSO, "+foreground", "+configfile", str(server.folder / "virtuoso.ini")],
        cwd=server.folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal must not skip our orderly stop
        env=without_preload(),  # Virtuoso runs on its own allocator, not the CLI's jemalloc
    )


def start(folder: Path, settings: dict[str, dict] | None = None, timeout: float = 60):
    """Start a fresh instance in ``folder``, set passwords, create the update user."""
    if not shutil.which(VIRTUOSO) or not PACKAGED_INI.exists():
        raise VirtuosoUnavailable(
            "virtuoso-t is not installed; run 'scripts/install-system-deps.sh test' "
            "(Debian package virtuoso-opensource)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    server = VirtuosoServer(folder, free_port(), free_port())
    write_ini(folder, server.http_port, server.isql_port, settings or {})
    launch(server)
    try:
        wait_ready(server, timeout)
        pw, server.dba_password = server.dba_password, "dba"
        server.isql(f"SET PASSWORD dba {pw};")
        server.dba_password = pw
        server.isql(
            f"DB.DBA.USER_CREATE('{server.user}', '{server.password}'); "
            f'GRANT SPARQL_UPDATE TO "{server.user}";'
        )
        # Into the database file now, so a crash never replays the user creation from the
        # transaction log (7.2.5 logs SR005 errors in set_user_struct doing so).
        server.isql("checkpoint;")
    except BaseException:
        server.stop()
        raise
    return server
