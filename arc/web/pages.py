"""The browser pages: static shells, no build step. Every piece of data they show
comes from the authenticated JSON API, so the shells themselves are public."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from arc.auth.deps import public
from arc.web.fleet import router as fleet_router
from arc.web.testcall import router as testcall_router

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
HTML_DIR = WEB_DIR / "html"

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(public("page shell; data comes from authenticated API"))],
)


@cache
def _page(name: str) -> str:
    return (HTML_DIR / f"{name}.html").read_text(encoding="utf-8")


def _html(name: str) -> HTMLResponse:
    return HTMLResponse(_page(name), headers=PAGE_HEADERS)


@router.get("/")
async def home() -> RedirectResponse:
    """The log-in page sends a signed-in user on to the page for their role."""
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
async def login_page() -> HTMLResponse:
    return _html("login")


@router.get("/dashboard")
async def dashboard_page() -> HTMLResponse:
    return _html("dashboard")


@router.get("/ers")
async def ers_page() -> HTMLResponse:
    return _html("ers")


# the TEC / business-support pages (customer journey): one shell, a body each (html/tec/)
TEC_PAGES = {
    "customers": "customers",
    "referral": "new referral",
    "customer": "customer",
    "reviews": "6-week reviews",
    "import": "import customers",
}


@cache
def _tec_page(name: str) -> str:
    shell = (HTML_DIR / "tec" / "_shell.html").read_text(encoding="utf-8")
    body = (HTML_DIR / "tec" / f"{name}.html").read_text(encoding="utf-8")
    return shell.replace("{{title}}", TEC_PAGES[name]).replace("{{name}}", name).replace("{{body}}", body)


def _tec_route(name: str):
    async def page() -> HTMLResponse:
        return HTMLResponse(_tec_page(name), headers=PAGE_HEADERS)

    page.__name__ = f"{name}_page"
    return page


for _name in TEC_PAGES:
    router.add_api_route(f"/{_name}", _tec_route(_name), methods=["GET"], response_class=HTMLResponse)


def _page_route(name: str):
    async def page() -> HTMLResponse:
        return _html(name)

    page.__name__ = f"{name}_page"
    return page


# call histories and flags (arc/history), the finance page (billing/api.py serves its data)
for _path, _name in {
    "/flags": "history",
    "/history": "history_customer",
    "/overview": "history_overview",
    "/finance": "finance",
}.items():
    router.add_api_route(_path, _page_route(_name), methods=["GET"], response_class=HTMLResponse)


# supervisors, the wallboard, admins and the fleet (issue 14): one shell (html/people/_shell.html)
PEOPLE_PAGES = {"supervisor": "Supervisor", "wallboard": "Wallboard", "admin": "Administration", "fleet": "Fleet"}


@cache
def _people_page(name: str) -> str:
    shell = (HTML_DIR / "people" / "_shell.html").read_text(encoding="utf-8")
    return shell.replace("{{title}}", PEOPLE_PAGES[name]).replace("{{name}}", name)


def _people_route(name: str):
    async def page() -> HTMLResponse:
        return HTMLResponse(_people_page(name), headers=PAGE_HEADERS)

    page.__name__ = f"{name}_page"
    return page


for _name in PEOPLE_PAGES:
    router.add_api_route(f"/{_name}", _people_route(_name), methods=["GET"], response_class=HTMLResponse)


# /docs and /redoc from files shipped in a pip package (fastapi-offline, MIT): no CDN, works offline
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
docs_router = APIRouter(
    include_in_schema=False, dependencies=[Depends(public("page shell: API documentation, the schema only, no data"))]
)


@docs_router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon.png",
    )


@docs_router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API",
        redoc_js_url="/docs-assets/redoc.standalone.js",
        redoc_favicon_url="/docs-assets/favicon.png",
        with_google_fonts=False,
    )


def install_pages(app: FastAPI) -> None:
    """The page routes, ``/static`` (JS modules, CSS) and the offline API docs."""
    app.include_router(router)
    app.include_router(docs_router)
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.include_router(testcall_router, prefix="/api")
    app.include_router(fleet_router, prefix="/api")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
