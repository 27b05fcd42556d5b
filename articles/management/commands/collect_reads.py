"""`manage.py collect_reads`: count the reads nginx passes on (articles.reads_edge)."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from articles import reads_edge


class Command(BaseCommand):
    help = (
        "Listen for the reads beacon's lines from nginx (syslog over UDP, deploy/nginx/) and "
        "count them into Redis, a second's reads at a time. Stops on SIGTERM or SIGINT, after "
        "counting what it holds."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--listen", default="127.0.0.1:5140", help="host:port to listen on (127.0.0.1:5140)."
        )
        parser.add_argument(
            "--flush-seconds", type=float, default=1.0, help="Seconds between writes (1)."
        )

    def handle(self, *args, listen, flush_seconds, **options):
        if flush_seconds <= 0:
            raise CommandError("--flush-seconds must be more than 0.")
        try:
            sock = reads_edge.open_socket(listen)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot listen on {listen!r} (host:port): {exc}") from exc
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        host, port = sock.getsockname()[:2]
        self.stdout.write(f"Collecting reads on {host}:{port} (UDP).")
        self.stdout.flush()
        with sock:
            done = reads_edge.serve(sock, stop=stop, flush_every=flush_seconds)
        self.stdout.write(
            f"Stopped: {done.received} received, {done.counted} counted, "
            f"{done.skipped} skipped, {done.refused} refused."
        )
