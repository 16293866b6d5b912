"""The web console at ``/console``: Spanish, rendered on the server (Jinja2), no JavaScript.

Sign in with an API key (``cr-einvoice apikey create``): the console is one more client of the same keys, so
there is no second password store, a key's emisor scopes what its console shows, and revoking the key ends
its sessions. Pages: the vouchers filtered by state, type and date; a voucher (its timeline, Hacienda's
errors, XML/PDF downloads, ask Hacienda again, issue again); the received vouchers with accept/reject; the
taxpayer's settings, read only. Every form carries a CSRF token; cookies are ``HttpOnly``,
``SameSite=Strict`` and ``Secure``; pages are sent with a strict Content-Security-Policy.
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
from cr_einvoice.outbox.issuing import REISSUABLE
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.service.console.sessions import COOKIE, LOGIN_COOKIE, Session, Sessions
from cr_einvoice.service.context import Caller, ServiceContext
from cr_einvoice.service.problems import HTTPProblem, problem_of

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

Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """The console's routes over one :class:`~cr_einvoice.service.context.ServiceContext`."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.sessions = Sessions(ctx.settings.session_minutes * 60.0)
        self.env = Environment(
            loader=PackageLoader("cr_einvoice.service.console", "templates"),
            autoescape=select_autoescape(default=True),
        )
        self.env.globals.update(estados=ESTADOS, tipos=TIPOS, eventos=EVENTOS)
        self.env.filters.update(hora=_hora, detalle=_detalle)

    # -- plumbing ---------------------------------------------------------------------------------
    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/console",
            secure=self.ctx.settings.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def session(self, request: Request) -> Session:
        """The signed-in session (its key still active), or a redirect to the sign-in page."""
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is not None:
            record = self.ctx.store.get_api_key(session.key_id)
            if record is not None and record.active:
                self.ctx.limiter.check("console:" + session.sid)
                return session
            self.sessions.close(session.sid)
        raise HTTPProblem(303, "sign-in", "Sign in", headers={"Location": "/console/entrar"})

    async def form(self, request: Request, session: Session) -> dict[str, str]:
        """The posted form, once its CSRF token is this session's."""
        data = await request.form()
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        if not session.csrf_ok(fields.get("csrf")):
            raise HTTPProblem(
                403, "csrf", "Formulario vencido", "vuelva a cargar la página e intente de nuevo"
            )
        return fields

    def problem_page(self, request: Request, problem: HTTPProblem) -> Response:
        if problem.status in (301, 302, 303):
            return RedirectResponse(problem.headers["Location"], status_code=problem.status)
        session = self.sessions.get(request.cookies.get(COOKIE))
        return self.page("error.html", problem.status, problem=problem, session=session)

    def guarded(self, handler: Callable[[Request, Session], Awaitable[Response]]) -> Handler:
        """``handler`` with the session, and the library's errors shown as a page."""

        async def run(request: Request) -> Response:
            try:
                session = await run_in_threadpool(self.session, request)
                return await handler(request, session)
            except HTTPProblem as problem:
                return self.problem_page(request, problem)
            except CrEinvoiceError as exc:
                return self.problem_page(request, problem_of(exc))

        return run

    # -- signing in and out -----------------------------------------------------------------------
    async def login_form(self, request: Request, error: str = "", status: int = 200) -> Response:
        import secrets

        token = secrets.token_urlsafe(32)
        response = self.page("login.html", status, csrf=token, error=error, session=None)
        self._cookie(response, LOGIN_COOKIE, token, 600)
        return response

    async def login(self, request: Request) -> Response:
        import hmac

        data = await request.form()
        token, key = data.get("csrf"), data.get("api_key")
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not (isinstance(token, str) and cookie and hmac.compare_digest(token.encode(), cookie.encode())):
            return await self.login_form(request, "El formulario venció; intente de nuevo.", 403)
        client = request.client.host if request.client else "?"
        try:
            self.ctx.limiter.check("console-login:" + client)
        except HTTPProblem:
            return await self.login_form(request, "Demasiados intentos; espere un momento.", 429)
        record = await run_in_threadpool(
            self.ctx.keys.authenticate, key.strip() if isinstance(key, str) else ""
        )
        if record is None:
            return await self.login_form(request, "La llave de API no es válida o fue revocada.", 401)
        session = self.sessions.open(record.key_id, record.emisor)
        response = RedirectResponse("/console/comprobantes", status_code=303)
        self._cookie(response, COOKIE, session.sid, int(self.sessions.lifetime))
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        self.sessions.close(session.sid)
        response = RedirectResponse("/console/entrar", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- vouchers ---------------------------------------------------------------------------------
    async def vouchers(self, request: Request, session: Session) -> Response:
        q = request.query_params
        filters = {name: q.get(name, "") for name in ("estado", "tipo", "desde", "hasta")}

        def load() -> tuple[list[Any], str | None]:
            return self.ctx.page(
                Caller(session.key_id, session.emisor),
                state=filters["estado"] or None,
                tipo=filters["tipo"] or None,
                since=filters["desde"] or None,
                until=filters["hasta"] or None,
                cursor=q.get("cursor") or None,
                limit=50,
            )

        rows, cursor = await run_in_threadpool(load)
        more = None
        if cursor:
            more = "/console/comprobantes?" + urlencode(
                {**{k: v for k, v in filters.items() if v}, "cursor": cursor}
            )
        return self.page("vouchers.html", session=session, rows=rows, filters=filters, more=more)

    async def voucher(self, request: Request, session: Session) -> Response:
        caller = Caller(session.key_id, session.emisor)
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
        caller = Caller(session.key_id, session.emisor)
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
        record = await run_in_threadpool(
            self.ctx.voucher, Caller(session.key_id, session.emisor), request.path_params["key"]
        )
        if self.ctx.worker is None:
            raise HTTPProblem(409, "no-worker", "Sin worker", "el worker corre en otro proceso")
        await self.ctx.worker.refresh(record.key)
        return RedirectResponse(f"/console/comprobantes/{record.key}?aviso=consultado", status_code=303)

    async def reissue(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        caller = Caller(session.key_id, session.emisor)
        issued = await run_in_threadpool(self.ctx.reissue, caller, request.path_params["key"])
        self.ctx.wake()
        return RedirectResponse(f"/console/comprobantes/{issued.key}?aviso=reemitido", status_code=303)

    # -- received vouchers and settings -----------------------------------------------------------
    async def received(self, request: Request, session: Session) -> Response:
        caller = Caller(session.key_id, session.emisor)
        rows = await run_in_threadpool(self.ctx.received_list, caller)
        return self.page(
            "received.html",
            session=session,
            rows=rows,
            aviso=AVISOS.get(request.query_params.get("aviso", "")),
        )

    async def decide(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        caller = Caller(session.key_id, session.emisor)
        clave = request.path_params["clave"]
        await run_in_threadpool(
            self.ctx.answer_received, caller, clave, fields.get("decision", ""), fields.get("motivo")
        )
        self.ctx.wake()
        return RedirectResponse("/console/recibidos?aviso=respondido", status_code=303)

    async def settings(self, request: Request, session: Session) -> Response:
        caller = Caller(session.key_id, session.emisor)

        def load() -> dict[str, Any]:
            taxpayer = self.ctx.taxpayer(caller)
            return {
                "issuer": taxpayer,
                "profile": taxpayer.emisor(),
                "keys": self.ctx.store.list_api_keys(session.emisor),
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


def _hora(value: datetime, seconds: bool = True) -> str:
    """A stored time in Costa Rica time (the store keeps UTC), as the vouchers' FechaEmision."""
    return value.astimezone(CR_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _detalle(detail: Mapping[str, Any]) -> str:
    """An event's detail as ``name: value`` pairs (empty values and the request's body hash left out)."""
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "") and k != "body_sha256")
