"""Newsletter tests run tasks with Django's immediate backend (the database backend only where
a test says so) and a known set of newsletter settings; `smtp` is a real SMTP server on the
loopback interface, with Django's SMTP backend pointed at it."""

import pytest

from . import workers
from .smtp import SMTPServer

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _newsletter_settings(settings):
    settings.TASKS = IMMEDIATE
    settings.SITE_URL = "https://racket.example"
    settings.NEWSROOM_NEWSLETTER_FROM = "The Daily Racket <newsletters@racket.example>"
    settings.NEWSROOM_NEWSLETTER_REPLY_TO = "letters@racket.example"
    settings.NEWSROOM_NEWSLETTER_UNSUBSCRIBE_MAILTO = "unsubscribe@racket.example"
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_IP = 20
    settings.NEWSROOM_NEWSLETTER_SIGNUPS_PER_ADDRESS = 3
    settings.NEWSROOM_NEWSLETTER_BATCH_SIZE = 4
    settings.NEWSROOM_NEWSLETTER_SENDERS = 1  # tests that want several send tasks say so
    settings.NEWSROOM_PROXY_COUNT = 0


@pytest.fixture
def free_port():
    return workers.free_port()


@pytest.fixture
def smtp(settings, free_port):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    with SMTPServer(free_port) as server:
        yield server.handler
