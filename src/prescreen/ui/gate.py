"""Which of Gradio's HTTP routes each role may reach: an ASGI middleware inside the Gradio app.

Gradio serves more than the page needs: named API calls (`/gradio_api/run|call|api/...`), monitoring, a proxy,
streaming, and a file route that would hand out the bundles a lead uploaded (raw, unmasked) to anyone who
knows their path. The page itself needs only the queue (`/gradio_api/queue/join|data`), its assets and, for a
lead, the upload. So:

- routes the interface never calls answer 404 to everyone;
- the upload answers only a signed-in lead (bundles to ingest) or earner (their own work); an assessor gets 403;
- anyone signed out gets 401 from every gated route, as from Gradio's own.

Every handler checks the user's role again (the service does too): this gate is the outer wall, not the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

Rule = Literal["nobody", "uploaders"]
API_PREFIX = "/gradio_api"
UPLOADERS = frozenset({"lead", "earner"})

# prefixes of paths (without API_PREFIX) and who may reach them; anything else is Gradio's to answer
RULES: tuple[tuple[str, Rule], ...] = (
    ("/run/", "nobody"), ("/api/", "nobody"), ("/call/", "nobody"),   # named API calls: the page uses the queue
    ("/openapi.json", "nobody"), ("/monitoring", "nobody"), ("/proxy=", "nobody"), ("/stream/", "nobody"),
    ("/process_recording", "nobody"), ("/run-history", "nobody"), ("/runs", "nobody"), ("/vibe", "nobody"),
    ("/undo-vibe", "nobody"), ("/dev/", "nobody"), ("/deep_link", "nobody"), ("/mcp", "nobody"),
    ("/file=", "nobody"), ("/file/", "nobody"),  # uploaded originals are never served back, to anyone
    ("/upload", "uploaders"),                     # /upload and /upload_progress
)


def rule_for(path: str) -> Rule | None:
    """The rule of a request path, or None when Gradio alone decides."""
    local = path[len(API_PREFIX):] if path.startswith(API_PREFIX + "/") else path
    for prefix, rule in RULES:
        if local.startswith(prefix):
            return rule
    return None


def signed_in_user(scope: Scope) -> str | None:
    """The username behind the request's Gradio session cookie (None when signed out)."""
    app = scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", {}), getattr(app, "cookie_id", "")
    cookies = Request(scope).cookies
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return tokens.get(token) if token else None


class RoleGate:
    """ASGI middleware: `role_of(username)` gives the signed-in user's role (None for an unknown user)."""

    def __init__(self, app: ASGIApp, role_of: Callable[[str], str | None]):
        self.app, self.role_of = app, role_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = rule_for(scope.get("path", "")) if scope["type"] == "http" else None
        refusal = await self.refusal(scope, rule) if rule else None
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    async def refusal(self, scope: Scope, rule: Rule) -> PlainTextResponse | None:
        username = signed_in_user(scope)
        if username is None:
            return PlainTextResponse("Not authenticated: sign in first.", status_code=401)
        if rule == "nobody":
            return PlainTextResponse("Not found.", status_code=404)
        if await run_in_threadpool(self.role_of, username) not in UPLOADERS:
            return PlainTextResponse("Only a lead or an earner can upload files.", status_code=403)
        return None
