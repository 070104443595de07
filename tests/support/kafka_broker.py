"""A real Kafka-protocol broker for the tests: noida-db's bundled binary on 127.0.0.1.

tests/kafka starts one per session (`kafka_broker`), tests/sandbox one per module for the publisher,
and tests/kafka/test_supervision.py one of its own that it kills and starts again.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
from pathlib import Path

import noida_db
from confluent_kafka.admin import AdminClient

from kontur.processes import free_port, stop_process_group
from tests.support.waiting import eventually


class Broker:
    """A noida-db broker on 127.0.0.1: the binary itself, not the pip wrapper (which leaves its child
    running when killed), in its own process group, stopped by PID. `kill()` and `start()` again on
    the same port and data directory: a broker that goes away and comes back with its data."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.binary = Path(noida_db.__file__).with_name("noida-db")
        if not os.access(self.binary, os.X_OK):
            self.binary.chmod(self.binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.data_dir = data_dir
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"noida-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port",
                 str(self.port), "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        eventually(self._listening, timeout=60, what="noida-db opened its port")
        AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=30)
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"noida-db exited with {self.proc.returncode}; see {self.log_path}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the broker dies as a crashed machine would (its data directory stays)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
