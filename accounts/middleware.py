"""Staff sessions end after NEWSROOM_STAFF_SESSION_IDLE_MINUTES without a request.

The time of the last request is kept in the session, written at most once a minute so that a
busy editor's clicks do not each cost a database write, and checked on every request: past the
limit the session is logged out. The cookie and the session's row live a working day longer,
only so that the login page can then say why it is shown (the session is useless by then);
`clearsessions` removes the rows. Only staff log in, so every logged-in session is a staff
session."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout

LAST_SEEN_KEY = "accounts.last_seen"
WRITE_EVERY_SECONDS = 60
EXPLAIN_FOR_SECONDS = 8 * 3600


class StaffSessionIdleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Readers carry no session cookie: their requests never touch the session (reading it
        # would add `Vary: Cookie` to public pages).
        if settings.SESSION_COOKIE_NAME in request.COOKIES and SESSION_KEY in request.session:
            self.check_idle(request)
        return self.get_response(request)

    def check_idle(self, request):
        idle_seconds = settings.NEWSROOM_STAFF_SESSION_IDLE_MINUTES * 60
        now = int(time.time())
        last_seen = request.session.get(LAST_SEEN_KEY)
        if last_seen is not None and now - last_seen >= idle_seconds:
            logout(request)
            minutes = settings.NEWSROOM_STAFF_SESSION_IDLE_MINUTES
            messages.info(request, f"You were logged out after {minutes} minutes without activity.")
        elif last_seen is None or now - last_seen >= WRITE_EVERY_SECONDS:
            request.session[LAST_SEEN_KEY] = now
            request.session.set_expiry(idle_seconds + EXPLAIN_FOR_SECONDS)
