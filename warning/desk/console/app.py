"""Duty officers' web console: login scoped to a unit, live alerts over server-sent events.

For an internal network only (政务内网): it speaks plain HTTP and is meant to sit behind the
network's own TLS-terminating proxy. Security model:

* **Login** checks the name and password against the officer's Redis ACL user (`warning.delivery.acl`)
  — one credential for the CLI feed and the console — and takes the officer's unit scope from
  the officers table written by ``warning acl add-user``.
* **Session**: an HMAC-SHA256-signed cookie (name, unit, expiry), ``HttpOnly``,
  ``SameSite=Strict``; the key is random per process unless ``--secret-file`` gives one, so a
  restart logs everyone out (acceptable for a duty desk; pass a file to keep sessions).
* **Scope**: the live stream and every alert API show only alerts with a unit or a feed within
  the officer's unit (`warning.core.routing.in_scope`); the district sees all.
* **Writes** (acknowledge/resolve/handle) are POSTs with a JSON body: with ``SameSite=Strict``
  and no CORS, another site cannot forge them. Each writes the lifecycle transition and its
  audit line in one transaction. Reading person-level details is audited too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from warning.core.errors import WarningError
from warning.core.lifecycle import (
    OUTCOME_LABELS,
    STATE_LABELS,
    AlertRecord,
    InvalidTransitionError,
    UnknownAlertError,
)
from warning.core.routing import ALL_FEED, KIND_LABELS, feed_in_scope, in_scope, redacted
from warning.core.taxonomy import ALERT_TYPE_LABELS, LEVEL_LABELS, category_label
from warning.delivery.router import Deliverer, OutOfScopeError

STATIC = Path(__file__).with_name("static")
COOKIE = "warning_session"
SESSION_SECONDS = 12 * 3600

Authenticator = Callable[[str, str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in officer."""

    name: str
    unit: str


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def make_cookie(secret: bytes, session: Session, now: float) -> str:
    """Signed cookie value for a session."""
    payload = json.dumps(
        {"n": session.name, "u": session.unit, "e": int(now + SESSION_SECONDS)}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(payload).decode() + "." + _sign(secret, payload)


def read_cookie(secret: bytes, value: str, now: float) -> Session | None:
    """The session of a cookie value, or None when forged, malformed or expired."""
    try:
        b64, sig = value.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(b64.encode())
    except ValueError:
        return None
    if not hmac.compare_digest(sig, _sign(secret, payload)):
        return None
    data = json.loads(payload)
    if data["e"] < now:
        return None
    return Session(data["n"], data["u"])


def _labels() -> dict[str, Any]:
    return {
        "levels": LEVEL_LABELS,
        "states": STATE_LABELS,
        "kinds": KIND_LABELS,
        "types": ALERT_TYPE_LABELS,
        "outcomes": OUTCOME_LABELS,
    }


def _entry_json(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    alert: dict[str, Any] = json.loads(fields["alert"])
    alert["category_label"] = category_label(alert.get("category", ""))
    return {
        "id": entry_id,
        "alert_id": fields["alert_id"],
        "kind": fields["kind"],
        "level": fields["level"],
        "state": fields["state"],
        "count": int(fields.get("count", "1")),
        "unit": fields["unit"],
        "title": fields["title"],
        "alert": alert,
    }


def _record_json(rec: AlertRecord) -> dict[str, Any]:
    return {
        "alert_id": rec.alert_id,
        "level": rec.level,
        "state": rec.state,
        "count": rec.count,
        "unit": rec.alert.unit,
        "feeds": list(rec.feeds),
        "outcome": rec.outcome,
        "first_seen": rec.first_seen.isoformat(),
        "last_seen": rec.last_seen.isoformat(),
        "due_at": rec.due_at.isoformat() if rec.due_at else None,
        "alert": redacted(rec.alert),
    }


def create_app(
    deliverer: Deliverer,
    authenticate: Authenticator,
    *,
    secret: bytes,
    poll_interval: float = 0.3,
    backlog: int = 50,
) -> web.Application:
    """The console app over `deliverer` (its sink is read, its transitions are used)."""
    sink = deliverer.sink
    app = web.Application()
    stop = asyncio.Event()

    def session_of(request: web.Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        return read_cookie(secret, value, time.time()) if value else None

    def require(request: web.Request) -> Session:
        s = session_of(request)
        if s is None:
            raise web.HTTPUnauthorized(text="请先登录")
        return s

    async def scoped_record(request: web.Request, s: Session) -> AlertRecord:
        rec = await sink.load(request.match_info["alert_id"])
        if rec is None or not in_scope(rec, s.unit):
            raise web.HTTPNotFound(text="无此预警或无权查看")
        return rec

    async def index(request: web.Request) -> web.StreamResponse:
        if session_of(request) is None:
            raise web.HTTPFound("/login")
        return web.FileResponse(STATIC / "index.html")

    async def login_page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "login.html")

    async def login(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        unit = await sink.officer_unit(name) if name else None
        if unit is None or not await authenticate(name, password):
            raise web.HTTPFound("/login?error=1")
        resp = web.HTTPFound("/")
        resp.set_cookie(
            COOKIE,
            make_cookie(secret, Session(name, unit), time.time()),
            httponly=True,
            samesite="Strict",
            max_age=SESSION_SECONDS,
        )
        raise resp

    async def logout(request: web.Request) -> web.StreamResponse:
        resp = web.HTTPFound("/login")
        resp.del_cookie(COOKIE)
        raise resp

    async def me(request: web.Request) -> web.StreamResponse:
        s = require(request)
        return web.json_response({"name": s.name, "unit": s.unit, "labels": _labels()})

    async def stream(request: web.Request) -> web.StreamResponse:
        s = require(request)
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        cursor = request.headers.get("Last-Event-ID") or ""
        if cursor:
            entries = await sink.feed(ALL_FEED, after=cursor, count=500)
        else:
            entries = await sink.feed_tail(ALL_FEED, backlog * 4)
        await resp.write(b"retry: 2000\n\n")
        idle = 0.0
        while not stop.is_set():
            for entry_id, fields in entries:
                cursor = entry_id
                if feed_in_scope(json.loads(fields.get("feeds", "[]")), s.unit):
                    data = json.dumps(_entry_json(entry_id, fields), ensure_ascii=False)
                    await resp.write(f"id: {entry_id}\nevent: alert\ndata: {data}\n\n".encode())
                    idle = 0.0
            if idle >= 15:  # keep proxies from closing an idle stream
                await resp.write(b": keepalive\n\n")
                idle = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)
            idle += poll_interval
            entries = await sink.feed(ALL_FEED, after=cursor or "-", count=200)
        return resp

    async def show(request: web.Request) -> web.StreamResponse:
        s = require(request)
        rec = await scoped_record(request, s)
        trail = await sink.audit(rec.alert_id, count=50)
        body = _record_json(rec)
        body["audit"] = [e.to_fields() for e in trail]
        return web.json_response(body)

    async def details(request: web.Request) -> web.StreamResponse:
        s = require(request)
        rec = await scoped_record(request, s)
        data = await deliverer.read_details(rec.alert_id, by=s.name, scope=s.unit)
        return web.json_response(dict(data))

    def action_handler(action: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            s = require(request)
            if request.content_type != "application/json":
                raise web.HTTPUnsupportedMediaType(text="JSON body required")
            rec = await scoped_record(request, s)
            body = await request.json()
            try:
                new = await deliverer.transition(
                    rec.alert_id,
                    action,
                    by=s.name,
                    note=str(body.get("note", ""))[:500],
                    outcome=str(body.get("outcome", "")),
                    scope=s.unit,  # checked again on the record actually written (check-and-set)
                )
            except OutOfScopeError:
                raise web.HTTPNotFound(text="无此预警或无权查看") from None
            except (InvalidTransitionError, UnknownAlertError) as exc:
                return web.json_response({"error": str(exc)}, status=409)
            except WarningError as exc:
                return web.json_response({"error": str(exc)}, status=503)
            return web.json_response(_record_json(new))

        return handler

    async def on_shutdown(_: web.Application) -> None:
        stop.set()

    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/stream", stream)
    app.router.add_get("/api/alerts/{alert_id}", show)
    app.router.add_get("/api/alerts/{alert_id}/details", details)
    for path, action in (("ack", "acknowledge"), ("handle", "handle"), ("resolve", "resolve")):
        app.router.add_post(f"/api/alerts/{{alert_id}}/{path}", action_handler(action))
    app.router.add_static("/static", STATIC)
    return app
