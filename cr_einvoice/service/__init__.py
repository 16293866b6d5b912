"""The issuing service: ``cr-einvoice serve`` -- an HTTP API (``/v1``) and a web console (``/console``) over
the same store and worker as the command line.

Rooms: :mod:`~cr_einvoice.service.settings` (``[service]``), :mod:`~cr_einvoice.service.backend` (what the
service needs from a :class:`~cr_einvoice.app.runtime.Runtime`), :mod:`~cr_einvoice.service.auth` (API keys,
stored hashed), :mod:`~cr_einvoice.service.problems` (RFC 9457 errors), :mod:`~cr_einvoice.service.guards`
(body size and rate limits), :mod:`~cr_einvoice.service.api` (the ``/v1`` routes),
:mod:`~cr_einvoice.service.openapi` (the OpenAPI 3.1 document), :mod:`~cr_einvoice.service.app` (the ASGI
application, the worker in the same process, callbacks, health), :mod:`~cr_einvoice.service.console` (the
Spanish web console). Importing this package imports no web framework:
:func:`cr_einvoice.service.app.create_app` does (the ``server`` extra: starlette, jinja2,
python-multipart, uvicorn).
"""
