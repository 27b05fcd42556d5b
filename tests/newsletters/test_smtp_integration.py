"""An edition sent through a real SMTP server on 127.0.0.1 (aiosmtpd), read back with the
standard library's email parser, by one worker and by two worker processes at once."""

import re
import subprocess
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from newsletters.models import Delivery, Edition, Subscription
from newsletters.services import send_edition, send_edition_now
from tests.accounts.factories import UserFactory
from tests.articles.factories import ArticleFactory
from tests.conftest import database_vendor

from .conftest import DATABASE
from .factories import EditionFactory, NewsletterFactory, SubscriptionFactory
from .smtp import Recorder, SMTPServer
from .workers import COMMAND, ROOT, free_port, worker_env

pytestmark = pytest.mark.django_db


def test_an_edition_goes_through_a_real_smtp_server_with_working_unsubscribe_headers(
    smtp, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.NEWSROOM_NEWSLETTER_RETRY_DELAY = 60
    newsletter = NewsletterFactory(name="Morning Racket", slug="morning")
    story = ArticleFactory(headline="Seagull steals mayor's chips", standfirst="Again.")
    edition = EditionFactory(newsletter=newsletter, subject="Chips ahoy", stories=[story])
    readers = SubscriptionFactory.create_batch(9, newsletter=newsletter, confirmed=True)
    gone = SubscriptionFactory(email="gone@example.com", newsletter=newsletter, confirmed=True)
    busy = SubscriptionFactory(email="busy@example.com", newsletter=newsletter, confirmed=True)
    SubscriptionFactory(newsletter=newsletter)  # pending: must get nothing
    smtp.refuse = {
        "gone@example.com": ["550 5.1.1 No such user here"],
        "busy@example.com": ["451 4.7.1 Greylisted, try again later", "250 OK"],
    }
    later = timezone.now() + timedelta(minutes=5)

    with django_capture_on_commit_callbacks(execute=True):
        send_edition_now(edition, by=UserFactory(is_superuser=True))
    time_machine.move_to(later, tick=False)
    smtp.refuse.pop("busy@example.com")
    send_edition(edition.pk)  # the greylisted address's retry is due

    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT
    assert (edition.sent_count, edition.failed_count) == (10, 1)
    arrived = Counter(rcpt for item in smtp.received for rcpt in item.rcpt_tos)
    assert arrived == Counter({r.email: 1 for r in [*readers, busy]})
    failed = Delivery.objects.get(subscription=gone)
    assert failed.status == "failed" and "550 5.1.1 No such user here" in failed.last_error

    tokens = set()
    for item in smtp.received:
        message = item.message
        assert item.mail_from == "newsletters@racket.example"
        assert message["To"] == item.rcpt_tos[0]
        assert message["Subject"] == "Chips ahoy"
        assert message["Reply-To"] == "letters@racket.example"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
        assert https.startswith("https://racket.example/newsletters/unsubscribe/")
        assert mailto.startswith("mailto:unsubscribe@racket.example?subject=unsubscribe%20")
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "https://racket.example" + story.get_absolute_url() in text
        assert re.search(r'href="https://racket\.example/[^"]+seagull', html)
        assert https in html and https in text
        assert message["Message-ID"].endswith("@racket.example>")
        tokens.add(https)
    assert len(tokens) == 10

    # One-click from a mail provider: a bare POST to the header's URL, no cookie, no token.
    reader = readers[0]
    [copy] = [item for item in smtp.received if item.rcpt_tos == [reader.email]]
    url = copy.message["List-Unsubscribe"].split(",")[0].strip(" <>")
    response = Client(enforce_csrf_checks=True).post(
        url.removeprefix("https://racket.example"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscription.Status.UNSUBSCRIBED


def test_a_test_send_reaches_the_editor_through_smtp(smtp):
    from newsletters.services import send_test_edition

    editor = UserFactory(is_superuser=True, email="editor@racket.example")
    edition = EditionFactory(subject="Proof")
    send_test_edition(edition, to=editor.email, by=editor)
    [item] = smtp.received
    assert item.rcpt_tos == ["editor@racket.example"]
    assert item.message["Subject"] == "[TEST] Proof"
    assert Delivery.objects.count() == 0


@pytest.mark.skipif(
    database_vendor() != "postgresql",
    reason="a worker subprocess cannot open the in-memory SQLite test database",
)
def test_two_worker_processes_share_an_edition_and_every_reader_gets_exactly_one_copy(
    transactional_db, settings, tmp_path
):
    """Each worker sends to an SMTP server of its own, so what each received shows who sent
    what. Each worker's first message is held until the other has sent one, so both take part
    however their start-up times fall (on a loaded machine one worker could start only after
    the other had sent everything)."""
    settings.TASKS = DATABASE
    settings.NEWSROOM_NEWSLETTER_SENDERS = 2
    newsletter = NewsletterFactory(slug="parallel")
    readers = SubscriptionFactory.create_batch(40, newsletter=newsletter, confirmed=True)
    edition = EditionFactory(newsletter=newsletter)
    send_edition_now(edition, by=UserFactory(is_superuser=True))

    first_sent, second_sent = threading.Event(), threading.Event()
    first = Recorder(after_data=lambda item: (first_sent.set(), second_sent.wait(timeout=60)))
    second = Recorder(after_data=lambda item: (second_sent.set(), first_sent.wait(timeout=60)))
    servers = [SMTPServer(free_port(), first), SMTPServer(free_port(), second)]
    log = tmp_path / "workers.log"
    with servers[0], servers[1], log.open("w") as output:
        workers = [
            subprocess.Popen(
                COMMAND,
                cwd=ROOT,
                env=worker_env(
                    smtp_port=server.port,
                    NEWSROOM_NEWSLETTER_BATCH_SIZE="3",
                    NEWSROOM_NEWSLETTER_SENDERS="2",
                ),
                stdout=output,
                stderr=output,
            )
            for server in servers
        ]
        assert [worker.wait(timeout=120) for worker in workers] == [0, 0], log.read_text()

    edition.refresh_from_db()
    assert edition.status == Edition.Status.SENT, log.read_text()
    assert (edition.sent_count, edition.failed_count) == (40, 0)
    by_server = [
        Counter(r for item in rec.received for r in item.rcpt_tos) for rec in (first, second)
    ]
    assert all(by_server), by_server  # both workers sent
    assert by_server[0] + by_server[1] == Counter({r.email: 1 for r in readers})
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
