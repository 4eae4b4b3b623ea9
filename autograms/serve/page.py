"""The web chat page at ``/``: one HTML file, a script and a style sheet shipped in the package
(``autograms/serve/static``), no CDN, no web fonts -- it works offline. The script uses the
native session API (`autograms.serve.sessions_api`). A strict Content-Security-Policy lets the
page load nothing but its own files and talk to nothing but its own server.
"""

from __future__ import annotations

import html
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from .errors import HTTPError

#: the files the page loads, with their media types
ASSETS = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ChatPage:
    """The page of one bot (its name in the title), read from the package once."""

    def __init__(self, name: str) -> None:
        folder = resources.files("autograms.serve").joinpath("static")
        template = folder.joinpath("index.html").read_text(encoding="utf-8")
        self.html = template.replace("{{name}}", html.escape(name)).encode()
        self.assets = {asset: folder.joinpath(asset).read_bytes() for asset in ASSETS}

    async def index(self, request: Request) -> Response:
        """``GET /``: the page."""
        return Response(
            self.html,
            media_type="text/html; charset=utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    async def asset(self, request: Request) -> Response:
        """``GET /static/{name}``: the page's script or style sheet."""
        name = request.path_params["name"]
        if name not in self.assets:
            raise HTTPError(404, "not_found", f"no file {name!r}")
        return Response(
            self.assets[name],
            media_type=ASSETS[name],
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )
