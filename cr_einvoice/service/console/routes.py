"""The web console at ``/console``: Spanish, rendered on the server (Jinja2), no JavaScript.

Sign in with a console user's username and password (``cr-einvoice user create``; :mod:`cr_einvoice.service
.users`): a user belongs to one emisor, which scopes everything its console shows; disabling the user ends
its sessions. Pages: the vouchers filtered by state, type and date; a voucher (its timeline, Hacienda's
errors, XML/PDF downloads, ask Hacienda again, issue again); the received vouchers (filtered by answer and
date) with accept/reject; the taxpayer's settings, read only. Every form carries a CSRF token (the sign-in
form too: a double-submit cookie); cookies are ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` (unless
``[service] secure_cookies = false`` on plain http); pages are sent with a strict Content-Security-Policy.
An address whose sign-ins keep failing is slowed down (``[service] login_failures_per_minute``) and an
account locks after repeated failures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import CrEinvoiceError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.issuing import REISSUABLE
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.service.console.sessions import COOKIE, LOGIN_COOKIE, Session, Sessions
from cr_einvoice.service.context import Caller, ServiceContext
from cr_einvoice.service.guards import RateLimiter
from cr_einvoice.service.problems import HTTPProblem, problem_of
from cr_einvoice.service.users import ConsoleUsers

__all__ = ["Console"]

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: Spanish names of the states and types the console shows.
ESTADOS = {
    "signed": "Firmado",
    "sending": "Enviando",
    "submitted": "Enviado",
    "processing": "Procesando",
    "accepted": "Aceptado",
    "rejected": "Rechazado",
    "error": "Error",
}
TIPOS = {
    "01": "Factura electrónica",
    "02": "Nota de débito",
    "03": "Nota de crédito",
    "04": "Tiquete electrónico",
    "05": "Aceptación",
    "06": "Aceptación parcial",
    "07": "Rechazo",
    "08": "Factura de compra",
    "09": "Factura de exportación",
    "10": "Recibo de pago",
}
#: Spanish names of the events of a voucher's timeline (others are shown as recorded).
EVENTOS = {
    "issued": "Emitido",
    "send": "Enviado a Hacienda",
    "resend": "Enviado de nuevo",
    "submitted": "Recibido por Hacienda",
    "poll": "Consulta de estado",
    "requery": "Consulta de estado",
    "respuesta": "Respuesta de Hacienda",
    "already_received": "Hacienda ya lo tenía",
    "state_accepted": "Aceptado",
    "state_rejected": "Rechazado",
    "state_error": "Error",
    "state_processing": "En proceso",
    "reissued": "Reemitido",
    "reissue_of": "Reemisión de",
    "api_request": "Recibido por la API",
    "callback_untrusted": "Callback no confiable",
    "lost_by_hacienda": "Hacienda no lo encuentra",
    "gave_up": "Abandonado",
    "refused": "Rechazado por Hacienda",
}
AVISOS = {
    "reemitido": "Se emitió un comprobante nuevo que reemplaza al rechazado.",
    "consultado": "Se consultó el estado a Hacienda.",
    "respondido": "Se envió la respuesta al proveedor.",
}
#: The received vouchers' filter by answer (``decision`` of the listing).
RESPUESTAS = {
    "pending": "Sin responder",
    "answered": "Respondidos",
    "accept": "Aceptados",
    "partial": "Aceptados parcialmente",
    "reject": "Rechazados",
}

Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """The console's routes over one :class:`~cr_einvoice.service.context.ServiceContext`."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.sessions = Sessions(ctx.store, ctx.settings.session_minutes * 60.0)
        self.users = ConsoleUsers(ctx.store)
        per_minute = ctx.settings.login_failures_per_minute
        #: Failed sign-ins per address.
        self.failures = RateLimiter(per_minute / 60.0, per_minute)
        self.env = Environment(
            loader=PackageLoader("cr_einvoice.service.console", "templates"),
            autoescape=select_autoescape(default=True),
        )
        self.env.globals.update(estados=ESTADOS, tipos=TIPOS, eventos=EVENTOS, respuestas=RESPUESTAS)
        self.env.filters.update(hora=_hora, detalle=_detalle)

    # -- plumbing ---------------------------------------------------------------------------------
    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def _cookie(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/console",
            secure=self.ctx.settings.secure_cookies or request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )

    def session(self, request: Request) -> Session:
        """The signed-in session (its user still active), or a redirect to the sign-in page."""
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            raise HTTPProblem(303, "sign-in", "Sign in", headers={"Location": "/console/entrar"})
        self.ctx.limiter.check("console:" + session.username)
        return session

    async def form(self, request: Request, session: Session) -> dict[str, str]:
        """The posted form, once its CSRF token is this session's."""
        data = await request.form()
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        if not session.csrf_ok(fields.get("csrf")):
            raise HTTPProblem(
                403, "csrf", "Formulario vencido", "vuelva a cargar la página e intente de nuevo"
            )
        return fields

    def problem_page(
        self, request: Request, problem: HTTPProblem, session: Session | None = None
    ) -> Response:
        if problem.status in (301, 302, 303):
            return RedirectResponse(problem.headers["Location"], status_code=problem.status)
        return self.page("error.html", problem.status, problem=problem, session=session)

    def guarded(self, handler: Callable[[Request, Session], Awaitable[Response]]) -> Handler:
        """``handler`` with the session, and the library's errors shown as a page."""

        async def run(request: Request) -> Response:
            session = None
            try:
                session = await run_in_threadpool(self.session, request)
                return await handler(request, session)
            except HTTPProblem as problem:
                return self.problem_page(request, problem, session)
            except CrEinvoiceError as exc:
                return self.problem_page(request, problem_of(exc), session)

        return run

    # -- signing in and out -----------------------------------------------------------------------
    async def login_form(self, request: Request, error: str = "", status: int = 200) -> Response:
        import secrets

        token = secrets.token_urlsafe(32)
        response = self.page("login.html", status, csrf=token, error=error, session=None)
        self._cookie(request, response, LOGIN_COOKIE, token, 600)
        return response

    async def login(self, request: Request) -> Response:
        import hmac

        data = await request.form()
        token, username, password = data.get("csrf"), data.get("username"), data.get("password")
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not (isinstance(token, str) and cookie and hmac.compare_digest(token.encode(), cookie.encode())):
            return await self.login_form(request, "El formulario venció; intente de nuevo.", 403)
        address = "console-login:" + (request.client.host if request.client else "?")
        wait = self.failures.wait(address)
        if wait:
            message = f"Demasiados intentos fallidos desde esta dirección; espere {wait} segundos."
            response = await self.login_form(request, message, 429)
            response.headers["Retry-After"] = str(wait)
            return response
        if not (isinstance(username, str) and isinstance(password, str) and username and password):
            return await self.login_form(request, "Escriba su usuario y su contraseña.", 422)
        result = await run_in_threadpool(self.users.sign_in, username, Secret(password))
        if result.user is None:
            self.failures.charge(address)
            if result.locked_until is not None:
                until = _hora(result.locked_until)[11:]
                message = f"La cuenta está bloqueada por intentos fallidos hasta las {until}."
                return await self.login_form(request, message, 429)
            return await self.login_form(request, "Usuario o contraseña incorrectos.", 401)
        # A new session (a new token) at every sign-in; a session the browser still had ends.
        await run_in_threadpool(self.sessions.close, request.cookies.get(COOKIE))
        session = await run_in_threadpool(self.sessions.open, result.user)
        response = RedirectResponse("/console/comprobantes", status_code=303)
        self._cookie(request, response, COOKIE, session.token, int(self.sessions.lifetime))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        await run_in_threadpool(self.sessions.close, session.token)
        response = RedirectResponse("/console/entrar", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- vouchers ---------------------------------------------------------------------------------
    async def vouchers(self, request: Request, session: Session) -> Response:
        q = request.query_params
        filters = {name: q.get(name, "") for name in ("estado", "tipo", "desde", "hasta")}

        def load() -> tuple[list[Any], str | None]:
            return self.ctx.page(
                _caller(session),
                state=filters["estado"] or None,
                tipo=filters["tipo"] or None,
                since=filters["desde"] or None,
                until=filters["hasta"] or None,
                cursor=q.get("cursor") or None,
                limit=50,
            )

        rows, cursor = await run_in_threadpool(load)
        more = _more("/console/comprobantes", filters, cursor)
        return self.page("vouchers.html", session=session, rows=rows, filters=filters, more=more)

    async def voucher(self, request: Request, session: Session) -> Response:
        caller = _caller(session)
        key = request.path_params["key"]

        def load() -> dict[str, Any]:
            record = self.ctx.voucher(caller, key)
            respuestas = self.ctx.respuestas(record)
            return {
                "record": record,
                "respuestas": respuestas,
                "errores": [e for r in respuestas for e in r.errores],
                "events": self.ctx.store.events(record.key),
            }

        data = await run_in_threadpool(load)
        record = data["record"]
        return self.page(
            "voucher.html",
            session=session,
            aviso=AVISOS.get(request.query_params.get("aviso", "")),
            reissuable=record.state in REISSUABLE and record.kind.value == "issued",
            final=record.state in (VoucherState.ACCEPTED, VoucherState.REJECTED),
            worker=self.ctx.worker is not None,
            **data,
        )

    async def download(self, request: Request, session: Session) -> Response:
        caller = _caller(session)
        key, what = request.path_params["key"], request.path_params["what"]
        if what == "xml":
            record = await run_in_threadpool(self.ctx.voucher, caller, key)
            body, media, name = record.signed_xml, "application/xml", f"{record.clave}.xml"
        elif what == "respuesta":
            body = await run_in_threadpool(self.ctx.respuesta_xml, caller, key)
            media, name = "application/xml", f"{key}-respuesta.xml"
        elif what == "pdf":
            body = await run_in_threadpool(self.ctx.render_pdf, caller, key)
            media, name = "application/pdf", f"{key}.pdf"
        else:
            raise HTTPProblem(404, "not-found", "No encontrado")
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
        return Response(body, media_type=media, headers=headers)

    async def refresh(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        record = await run_in_threadpool(self.ctx.voucher, _caller(session), request.path_params["key"])
        if self.ctx.worker is None:
            raise HTTPProblem(409, "no-worker", "Sin worker", "el worker corre en otro proceso")
        await self.ctx.worker.refresh(record.key)
        return RedirectResponse(f"/console/comprobantes/{record.key}?aviso=consultado", status_code=303)

    async def reissue(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        caller = _caller(session)
        issued = await run_in_threadpool(self.ctx.reissue, caller, request.path_params["key"])
        self.ctx.wake()
        return RedirectResponse(f"/console/comprobantes/{issued.key}?aviso=reemitido", status_code=303)

    # -- received vouchers and settings -----------------------------------------------------------
    async def received(self, request: Request, session: Session) -> Response:
        q = request.query_params
        filters = {name: q.get(name, "") for name in ("respuesta", "desde", "hasta")}

        def load() -> tuple[list[Any], str | None]:
            return self.ctx.received_page(
                _caller(session),
                decision=filters["respuesta"] or None,
                since=filters["desde"] or None,
                until=filters["hasta"] or None,
                cursor=q.get("cursor") or None,
                limit=50,
            )

        rows, cursor = await run_in_threadpool(load)
        return self.page(
            "received.html",
            session=session,
            rows=rows,
            filters=filters,
            more=_more("/console/recibidos", filters, cursor),
            aviso=AVISOS.get(q.get("aviso", "")),
        )

    async def decide(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        caller = _caller(session)
        clave = request.path_params["clave"]
        await run_in_threadpool(
            self.ctx.answer_received, caller, clave, fields.get("decision", ""), fields.get("motivo")
        )
        self.ctx.wake()
        return RedirectResponse("/console/recibidos?aviso=respondido", status_code=303)

    async def settings(self, request: Request, session: Session) -> Response:
        caller = _caller(session)

        def load() -> dict[str, Any]:
            taxpayer = self.ctx.taxpayer(caller)
            return {
                "issuer": taxpayer,
                "profile": taxpayer.emisor(),
                "keys": self.ctx.store.list_api_keys(session.emisor),
                "users": self.ctx.store.list_console_users(session.emisor),
                "counts": self.ctx.store.count_by_state(),
                "online": self.ctx.store.connectivity()[0],
            }

        data = await run_in_threadpool(load)
        return self.page(
            "settings.html",
            session=session,
            service=self.ctx.settings,
            worker=self.ctx.worker is not None,
            **data,
        )

    async def stylesheet(self, request: Request) -> Response:
        from importlib.resources import files

        css = files("cr_einvoice.service.console").joinpath("static/console.css").read_bytes()
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/console/comprobantes", status_code=303)

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            Route("/console", self.home, methods=["GET"]),
            Route("/console/", self.home, methods=["GET"]),
            Route("/console/static/console.css", self.stylesheet, methods=["GET"]),
            Route("/console/entrar", self.login_form, methods=["GET"]),
            Route("/console/entrar", self.login, methods=["POST"]),
            Route("/console/salir", g(self.logout), methods=["POST"]),
            Route("/console/comprobantes", g(self.vouchers), methods=["GET"]),
            Route("/console/comprobantes/{key}", g(self.voucher), methods=["GET"]),
            Route("/console/comprobantes/{key}/descargar/{what}", g(self.download), methods=["GET"]),
            Route("/console/comprobantes/{key}/consultar", g(self.refresh), methods=["POST"]),
            Route("/console/comprobantes/{key}/reemitir", g(self.reissue), methods=["POST"]),
            Route("/console/recibidos", g(self.received), methods=["GET"]),
            Route("/console/recibidos/{clave}/decision", g(self.decide), methods=["POST"]),
            Route("/console/ajustes", g(self.settings), methods=["GET"]),
        ]


def _caller(session: Session) -> Caller:
    return Caller("user:" + session.username, session.emisor)


def _more(path: str, filters: Mapping[str, str], cursor: str | None) -> str | None:
    """The link to the next page (the same filters), or None on the last page."""
    if not cursor:
        return None
    return f"{path}?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": cursor})


def _hora(value: datetime, seconds: bool = True) -> str:
    """A stored time in Costa Rica time (the store keeps UTC), as the vouchers' FechaEmision."""
    return value.astimezone(CR_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _detalle(detail: Mapping[str, Any]) -> str:
    """An event's detail as ``name: value`` pairs (empty values and the request's body hash left out)."""
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "") and k != "body_sha256")
