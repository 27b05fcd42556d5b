"""`manage.py make_renditions`: what the hero migration leaves to be done."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from .factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_it_makes_the_missing_renditions_and_reports_a_missing_file():
    waiting = ImageFactory(renditions=False)
    done = ImageFactory()
    broken = ImageFactory(renditions=False)
    broken.file.storage.delete(broken.file.name)

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 picture"):
        call_command("make_renditions", stdout=out, stderr=err)

    waiting.refresh_from_db()
    assert waiting.is_shown and waiting.renditions_current
    assert "2 pictures: made 1" in out.getvalue() and str(broken.pk) in err.getvalue()
    done.refresh_from_db()
    assert done.renditions_current


def test_a_dry_run_makes_nothing():
    waiting = ImageFactory(renditions=False)
    out = StringIO()
    call_command("make_renditions", "--dry-run", stdout=out)
    waiting.refresh_from_db()
    assert not waiting.rendition_key and "would make 0" in out.getvalue()
