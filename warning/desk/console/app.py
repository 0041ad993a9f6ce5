"""Duty officers' web console: login scoped to a unit, live alerts over server-sent events.

For an internal network only (政务内网): it speaks plain HTTP and is meant to sit behind the
network's own TLS-terminating proxy. Security model:

* **Login** checks the name and password against the officer's Redis ACL user (`warning.delivery.acl`)
  — one credential for the CLI feed and the console — and takes the officer's unit scope from
  the officers table written by ``warning acl add-user``.
* **Session**: a random token in an ``HttpOnly``, ``SameSite=Strict`` cookie; the session
  lives in Redis (`warning.desk.console.sessions`), so logout and the removal of an officer
  take effect on the next request (the officer is re-read every time, never cached), and the
  live stream re-checks its session every few seconds. Five failed logins per name and address
  in 15 minutes answer 429 until the window passes.
* **Headers**: every response carries a strict CSP (no inline script, no framing),
  ``X-Frame-Options: DENY``, ``nosniff`` and ``Referrer-Policy: no-referrer``; API answers are
  ``no-store``. Malformed bodies, forms and ``Last-Event-ID`` headers get a 4xx (or, for the
  stream's cursor, are ignored), never a 500.
* **Scope**: the live stream and every alert API show only alerts with a unit or a feed within
  the officer's unit (`warning.core.routing.in_scope`); the district sees all.
* **Reports**: ``/report`` renders `warning report`'s HTML (day by default, ``?period=week``)
  for the officer's unit, the scope re-read on each request (`warning.desk.console.report_page`).
* **Pages** (v2): the desk ``/`` (counts by level and state, filters, search, live cards), the
  alert page ``/alert/{id}`` (indicators, scrubbed evidence excerpts, audit history, a relational
  alert's graph, a case alert's timeline and model explanation, acknowledge/handle/resolve) and
  ``/map`` (综治一张图, `warning.desk.console.views.hotspot_svg`). Unit names and every scope check
  follow the district's units file when one is loaded (the deliverer's ``rules.hierarchy``).
* **Writes** (acknowledge/resolve/handle) are POSTs with a JSON body: with ``SameSite=Strict``
  and no CORS, another site cannot forge them. Each writes the lifecycle transition and its
  audit line in one transaction. Reading person-level details is audited too.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from warning.core import units
from warning.core.errors import WarningError
from warning.core.lifecycle import (
    OPEN,
    OUTCOME_LABELS,
    STATE_LABELS,
    AlertRecord,
    InvalidTransitionError,
    UnknownAlertError,
)
from warning.core.routing import ALL_FEED, KIND_LABELS, feed_in_scope, in_scope, redacted
from warning.core.taxonomy import ALERT_TYPE_LABELS, CHANNEL_LABELS, LEVEL_LABELS, category_label
from warning.delivery.router import Deliverer, OutOfScopeError
from warning.desk.console import report_page, views
from warning.desk.console.sessions import SESSION_SECONDS, Session, SessionStore

STATIC = Path(__file__).with_name("static")
COOKIE = "warning_session"
SESSION_RECHECK_SECONDS = 5.0
LIST_LIMIT = 200
SUMMARY_SCAN = 5000
FILTERS: dict[str, Collection[str]] = {
    "type": ALERT_TYPE_LABELS,
    "level": LEVEL_LABELS,
    "state": {*STATE_LABELS, "open"},  # open: any state of lifecycle.OPEN
}
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

MAP_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>综治一张图</title>
<link rel="stylesheet" href="/static/console.css"></head><body class="map-page">
<header><h1>综治一张图 · {name}</h1><nav><a id="back" href="/" accesskey="b">返回值班台</a></nav></header>
<main><p class="hint">每格为一个网格,颜色表示未办结预警数;点击网格(或 Tab 选中后回车)查看该网格的未办结预警。</p>
{legend}{svg}</main></body></html>"""

Authenticator = Callable[[str, str], Awaitable[bool]]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

