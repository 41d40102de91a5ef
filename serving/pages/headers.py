"""Response headers of the HTML pages and their assets: a strict Content-Security-Policy.

The pages load scripts and styles from this origin only and never run inline
code; the browser enforces it, so an injected ``<script>`` or a foreign
origin is refused even if a template bug let one in.
"""

from __future__ import annotations

from flask import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def add_page_headers(response: Response) -> Response:
    """after_request of the pages blueprint: set the CSP and related headers."""
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
    return response
