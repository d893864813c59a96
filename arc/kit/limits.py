"""Request body size limit: 413 with a reason, before the body is read into memory."""

from __future__ import annotations

import json

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from arc.kit.errors import ErrorCode


def _too_large(limit: int, size: int | None) -> tuple[dict, bytes]:
    detail = (
        f"request body is {size} bytes; the limit is {limit} bytes"
        if size is not None
        else f"request body exceeds the limit of {limit} bytes"
    )
    body = json.dumps({"error": ErrorCode.TOO_LARGE, "detail": detail}).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, body


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read; an HTTPException so FastAPI's body parsing passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body exceeds the limit of {limit} bytes")


def install_size_limit(app: FastAPI, max_bytes: int) -> None:
    async def _handler(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"error": ErrorCode.TOO_LARGE, "detail": exc.detail}, status_code=413)

    app.add_exception_handler(BodyTooLarge, _handler)
    app.add_middleware(RequestSizeLimitMiddleware, max_bytes=max_bytes)


class RequestSizeLimitMiddleware:
    """Refuses a declared Content-Length over the limit at once; counts a streamed (chunked) body
    as it arrives and stops it at the limit."""

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > self.max_bytes:
            start, body = _too_large(self.max_bytes, declared)
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return

        received = 0
        started = False

        async def _receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def _send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        except BodyTooLarge:
            if not started:
                start, body = _too_large(self.max_bytes, None)
                await send(start)
                await send({"type": "http.response.body", "body": body})
