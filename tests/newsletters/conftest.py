"""Newsletter tests run tasks with Django's immediate backend (the database backend only where
a test says so) and a known set of newsletter settings."""

import socket

import pytest

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
    settings.NEWSROOM_NEWSLETTER_CONNECTIONS = 1  # tests that want parallel senders say so
    settings.NEWSROOM_PROXY_COUNT = 0


@pytest.fixture
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
