"""Security headers on every HTTP response (pure ASGI, so streams pass straight through).

A route that needs a different policy sets the header itself; headers already
present are never overwritten. Pages must load scripts from files under
/static (no inline scripts): the default CSP refuses inline script.
"""

from __future__ import annotations

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# /docs and /redoc: their assets are our own files (/docs-assets); FastAPI's page starts them inline
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def _send(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}

                def add(name: str, value: str) -> None:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))

                add("x-content-type-options", "nosniff")
                add("x-frame-options", "DENY")
                add("referrer-policy", "no-referrer")
                add("cross-origin-opener-policy", "same-origin")
                add("cross-origin-resource-policy", "same-origin")
                add("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()")
                add("content-security-policy", DOCS_CSP if path.startswith(DOCS_PATHS) else DEFAULT_CSP)
                if path.startswith(("/api", "/auth")):
                    add("cache-control", "no-store")  # personal data must not sit in caches
                if self.hsts or https:
                    add("strict-transport-security", HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, _send)
