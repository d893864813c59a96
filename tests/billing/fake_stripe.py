"""A local fake of the few Stripe endpoints billing uses, for the real ``stripe`` SDK to talk to.

Form-encoded requests in, JSON objects out; an Idempotency-Key seen before gets the first answer
again, as Stripe does. Loopback only; the test stops it."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.objects: dict[str, dict] = {}
        self.fail_next: int = 0
        self._answers: dict[str, tuple[int, dict]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                status, body = fake.handle(self.path, form, self.headers.get("Idempotency-Key"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _new(self, prefix: str, kind: str, **fields) -> dict:
        obj = {"id": f"{prefix}_{next(self._ids):04d}", "object": kind, **fields}
        self.objects[obj["id"]] = obj
        return obj

    def handle(self, path: str, form: dict, key: str | None) -> tuple[int, dict]:
        with self._lock:
            if key and key in self._answers:
                return self._answers[key]
            self.calls.append((path, form))
            if self.fail_next:
                self.fail_next -= 1
                return 500, {"error": {"type": "api_error", "message": "fake outage"}}
            answer = self._route(path, form)
            if key:
                self._answers[key] = answer
            return answer

    def _route(self, path: str, form: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")  # v1, resource, [id, action]
        resource = parts[1]
        if resource == "customers":
            return 200, self._new("cus", "customer", name=form.get("name"))
        if resource == "invoices" and len(parts) == 2:
            return 200, self._new(
                "in",
                "invoice",
                customer=form.get("customer"),
                status="draft",
                total=0,
                collection_method=form.get("collection_method"),
            )
        if resource == "invoiceitems":
            invoice = self.objects[form["invoice"]]
            invoice["total"] += int(form["amount"])
            return 200, self._new("ii", "invoiceitem", invoice=form["invoice"], amount=int(form["amount"]))
        if resource == "invoices" and parts[3] == "finalize":
            self.objects[parts[2]]["status"] = "open"
            return 200, self.objects[parts[2]]
        if resource == "invoices" and parts[3] == "send":
            self.objects[parts[2]]["sent"] = True
            return 200, self.objects[parts[2]]
        if resource == "credit_notes":
            return 200, self._new("cn", "credit_note", invoice=form["invoice"], amount=int(form["amount"]))
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}

    def count(self, resource: str) -> int:
        return sum(1 for path, _ in self.calls if path.startswith(f"/v1/{resource}"))
