"""A request id for every request: taken from the load balancer's X-Request-ID when it is a
sane value, made up otherwise, returned in the response and attached to every log line."""

import contextvars
import logging
import re
import uuid

_request_id = contextvars.ContextVar("request_id", default="-")
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,100}$")


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request.id = given if SANE_ID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request.id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _request_id.get()
        return True
