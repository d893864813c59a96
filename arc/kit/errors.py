"""One error family and one JSON shape: ``{"error": code, "detail": ...}``."""

from __future__ import annotations

import logging
import re
from enum import StrEnum

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


def database_unreachable(exc: BaseException) -> bool:
    """Connection-level failures (refused, dropped, timed out, invalidated), as opposed to a bad
    statement or bad data: the database is away, and trying again later is the answer."""
    if isinstance(exc, OSError | ConnectionError | InterfaceError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.CannotConnectNowError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, DBAPIError) and isinstance(
        exc.orig, OSError | ConnectionError | asyncpg.PostgresConnectionError
    )


class ErrorCode(StrEnum):
    """Every ``error`` code an answer can carry: one enumeration, documented in the OpenAPI schema
    (``ErrorOut.error``) and mapped to messages by the pages (``arc/web/static/js/api.js``).
    A new refusal adds its code here; ``tests/arc/test_contract.py`` refuses any other."""

    # the family's defaults and the shared handlers
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"  # a field is wrong: detail names it (a list of {field, message} from validation)
    DUPLICATE = "duplicate"
    UNKNOWN_REFERENCE = "unknown_reference"
    CONSTRAINT = "constraint"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"  # the database (or the live stream) is away: try again shortly
    INTERNAL = "internal"
    HTTP_ERROR = "http_error"
    # sign-in, sessions and people
    CSRF = "csrf"
    RATE_LIMITED = "rate_limited"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a code, not a password)
    INACTIVE = "inactive"
    NO_ROLE = "no_role"
    OWN_ROLES = "own_roles"
    PASSWORD_CHANGE_REQUIRED = "password_change_required"  # noqa: S105 (a code, not a password)
    LAST_ADMIN = "last_admin"
    OWN_GRANT = "own_grant"
    ACKNOWLEDGED = "acknowledged"
    SSO_UNAVAILABLE = "sso_unavailable"
    SSO_REFUSED = "sso_refused"
    SSO_STATE = "sso_state"
    # the registry and the customer journey
    ERASED = "erased"
    WITHDRAWN = "withdrawn"
    NOT_WITHDRAWN = "not_withdrawn"
    ALREADY_REVIEWED = "already_reviewed"
    BAD_TRANSITION = "bad_transition"
    NO_UNIT = "no_unit"
    UNIT_IN_USE = "unit_in_use"
    KEY_SAFE = "key_safe"
    UNDECRYPTABLE = "undecryptable"
    NO_OPEN_ALARM = "no_open_alarm"
    BROKER_UNAVAILABLE = "broker_unavailable"  # 503: the MQTT broker (or its files) could not be changed
    BROKER_LOGINS_UNMANAGED = "broker_logins_unmanaged"  # this service is not set up to change them
    # alarm handling and dispatch
    TAKEN = "taken"
    CLOSED = "closed"
    NOT_ACCEPTED = "not_accepted"
    PROTECTED = "protected"
    ALREADY_DISPATCHED = "already_dispatched"
    ALREADY_HELD = "already_held"
    # billing
    ALREADY_DECIDED = "already_decided"
    FOUR_EYES = "four_eyes"
    BAD_SIGNATURE = "bad_signature"
    INVALID_EVENT = "invalid_event"


class AppError(Exception):
    """An expected refusal. ``keep_writes=True``: the unit of work still commits what it wrote
    before refusing (a counted failed log-in, an audited refused look) — committed by the
    session scope, the one place that commits."""

    status_code = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        code: ErrorCode | None = None,
        status_code: int | None = None,
        keep_writes: bool = False,
        **extra,
    ):
        super().__init__(detail)
        self.detail = detail
        self.keep_writes = keep_writes
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra


class NotFound(AppError):
    status_code = 404
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    status_code = 409
    code = ErrorCode.CONFLICT


class Forbidden(AppError):
    status_code = 403
    code = ErrorCode.FORBIDDEN


class Unauthorized(AppError):
    status_code = 401
    code = ErrorCode.UNAUTHORIZED


