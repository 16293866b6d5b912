"""The asynchronous client's own HTTP/1.1 transport (transport.h11pool) over TLS: the server's certificate is
always verified (a failed handshake raises ConnectError: nothing was sent), a private CA can be added."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from hacienda_fakes import FakeHacienda, loopback, tls_material
from hc_support import CLAVE, FAST_RETRY, environment_for

from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.transport.h11pool import AsyncH11Transport


async def test_the_transport_verifies_the_server_certificate(fake: FakeHacienda, tmp_path: Path) -> None:
    ca_pem, server_tls = tls_material(tmp_path)
    with loopback(fake, tls=server_tls) as base:
        async with httpx.AsyncClient(transport=AsyncH11Transport(), timeout=5.0) as client:
            with pytest.raises(httpx.ConnectError):  # the system's CAs do not know the private one
                await client.get(f"{base}/recepcion/{CLAVE}")
        assert fake.seen == []
        trusted = AsyncH11Transport(verify=ssl.create_default_context(cafile=str(ca_pem)))
        async with httpx.AsyncClient(transport=trusted, timeout=5.0) as client:
            first = await client.get(f"{base}/recepcion/{CLAVE}")
            again = await client.get(f"{base}/recepcion/{CLAVE}")
        assert first.status_code == again.status_code  # answered over TLS (401: no token), twice


async def test_the_async_client_over_tls_with_a_private_ca(
    fake: FakeHacienda, credentials: Credentials, tmp_path: Path
) -> None:
    ca_pem, server_tls = tls_material(tmp_path)
    fake.set_state(CLAVE, "recibido")
    with loopback(fake, tls=server_tls) as base:
        async with AsyncClient(
            environment_for(base), credentials, retry=FAST_RETRY, ca_bundle=ca_pem
        ) as client:
            assert (await client.status(CLAVE)).estado == "recibido"
            assert (await client.status(CLAVE)).estado == "recibido"
