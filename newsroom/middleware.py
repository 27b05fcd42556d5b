"""Site-wide request handling: a request id for every request (taken from the load balancer's
X-Request-ID when it is a sane value, made up otherwise, returned in the response and attached
to every log line), HEAD responses without a body, and request bodies bounded by who sends
them."""

import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpResponse, HttpResponseBadRequest

_request_id = contextvars.ContextVar("request_id", default="-")
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,100}$")


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request.id = given if SANE_ID.match(given) else uuid.uuid4().hex
        # Kept until the request is finished, not just until this middleware returns: Django
        # logs 4xx and 5xx responses after the whole middleware chain has run.
        _request_id.set(request.id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


def _forget_request_id(**kwargs):
    _request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="newsroom-forget-request-id")


class RequestIDLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get()
        return True


class HeadRequestMiddleware:
    """A response to HEAD carries the headers a GET would, Content-Length included, and no
    body, whatever its status. Django renders HEAD like GET and leaves dropping the body to
    the server, which gunicorn does not do for error pages (it warns instead). First in
    MIDDLEWARE, so it sees the final response, cached or not; the page cache inside it still
    stores full bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if response.streaming:
            # A file's Content-Length is already set from its size; the file itself is closed
            # with the response, unread.
            response.streaming_content = []
        else:
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


class RequestBodyLimitMiddleware:
    """Refuses, before anything reads it, a request body larger than its sender may send:
    `NEWSROOM_STAFF_BODY_MAX_BYTES` for logged-in staff (pictures are uploaded in the admin),
    `NEWSROOM_PUBLIC_BODY_MAX_BYTES` for everyone else (a sign-up form is a few hundred bytes).
    Without it an anonymous 100 MB POST was parsed and spooled to disk. Must come after
    AuthenticationMiddleware, and before anything touches `request.POST` or `request.body`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest("Bad Content-Length.", content_type="text/plain")
        if length:
            staff = getattr(request, "user", None) is not None and request.user.is_staff
            limit = (
                settings.NEWSROOM_STAFF_BODY_MAX_BYTES
                if staff
                else settings.NEWSROOM_PUBLIC_BODY_MAX_BYTES
            )
            if length > limit:
                return HttpResponse(
                    f"The request is too large ({length:,} bytes; at most {limit:,}).",
                    status=413,
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)
