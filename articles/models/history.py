"""Every saved version of a story, kept by django-simple-history, one record per save."""

from __future__ import annotations

from contextlib import contextmanager

from simple_history.models import HistoricalRecords


class RecordedHistory(HistoricalRecords):
    """simple-history's records with one addition, `recorded()`: a save and what hangs off the
    row (bylines, tags, corrections) make one record, naming who saved it and why. Left to the
    signals, a save with new bylines made one record for the row and one per byline change,
    each without a reason."""

    @contextmanager
    def recorded(self, instance, *, by, reason: str):
        """Record `instance` once, as it is when the block ends without an error."""
        created = instance._state.adding
        instance.skip_history_when_saving = True  # simple-history's own switch
        try:
            yield
        finally:
            del instance.skip_history_when_saving
        # The user and reason simple-history reads off the instance, for this record only.
        instance._history_user, instance._change_reason = by, reason
        try:
            self.create_historical_record(instance, "+" if created else "~")
        finally:
            del instance._history_user, instance._change_reason
