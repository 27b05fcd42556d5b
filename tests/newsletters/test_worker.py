"""`manage.py run_worker`: resumes editions before starting django-tasks-db's worker."""

from io import StringIO

import pytest
from django.core.management import call_command

from newsletters.models import Edition

from .factories import EditionFactory

pytestmark = pytest.mark.django_db


def test_dry_run_lists_the_editions_a_worker_would_resume_and_starts_nothing():
    sending = EditionFactory(subject="Half sent")
    Edition.objects.filter(pk=sending.pk).update(status=Edition.Status.SENDING)
    EditionFactory(subject="Still a draft")
    out = StringIO()
    call_command("run_worker", "--dry-run", stdout=out)
    assert f"would resume edition {sending.pk}" in out.getvalue()
    assert "Still a draft" not in out.getvalue()
    assert "1 edition(s) to resume (dry run)." in out.getvalue()
