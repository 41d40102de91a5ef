"""Routes of the HTML pages and their static assets.

The pages carry no data: their scripts fetch it from the JSON API (the public
page anonymously, the dashboard with the bearer token the user pasted), so
every figure passes through the API's guards. Each route declares its access
policy like any API route; the dashboard page itself is public (it is only a
sign-in form until a token is given), its data is not.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, render_template, send_from_directory
from werkzeug.wrappers import Response as BaseResponse

from serving.api.public import PRIVACY_NOTICE
from serving.guards.access import access
from serving.pages.headers import add_page_headers
from serving.tokens import Role

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Seed 003, Appendix B's notice, corrected: the page shows differentially private releases
# only (never the exact ones), so it says "noise", not "fully anonymized".
APPENDIX_B_NOTICE = (
    "All data displayed on this page is platform-wide and released with differential "
    "privacy: calibrated random noise is added to every figure, so no figure reveals whether "
    "any one student is in the data. No individual student names, usernames, or identifying "
    "information is shown. We track platform-wide statistics to demonstrate the effectiveness "
    "of our progress-based learning model while protecting student privacy. For more "
    "information, see our Privacy Policy."
)

pages = Blueprint("pages", __name__)
pages.after_request(add_page_headers)


def _page(template: str, **context: object) -> Response:
    return Response(render_template(template, **context), mimetype="text/html")


@pages.get("/")
@pages.get("/public")
@access(Role.PUBLIC, action="view_public_page")
def public_page() -> Response:
    """The public metrics page: platform-wide figures, charts and the privacy notice."""
    return _page("public.html", notice=APPENDIX_B_NOTICE, api_notice=PRIVACY_NOTICE)


@pages.get("/dashboard")
@access(Role.PUBLIC, action="view_dashboard_page")
def dashboard() -> Response:
    """The admin dashboard shell: a sign-in form until a token is pasted."""
    return _page("dashboard.html")


@pages.post("/dashboard")
@access(Role.PUBLIC, action="dashboard_signin_without_script")
def dashboard_signin_without_script() -> BaseResponse:
    """A sign-in form submitted without JavaScript: the token is discarded, never echoed.

    303 back to the page (whose notice says JavaScript is needed); the token never
    reaches a URL, a log or a cookie.
    """
    return redirect("/dashboard?signin=needs-javascript", code=303)


@pages.get("/assets/<path:filename>")
@access(Role.PUBLIC, action="page_asset")
def asset(filename: str) -> Response:
    """CSS, JavaScript and the vendored chart library (404 outside ``serving/static``)."""
    return send_from_directory(STATIC_DIR, filename, max_age=0)
