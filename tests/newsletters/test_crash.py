"""A worker stopped part-way through an edition, then restarted: every confirmed subscriber
ends up with exactly one copy. Runs on the database task backend and its worker."""

import os
import signal
import subprocess
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.utils import timezone

from newsletters.models import Delivery, Edition
from newsletters.services import send_edition_now
from tests.accounts.factories import UserFactory
from tests.conftest import database_vendor

from .conftest import DATABASE
from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory
from .smtp import Recorder, SMTPServer
from .workers import COMMAND, ROOT, worker_env

READERS = 23


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler in the send loop catches it."""


class DiesAfterHandingOver(LocmemBackend):
    """Delivers normally until the `dies_at`-th message, which reaches the server (the outbox)
    just before the worker "dies": the worst moment, with nothing marked sent yet."""

    dies_at = None
    handed_over = 0

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        type(self).handed_over += sent
        if self.dies_at and type(self).handed_over >= self.dies_at:
            type(self).dies_at = None  # a restarted worker is a new process
            raise WorkerKilled
        return sent


def run_worker():
    call_command("run_worker", "--", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_a_worker_stopped_mid_send_resumes_without_sending_anyone_a_second_copy(
    transactional_db, settings, time_machine
):
    settings.TASKS = DATABASE
    settings.NEWSROOM_NEWSLETTER_BATCH_SIZE = 5
    settings.EMAIL_BACKEND = f"{__name__}.DiesAfterHandingOver"
    DiesAfterHandingOver.handed_over, DiesAfterHandingOver.dies_at = 0, 8
    newsletter = NewsletterFactory(slug="crash")
    readers = SubscriptionFactory.create_batch(READERS, newsletter=newsletter, confirmed=True)
    edition = EditionFactory(newsletter=newsletter)
    send_edition_now(edition, by=UserFactory(is_superuser=True))

    # The task dies at the 8th message, in the middle of the second batch of five. The run
    # that `run_worker` enqueued on start sends the rest but must leave the dead run's claims
    # alone until they time out (their worker might only be slow).
    run_worker()
    counts = Counter(Delivery.objects.values_list("status", flat=True))
    assert counts == {"sent": READERS - 3, "sending": 1, "claimed": 2}
    assert len(mail.outbox) == READERS - 2
    assert Edition.objects.get().status == Edition.Status.SENDING

    # Restarted later than the claim timeout: the dead run's claims are taken back.
    time_machine.move_to(timezone.now() + timedelta(minutes=10), tick=False)
    run_worker()

    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT
    assert Counter(m.to[0] for m in mail.outbox) == Counter({r.email: 1 for r in readers})
    counts = Counter(Delivery.objects.values_list("status", flat=True))
    assert counts == {"sent": READERS - 1, "interrupted": 1}
    assert (edition.sent_count, edition.failed_count) == (READERS - 1, 0)


@pytest.mark.skipif(
    database_vendor() != "postgresql",
    reason="a worker subprocess cannot open the in-memory SQLite test database",
)
@pytest.mark.parametrize("workers", [1, 2])
def test_killed_worker_processes_are_restarted_and_nobody_gets_a_second_copy(
    transactional_db, settings, free_port, tmp_path, workers
):
    """The edition's two send tasks run in `workers` processes, all killed at the 9th message.
    With one process, every reader ends up with exactly one copy. With two, each may have had a
    message half handed over when it died: those readers' deliveries are `interrupted` and not
    resent, so they have one copy or none (the price of never sending twice), and every other
    reader has exactly one."""
    settings.TASKS = DATABASE
    settings.NEWSROOM_NEWSLETTER_SENDERS = 2
    newsletter = NewsletterFactory(slug="killed")
    readers = SubscriptionFactory.create_batch(READERS, newsletter=newsletter, confirmed=True)
    edition = EditionFactory(newsletter=newsletter)
    send_edition_now(edition, by=UserFactory(is_superuser=True))

    env = worker_env(
        smtp_port=free_port,
        NEWSROOM_NEWSLETTER_BATCH_SIZE="5",
        NEWSROOM_NEWSLETTER_SENDERS="2",
    )
    processes = []
    killed = threading.Event()

    def kill_at_the_ninth(item):
        # The 9th message has arrived; the workers die before they hear "250".
        if len(handler.received) == 9 and not killed.is_set():
            for process in processes:
                os.kill(process.pid, signal.SIGKILL)
            killed.set()

    handler = Recorder(after_data=kill_at_the_ninth)
    log = tmp_path / "worker.log"
    with SMTPServer(free_port, handler), log.open("w") as output:
        processes.extend(
            subprocess.Popen(COMMAND, cwd=ROOT, env=env, stdout=output, stderr=output)
            for _ in range(workers)
        )
        for process in processes:
            process.wait(timeout=120)
        assert killed.is_set(), log.read_text()
        assert [p.returncode for p in processes] == [-signal.SIGKILL] * workers
        counts = Counter(Delivery.objects.values_list("status", flat=True))
        assert 1 <= counts["sending"] <= workers, counts
        if workers == 1:
            assert counts["sent"] == 8 and counts["sending"] == 1, counts

        # Restarted with no grace period for claims (the first workers are known to be dead).
        restart = {**env, "NEWSROOM_NEWSLETTER_CLAIM_TIMEOUT": "0"}
        again = subprocess.run(
            COMMAND, cwd=ROOT, env=restart, stdout=output, stderr=output, timeout=120
        )
        assert again.returncode == 0, log.read_text()

    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT, log.read_text()
    arrived = Counter(rcpt for item in handler.received for rcpt in item.rcpt_tos)
    statuses = dict(Delivery.objects.values_list("subscription__email", "status"))
    assert set(statuses.values()) <= {"sent", "interrupted"}
    assert max(arrived.values()) == 1  # nobody twice
    for reader in readers:
        if statuses[reader.email] == "sent":
            assert arrived[reader.email] == 1, reader.email
    interrupted = [email for email, status in statuses.items() if status == "interrupted"]
    assert 1 <= len(interrupted) <= workers
    assert (edition.sent_count, edition.failed_count) == (READERS - len(interrupted), 0)
    if workers == 1:
        assert arrived == Counter({r.email: 1 for r in readers})
        assert len(interrupted) == 1
