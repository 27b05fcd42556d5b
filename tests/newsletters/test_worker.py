"""`manage.py run_worker`: resumes editions before starting django-tasks-db's worker."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from newsletters.models import Edition

from .conftest import DUMMY
from .factories import EditionFactory

pytestmark = pytest.mark.django_db


def test_dry_run_lists_the_editions_a_worker_would_resume_and_starts_nothing(settings):
    from django_tasks import default_task_backend

    settings.TASKS = DUMMY
    now = timezone.now()
    sending = EditionFactory(subject="Half sent")
    Edition.objects.filter(pk=sending.pk).update(status=Edition.Status.SENDING)
    due = EditionFactory(subject="Due a minute ago")
    Edition.objects.filter(pk=due.pk).update(
        status=Edition.Status.SCHEDULED, scheduled_at=now - timedelta(minutes=1)
    )
    later = EditionFactory(subject="Due tomorrow")
    Edition.objects.filter(pk=later.pk).update(
        status=Edition.Status.SCHEDULED, scheduled_at=now + timedelta(days=1)
    )
    EditionFactory(subject="Still a draft")
    out = StringIO()
    call_command("run_worker", "--dry-run", stdout=out)
    assert f"would resume edition {sending.pk}" in out.getvalue()
    assert f"would resume edition {due.pk}" in out.getvalue()
    assert "Due tomorrow" not in out.getvalue() and "Still a draft" not in out.getvalue()
    assert "2 edition(s) to resume (dry run)." in out.getvalue()
    assert default_task_backend.results == []
