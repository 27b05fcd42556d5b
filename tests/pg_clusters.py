"""Throwaway PostgreSQL clusters for tests that stop, start or replicate a database server: data
directories and loopback ports of their own, never the machine's shared server.

PostgreSQL refuses to run as root, so as root the server's programs run as the `postgres` user
(and the data directories, outside pytest's private tmp folders, are theirs); as anyone else
they run as that user. `unavailable()` says why no cluster can be made here, for a skip.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

BINDIRS = sorted(path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def unavailable() -> str | None:
    """Why clusters cannot be made on this machine, or None when they can."""
    if not BINDIRS:
        return "needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup)"
    if AS_POSTGRES and shutil.which("runuser") is None:
        return "needs runuser, to run PostgreSQL as the postgres user (it refuses root)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_dir() -> Path:
    """A folder the postgres user can enter, for the clusters' data directories."""
    scratch = Path(tempfile.mkdtemp(prefix="newsroom-pg-"))
    scratch.chmod(0o755)
    return scratch


class Cluster:
    """One PostgreSQL server: its data directory and port. Its settings (port, loopback only,
    its own socket folder) are in its configuration, so `pg_ctl start` needs no options and a
    test can stop and start it again at will."""

    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls, scratch: Path, name: str = "primary", **settings) -> "Cluster":
        """A new cluster (superuser `postgres`, trust on loopback, replication allowed), started.
        `settings` are added to its postgresql.conf."""
        cluster = cls(cls._empty_dir(scratch / name), free_port())
        cluster._run("initdb", "-D", cluster.data, "-A", "trust", "-U", "postgres", timeout=120)
        cluster._configure(wal_level="replica", max_wal_senders=5, fsync="off", **settings)
        cluster.start()
        return cluster

    def standby(self, scratch: Path, name: str = "standby", **settings) -> "Cluster":
        """A streaming replica of this cluster (`pg_basebackup -R`, as the role `replicator`),
        started, with hot standby on (it answers read-only queries)."""
        self.sql(
            "DO $$ BEGIN CREATE ROLE replicator WITH REPLICATION LOGIN;"
            " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        standby = Cluster(self._empty_dir(scratch / name), free_port())
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "replicator",
            "-D", standby.data, "-R", "-X", "stream", "-c", "fast", timeout=120,
        )  # fmt: skip
        standby._configure(hot_standby="on", **settings)
        standby.start()
        return standby

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-w", "-l", self.data / "log", "start", timeout=60)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", timeout=60)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", self.data, "status", timeout=30, check=False) == 0

    def discard(self) -> None:
        """Stop it at once, if it runs (its data is thrown away)."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop", timeout=60, check=False)

    def sql(self, query: str, params=None):
        """The first row of `query`, in autocommit (None for a statement returning none)."""
        connection = psycopg2.connect(self.url.replace("postgres://", "postgresql://"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchone() if cursor.description else None
        finally:
            connection.close()

    def wait_until(self, query: str, params=None, *, timeout: float = 30) -> None:
        """Ask `query` (one boolean) again and again until it is true, for at most `timeout`
        seconds: replication happens in its own time."""
        deadline = time.monotonic() + timeout
        while not self.sql(query, params)[0]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {query}")
            time.sleep(0.02)

    def log(self) -> str:
        path = self.data / "log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _configure(self, **settings) -> None:
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.data}'",
            **settings,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in settings.items()))

    @staticmethod
    def _empty_dir(path: Path) -> Path:
        path.mkdir(mode=0o700)
        if AS_POSTGRES:
            shutil.chown(path, "postgres")
        return path

    @staticmethod
    def _run(program: str, *args, timeout: float, check: bool = True) -> int:
        command = [*AS_POSTGRES, str(BINDIRS[-1] / program), *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result.returncode
