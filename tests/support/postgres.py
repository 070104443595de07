"""A real PostgreSQL server for the tests: Debian's binaries, a throw-away cluster in a temp directory,
listening on 127.0.0.1 at a free port, started once per test session and stopped at its end.

PostgreSQL refuses to run as root, so when the tests run as root `initdb` and `pg_ctl` run as the
`postgres` user the Debian package creates, on a directory owned by it. Trust authentication on the
loopback only: the cluster lives as long as the session and holds nothing but test data.

Nothing here skips: a machine without PostgreSQL has not run `scripts/install.sh dev`, and the tests
say so loudly instead of passing without the server they are about.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "kontur"
_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The newest installed major version's binaries (Debian layout), e.g. /usr/lib/postgresql/15/bin."""
    candidates = [Path(p) for p in glob.glob(_BIN_GLOB) if (Path(p) / "pg_ctl").exists()]
    if not candidates:
        raise PostgresMissing(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run "
            "`scripts/install.sh dev` (it installs Debian's postgresql package), then the tests again."
        )
    return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """One running cluster. `url(db)` gives a SQLAlchemy URL; `new_database()` a fresh empty database."""

    root: Path
    port: int
    bin_dir: Path
    run_as: str | None  # the OS user the server runs as (None: the current one)
    _databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its SQLAlchemy URL (one per test keeps tests apart)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name built from hex above, not from input
        self._databases.append(name)
        return self.url(name)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        if self.run_as is not None:
            command = ["su", self.run_as, "-s", "/bin/sh", "-c", shlex.join(command)]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on a free port; returns when the server accepts connections."""
    bin_dir = find_bin_dir()
    run_as: str | None = None
    root = Path(tempfile.mkdtemp(prefix="kontur-pg-"))
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            account = pwd.getpwnam(run_as)
        except KeyError as exc:
            raise PostgresMissing("the `postgres` user is missing: reinstall Debian's postgresql") from exc
        os.chown(root, account.pw_uid, account.pw_gid)
    server = PostgresServer(root=root, port=free_port(), bin_dir=bin_dir, run_as=run_as)
    try:
        server._run(
            "initdb",
            "-D",
            str(server.data_dir),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--no-instructions",
        )
        options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        server._run(
            "pg_ctl",
            "-D",
            str(server.data_dir),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"PostgreSQL did not start: {exc.cmd!r} exited {exc.returncode}: {exc.stderr}\n{log}"
        ) from exc
    return server