__all__ = ["COOKIE", "SECURITY_HEADERS", "Session", "SessionStore", "create_app"]


def _labels() -> dict[str, Any]:
    return {
        "levels": LEVEL_LABELS,
        "states": STATE_LABELS,
        "kinds": KIND_LABELS,
        "types": ALERT_TYPE_LABELS,
        "outcomes": OUTCOME_LABELS,
        "channels": CHANNEL_LABELS,
    }


def _entry_json(entry_id: str, fields: dict[str, str], h: units.Hierarchy | None = None) -> dict[str, Any]:
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
        "unit_info": views.unit_info(fields["unit"], h),
        "title": fields["title"],
        "alert": alert,
    }


def _record_json(rec: AlertRecord, h: units.Hierarchy | None = None) -> dict[str, Any]:
    alert = redacted(rec.alert)
    alert["category_label"] = category_label(rec.alert.category)
    for e in alert.get("excerpts", ()):  # type: ignore[attr-defined]  # a list of dicts in to_dict
        e["category_label"] = category_label(e.get("category", ""))
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
        "unit_info": views.unit_info(rec.alert.unit, h),
        "alert": alert,
        "explanation": views.explanation(alert, rec.alert.details),
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 4xx: a bad body is the client's error, never a 500."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="JSON body required")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise web.HTTPBadRequest(text="malformed JSON body") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON body must be an object")
    return body


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every response, errors and static files included."""
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


def _cursor(request: web.Request) -> str:
    """The SSE ``Last-Event-ID`` when it is a stream id; anything else restarts from the tail."""
    value = request.headers.get("Last-Event-ID", "")
    return value if STREAM_ID.match(value) else ""


class Console:
    """Request handlers: each re-reads the session (and the officer) from Redis."""

    def __init__(
        self,
        deliverer: Deliverer,
        authenticate: Authenticator,
        sessions: SessionStore,
        *,
        poll_interval: float,
        backlog: int,
        zone: tzinfo = UTC,
    ) -> None:
        self.deliverer = deliverer
        self.zone = zone  # the district's: where a report's day starts
        self.sink = deliverer.sink
        self.authenticate = authenticate
        self.sessions = sessions
        self.poll_interval = poll_interval
        self.backlog = backlog
        self.stop = asyncio.Event()
        self._identity: str | None = None

    @property
    def h(self) -> units.Hierarchy | None:
        """The district's own units (the deliverer's routing rules'), None = the default layout."""
        return self.deliverer.rules.hierarchy

    async def identity(self) -> str:
        """The console's Redis ACL user (``ACL WHOAMI``, asked once): the audit's `identity`."""
        if self._identity is None:
            from warning.sinks.redis import RedisAlertSink

            sink = self.sink
            if not isinstance(sink, RedisAlertSink):
                self._identity = ""
            else:
                try:
                    self._identity = str(await sink.client.acl_whoami())
                except RedisError:
                    return ""  # asked again next time; the transition itself reports the outage
        return self._identity

    async def session_of(self, request: web.Request) -> Session | None:
        """The live session of the request's cookie, or None."""
        return await self.sessions.lookup(request.cookies.get(COOKIE, ""))

    async def require(self, request: web.Request) -> Session:
        """The session, or 401."""
        s = await self.session_of(request)
        if s is None:
            raise web.HTTPUnauthorized(text="请先登录")
        return s

    async def scoped_record(self, request: web.Request, s: Session) -> AlertRecord:
        """The alert of the path if the officer may see it, else 404 (no hint it exists)."""
        rec = await self.sink.load(request.match_info["alert_id"])
        if rec is None or not in_scope(rec, s.unit, self.h):
            raise web.HTTPNotFound(text="无此预警或无权查看")
        return rec

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The desk page, or the login form."""
        if await self.session_of(request) is None:
            raise web.HTTPFound("/login")
        return web.FileResponse(STATIC / "index.html")

    async def report(self, request: web.Request) -> web.StreamResponse:
        """日报告 (or ``?period=week|month``, ``?date=``) of the officer's unit, as `warning report` renders it."""
        s = await self.require(request)
        now = self.deliverer.clock.now()
        try:
            period, day = report_page.params(request.query, now.astimezone(self.zone).date())
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        limits = report_page.deadlines(self.deliverer.rules)
        page, _ = await report_page.render(self.sink, s.unit, period, day, self.zone, now, limits, self.h)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        """The login form."""
        return web.FileResponse(STATIC / "login.html")

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Check the officer's Redis credential; throttled per name and address."""
        try:
            form = await request.post()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="malformed form") from None
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
        address = request.remote or "-"
        if await self.sessions.throttled(name, address):
            raise web.HTTPTooManyRequests(text="登录失败次数过多,请15分钟后再试", headers={"Retry-After": "900"})
        unit = await self.sink.officer_unit(name) if name else None
        if unit is None or not await self.authenticate(name, password):
            await self.sessions.failed(name, address)
            raise web.HTTPFound("/login?error=1")
        await self.sessions.succeeded(name, address)
        resp = web.HTTPFound("/")
        token = await self.sessions.create(name)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=SESSION_SECONDS)
        raise resp

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Drop the session in Redis, so the cookie is dead everywhere at once."""
        await self.sessions.drop(request.cookies.get(COOKIE, ""))
        resp = web.HTTPFound("/login")
        resp.del_cookie(COOKIE)
        raise resp

    async def me(self, request: web.Request) -> web.StreamResponse:
        """Who is logged in, and the Chinese labels of the domain's codes."""
        s = await self.require(request)
        info = views.unit_info(s.unit, self.h)
        return web.json_response({"name": s.name, "unit": s.unit, "unit_info": info, "labels": _labels()})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events of the feed entries in scope; ends when the session does."""
        s = await self.require(request)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no"}
        )
        await resp.prepare(request)
        await resp.write(b"retry: 2000\n\n")
        cursor = _cursor(request)
        entries = await self._first_entries(cursor)
        idle = since_check = 0.0
        while not self.stop.is_set():
            for entry_id, fields in entries:
                cursor = entry_id
                if feed_in_scope(json.loads(fields.get("feeds", "[]")), s.unit, self.h):
                    data = json.dumps(_entry_json(entry_id, fields, self.h), ensure_ascii=False)
                    await resp.write(f"id: {entry_id}\nevent: alert\ndata: {data}\n\n".encode())
                    idle = 0.0
            if idle >= 15:  # keep proxies from closing an idle stream
                await resp.write(b": keepalive\n\n")
                idle = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=self.poll_interval)
            idle += self.poll_interval
            since_check += self.poll_interval
            if since_check >= SESSION_RECHECK_SECONDS:
                since_check = 0.0
                if await self.session_of(request) is None:  # logged out or officer removed
                    await resp.write(b"event: logout\ndata: {}\n\n")
                    break
            entries = await self.sink.feed(ALL_FEED, after=cursor or "-", count=200)
        return resp

    async def _first_entries(self, cursor: str) -> list[tuple[str, dict[str, str]]]:
        if cursor:
            return await self.sink.feed(ALL_FEED, after=cursor, count=500)
        return await self.sink.feed_tail(ALL_FEED, self.backlog * 4)

    async def show(self, request: web.Request) -> web.StreamResponse:
        """One alert with its audit trail."""
        s = await self.require(request)
        rec = await self.scoped_record(request, s)
        trail = await self.sink.audit(rec.alert_id, count=50)
        body = _record_json(rec, self.h)
        body["audit"] = [e.to_fields() for e in trail]
        return web.json_response(body)

    async def details(self, request: web.Request) -> web.StreamResponse:
        """Person-level details, audited as read by this officer."""
        s = await self.require(request)
        rec = await self.scoped_record(request, s)
        data = await self.deliverer.read_details(rec.alert_id, by=s.name, scope=s.unit)
        return web.json_response(dict(data))

    async def alerts(self, request: web.Request) -> web.StreamResponse:
        """Alerts in scope, newest first, filtered by type/level/state/unit/since and searched by ``q``."""
        s = await self.require(request)
        found = await self.search(request, s)
        return web.json_response({"alerts": [_record_json(r, self.h) for r in found[:LIST_LIMIT]]})

    async def summary(self, request: web.Request) -> web.StreamResponse:
        """Counts by level and state of the alerts in the officer's scope (the header)."""
        s = await self.require(request)
        scope = None if s.unit == units.DISTRICT else s.unit
        counts: dict[str, dict[str, int]] = {}
        for rec in await self.sink.query(unit=scope, limit=SUMMARY_SCAN):
            if in_scope(rec, s.unit, self.h):
                row = counts.setdefault(rec.level, {})
                row[rec.state] = row.get(rec.state, 0) + 1
        return web.json_response({"scope": s.unit, "counts": counts})

    async def search(self, request: web.Request, s: Session) -> list[AlertRecord]:
        """Alerts in scope matching the URL's filters (``state=open``: any open state) and text ``q``."""
        query = _filters(request.query, s.unit, self.h)
        until = query.pop("until")
        text = request.query.get("q", "").strip()[:100]
        if text and (exact := await self.sink.load(text)) is not None:
            return [exact] if in_scope(exact, s.unit, self.h) else []
        want_open = query["state"] == "open"
        if want_open:
            query["state"] = None
        wide = text or want_open or until
        found = await self.sink.query(**query, limit=SUMMARY_SCAN if wide else LIST_LIMIT)
        return [
            r
            for r in found
            if in_scope(r, s.unit, self.h)
            and (not want_open or r.state in OPEN)
            and (until is None or r.last_seen <= until)
            and (not text or text in _haystack(r, self.h))
        ]

    async def units_api(self, request: web.Request) -> web.StreamResponse:
        """The units the officer may filter by, with names (the units file's, else those alerts name)."""
        s = await self.require(request)
        seen = [] if self.h else [r.alert.unit for r in await self._scoped(s)]
        return web.json_response({"units": views.units_in_scope(s.unit, self.h, seen)})

    async def _scoped(self, s: Session) -> list[AlertRecord]:
        scope = None if s.unit == units.DISTRICT or not units.is_unit(s.unit, self.h) else s.unit
        return [r for r in await self.sink.query(unit=scope, limit=SUMMARY_SCAN) if in_scope(r, s.unit, self.h)]

    async def alert_page(self, request: web.Request) -> web.StreamResponse:
        """The alert page (its data comes from ``/api/alerts/{id}``, which checks the scope)."""
        if await self.session_of(request) is None:
            raise web.HTTPFound("/login")
        return web.FileResponse(STATIC / "alert.html")

    async def map_page(self, request: web.Request) -> web.StreamResponse:
        """综治一张图: the officer's grids as an SVG coloured by open alerts, each linking to its alerts."""
        s = await self.require(request)
        records = await self._scoped(s)
        area = views.units_in_scope(s.unit, self.h, [r.alert.unit for r in records])
        svg = views.hotspot_svg(s.unit, area, views.open_by_grid(records))
        info = views.unit_info(s.unit, self.h)
        page = MAP_PAGE.format(name=html.escape(info["path"]), svg=svg, legend=views.legend())
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    def action(self, action: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Handler of one lifecycle transition (acknowledge / handle / resolve)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            s = await self.require(request)
            body = await _json_body(request)
            rec = await self.scoped_record(request, s)
            try:
                new = await self.deliverer.transition(
                    rec.alert_id,
                    action,
                    by=s.name,
                    note=str(body.get("note", ""))[:500],
                    outcome=str(body.get("outcome", ""))[:64],
                    scope=s.unit,  # checked again on the record actually written (check-and-set)
                    identity=await self.identity(),
                )
            except OutOfScopeError:
                raise web.HTTPNotFound(text="无此预警或无权查看") from None
            except (InvalidTransitionError, UnknownAlertError) as exc:
                return web.json_response({"error": str(exc)}, status=409)
            except WarningError as exc:
                return web.json_response({"error": str(exc)}, status=503)
            return web.json_response(_record_json(new))

        return handler


def _filters(params: Any, scope: str, h: units.Hierarchy | None = None) -> dict[str, Any]:
    """Query arguments from the URL, checked against the vocabulary and the officer's scope (4xx)."""
    out: dict[str, Any] = {}
    for name, allowed in FILTERS.items():
        value = params.get(name, "")
        if value and value not in allowed:
            raise web.HTTPBadRequest(text=f"unknown {name}")
        out[name] = value or None
    unit = params.get("unit", "") or (None if scope == units.DISTRICT else scope)
    if unit is not None and not (units.is_unit(unit, h) and units.within(unit, scope, h)):
        raise web.HTTPNotFound(text="无此单位或无权查看")
    out["unit"] = unit
    for name in ("since", "until"):
        value = params.get(name, "")
        try:
            out[name] = datetime.fromisoformat(value) if value else None
        except ValueError:
            raise web.HTTPBadRequest(text=f"{name} must be an ISO time") from None
    return out


def _haystack(rec: AlertRecord, h: units.Hierarchy | None = None) -> str:
    name = units.name_of(rec.alert.unit, h) if units.is_unit(rec.alert.unit, h) else ""
    return f"{rec.alert_id} {rec.alert.title} {rec.alert.unit} {name} {category_label(rec.alert.category)}"


def _default_sessions(deliverer: Deliverer, secret: bytes) -> SessionStore:
    client = getattr(deliverer.sink, "client", None)
    prefix = getattr(deliverer.sink, "prefix", None)
    if client is None or not isinstance(prefix, str):
        raise TypeError("the console keeps its sessions in Redis: pass sessions= for a non-Redis sink")
    return SessionStore(client, prefix=prefix, secret=secret)


def create_app(
    deliverer: Deliverer,
    authenticate: Authenticator,
    *,
    secret: bytes,
    sessions: SessionStore | None = None,
    poll_interval: float = 0.3,
    backlog: int = 50,
    zone: tzinfo = UTC,
) -> web.Application:
    """The console app over `deliverer`; sessions default to the sink's Redis, keyed with `secret`.

    `zone` is the district's time zone (``WARNING_TIMEZONE``): where the report's day begins.
    """
    console = Console(
        deliverer,
        authenticate,
        sessions or _default_sessions(deliverer, secret),
        poll_interval=poll_interval,
        backlog=backlog,
        zone=zone,
    )
    app = web.Application(client_max_size=64 * 1024)
    app.on_response_prepare.append(_on_prepare)

    async def on_shutdown(_: web.Application) -> None:
        console.stop.set()

    app.on_shutdown.append(on_shutdown)
    _routes(app, console)
    return app


def _routes(app: web.Application, c: Console) -> None:
    app.router.add_get("/", c.index)
    app.router.add_get("/login", c.login_page)
    app.router.add_post("/login", c.login)
    app.router.add_post("/logout", c.logout)
    app.router.add_get("/report", c.report)
    app.router.add_get("/api/me", c.me)
    app.router.add_get("/api/stream", c.stream)
    app.router.add_get("/api/alerts", c.alerts)
    app.router.add_get("/api/summary", c.summary)
    app.router.add_get("/api/units", c.units_api)
    app.router.add_get("/alert/{alert_id}", c.alert_page)
    app.router.add_get("/map", c.map_page)
    app.router.add_get("/api/alerts/{alert_id}", c.show)
    app.router.add_get("/api/alerts/{alert_id}/details", c.details)
    for path, action in (("ack", "acknowledge"), ("handle", "handle"), ("resolve", "resolve")):
        app.router.add_post(f"/api/alerts/{{alert_id}}/{path}", c.action(action))
    app.router.add_static("/static", STATIC)
