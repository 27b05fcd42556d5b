import pytest

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    # Renditions are made by a background task after an upload; here it runs at once.
    settings.TASKS = IMMEDIATE


class Committing:
    """A test client whose requests run their after-commit callbacks (the rendition task)
    before returning, as a real request's would once its transaction commits."""

    def __init__(self, client, capture):
        self.client, self.capture = client, capture

    def post(self, *args, **kwargs):
        with self.capture(execute=True):
            return self.client.post(*args, **kwargs)

    def get(self, *args, **kwargs):
        with self.capture(execute=True):
            return self.client.get(*args, **kwargs)


@pytest.fixture
def editor_client(client, django_capture_on_commit_callbacks):
    from tests.accounts.factories import UserFactory

    client.force_login(UserFactory(username="editor", editor=True))
    return Committing(client, django_capture_on_commit_callbacks)
