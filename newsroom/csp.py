"""Content-Security-Policy help for the admin: inline import maps allowed by their hash, and
inline styles allowed there only.

The policy allows no inline script. The admin's rich-text editor (django-prose-editor) loads its
modules through an inline `<script type="importmap">`, which browsers treat as script. Rather
than opening the policy to every inline script, this middleware allows each import map a page
actually carries by the SHA-256 of its exact text, which nothing injected can match.
"""

import base64
import hashlib
import re

IMPORT_MAP = re.compile(rb'<script type="importmap"[^>]*>(.*?)</script>', re.DOTALL)


class ImportMapHashMiddleware:
    """Must sit inside (after) csp.middleware.CSPMiddleware in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Only the admin carries import maps and inline styles (its widgets, the status
        # badges, the email previews); public pages are not even looked at, and their policy
        # allows no inline style.
        if not request.path.startswith("/admin/") or response.streaming:
            return response
        update = dict(getattr(response, "_csp_update", None) or {})
        update["style-src"] = [*update.get("style-src", []), "'unsafe-inline'"]
        response._csp_update = update
        if "html" not in response.get("Content-Type", ""):
            return response
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        hashes = [
            f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
            for body in IMPORT_MAP.findall(response.content)
        ]
        if hashes:
            update["script-src"] = [*update.get("script-src", []), *hashes]
        return response
