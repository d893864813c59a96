"""Strict CORS: no cross-origin access unless exact origins are configured (LIFELINE_CORS_ORIGINS)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from arc.kit.settings import Settings

ALLOWED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-CSRF-Token"]


def install_cors(app: FastAPI, settings: Settings) -> None:
    if not settings.cors_origins:
        return  # same-origin only: browsers refuse cross-site reads without CORS headers
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),  # exact origins; a wildcard is refused by Settings
        allow_credentials=True,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        max_age=600,
    )