class Unprocessable(AppError):
    status_code = 422
    code = ErrorCode.INVALID


def _body(code: ErrorCode, detail, **extra) -> dict:
    return {"error": code, "detail": detail, **extra}


_KEY_RE = re.compile(r"Key \((?P<cols>[^)]*)\)=")


def integrity_detail(exc: IntegrityError) -> tuple[ErrorCode, str]:
    """Turn a constraint violation into (code, message naming the field)."""
    orig = str(getattr(exc, "orig", exc))
    match = _KEY_RE.search(orig)
    fields = match.group("cols") if match else None
    if "unique" in orig.lower() or "duplicate key" in orig.lower():
        return ErrorCode.DUPLICATE, f"{fields or 'value'} already exists"
    if "foreign key" in orig.lower():
        return ErrorCode.UNKNOWN_REFERENCE, f"{fields or 'reference'} refers to a record that does not exist"
    if "check constraint" in orig.lower():
        constraint = re.search(r'constraint "([^"]+)"', orig)
        return ErrorCode.CONSTRAINT, f"value breaks rule {constraint.group(1) if constraint else ''}".strip()
    if "not-null constraint" in orig.lower():
        column = re.search(r'column "([^"]+)"', orig)
        return ErrorCode.INVALID, f"{column.group(1) if column else 'a required field'} cannot be empty"
    return ErrorCode.CONFLICT, "the change conflicts with existing data"


# PostgreSQL "data exception" codes (class 22) mean the request carried a value the column cannot
# hold: the client's mistake, answered 422. Anything else from the database is our problem (503).
_DATA_EXCEPTIONS = {
    "22001": "a text value is longer than its field allows",
    "22021": "text must not contain NUL (\\u0000) characters or invalid UTF-8",
    "22P05": "text must not contain NUL (\\u0000) characters",  # in a JSON(B) value
    "22003": "a number is out of range for its field",
    "22008": "a date or time is out of range",
    "22000": "a value is out of range or not valid text for its field",  # refused by the driver
}


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    for candidate in (orig, getattr(orig, "__cause__", None), getattr(orig, "driver_exception", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def refused_value(exc: DBAPIError) -> str | None:
    """Why the database refused a value the client sent, or None when the fault is not the client's."""
    code = _sqlstate(exc)
    if code and code.startswith("22"):
        return _DATA_EXCEPTIONS.get(code, "a value is not valid for its field")
    orig = exc.orig
    if "DataError" in type(orig).__name__ or "invalid input" in str(orig).lower():
        return "a value is out of range for its field"
    return None


def _away(request: Request, exc: BaseException) -> JSONResponse:
    log.warning("%s %s: the database cannot be reached (%s)", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        _body(ErrorCode.UNAVAILABLE, "the database cannot be reached; try again shortly"),
        status_code=503,
        headers={"Retry-After": "2"},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.detail, **exc.extra), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        return JSONResponse(_body(ErrorCode.INVALID, problems), status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        code, detail = integrity_detail(exc)
        # an explicit null for a required field is bad input (422); a clash with stored data is 409
        return JSONResponse(_body(code, detail), status_code=422 if code == ErrorCode.INVALID else 409)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        refused = refused_value(exc)
        if refused:
            return JSONResponse(_body(ErrorCode.INVALID, refused), status_code=422)
        if database_unreachable(exc):
            return _away(request, exc)
        log.exception("database error")
        return JSONResponse(_body(ErrorCode.UNAVAILABLE, "database error, try again"), status_code=503)

    # the database (or another server a request needs) is away: the driver raises a bare OSError /
    # asyncpg connection error on connect; that is an outage to report, not a bug with a traceback
    async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
        return _away(request, exc)

    for away in (OSError, PoolTimeout, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
        app.add_exception_handler(away, _unreachable)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback and re-raises after this answer; the body keeps the one shape.
        return JSONResponse(_body(ErrorCode.INTERNAL, "unexpected server error; it has been logged"), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            _body(ErrorCode.HTTP_ERROR, exc.detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
