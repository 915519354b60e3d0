"""The lab page's HTTP routes (Starlette), every one behind the session's token.

The token comes in the URL `labrun ui` prints (``?token=...``, as Jupyter does); the page's
script sends it back in the ``X-Labrun-Token`` header. A request without it gets 403, so
another local user or a web page in the learner's browser cannot drive the session.

    GET  /                 the page
    GET  /api/state        the session, its time and cost, the tasks (labpage.state)
    POST /api/check        run the checker; the new state
    POST /api/hint/{task}  reveal the task's next hint level; the new state
    POST /api/extend       {"duration": "30m"}; the new state
    POST /api/stop         tear the session down; the receipt
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from labrun.errors import BadInput, LabrunError
from labrun.pages import document, esc
from labrun.store import SessionStore
from labrun.webui import labpage

TOKEN_HEADER = "X-Labrun-Token"
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
)
FORBIDDEN = "403 forbidden: open the lab page with the URL `labrun ui` printed (it has the token)"


def make_app(store: SessionStore, session_id: str, token: str) -> Starlette:
    """The lab page of ``session_id``, answering only requests that carry ``token``."""

    async def page(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(_page_html, store, session_id))

    async def get_state(request: Request) -> Response:
        return await _answer(labpage.state, store, session_id)

    async def post_check(request: Request) -> Response:
        return await _answer(labpage.check, store, session_id)

    async def post_hint(request: Request) -> Response:
        return await _answer(labpage.reveal_hint, store, session_id, request.path_params["task"])

    async def post_extend(request: Request) -> Response:
        body = await _json_body(request)
        return await _answer(labpage.extend, store, session_id, str(body.get("duration", "")))

    async def post_stop(request: Request) -> Response:
        return await _answer(labpage.stop, store, session_id)

    routes = [
        Route("/", page),
        Route("/api/state", get_state),
        Route("/api/check", post_check, methods=["POST"]),
        Route("/api/hint/{task}", post_hint, methods=["POST"]),
        Route("/api/extend", post_extend, methods=["POST"]),
        Route("/api/stop", post_stop, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGate, token=token)])


class TokenGate(BaseHTTPMiddleware):
    """403 unless the request carries the token (in the query or the header)."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return PlainTextResponse(FORBIDDEN, status_code=403)
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # the URL carries the token
        # Nothing but this page's own inline script and style, and no framing by other pages.
        response.headers["Content-Security-Policy"] = CSP
        return response


async def _answer(action: Callable[..., dict[str, Any]], *args: Any) -> Response:
    """Run a labpage action in a worker thread; a labrun error is a JSON error, one line."""
    try:
        return JSONResponse(await run_in_threadpool(action, *args))
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except LabrunError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _page_html(store: SessionStore, session_id: str) -> str:
    session = store.get(session_id)
    state = labpage.state(store, session_id)
    body = labpage.static_file("lab.html").format(
        readme=labpage.readme_html(session),
        state=esc(json.dumps(state)),
        script=labpage.static_file("lab.js"),
    )
    return document(f"{state['title']}", f"labrun session {session.id} ({session.lab})", [body])
