"""The typed Runtime against the real simulator on loopback: the POS path (issue and wait), the worker, the
configuration file round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from cr_einvoice import Runtime, document_from_json
from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.model import Document


def ticket() -> Document:
    """The TE example, issued by the sandbox's TEST company."""
    data = example_json("te")
    data["emisor"]["identificacion"] = {"tipo": "02", "numero": EMISOR}
    return document_from_json(data)


@pytest.fixture(scope="module")
def box(schemas_dir: Path) -> Iterator[LocalSandbox]:
    with LocalSandbox(processing_delay=0.05) as sandbox:
        yield sandbox


def test_issue_and_wait_returns_hacienda_s_answer(box: LocalSandbox) -> None:
    record = box.runtime.issue_and_wait(ticket(), within=20)
    assert record.state is VoucherState.ACCEPTED
    assert record.tipo == "04"
    respuestas = box.runtime.store.respuestas(record.key)
    assert respuestas and respuestas[-1].estado == "aceptado"


def test_issue_and_wait_is_idempotent_by_reference(box: LocalSandbox) -> None:
    doc = ticket()
    first = box.runtime.issue_and_wait(doc, within=20, external_ref="caja-9/venta-1")
    again = box.runtime.issue_and_wait(doc, within=20, external_ref="caja-9/venta-1")
    assert again.clave == first.clave and again.state is VoucherState.ACCEPTED


def test_issue_and_wait_without_time_keeps_the_voucher_for_the_worker(box: LocalSandbox) -> None:
    record = box.runtime.issue_and_wait(ticket(), within=0)
    assert not record.is_final  # nothing answered yet, nothing lost: still in the outbox
    asyncio.run(box.runtime.drain([record.key], within=20))
    assert box.runtime.store.require(record.key).state is VoucherState.ACCEPTED


def test_worker_is_an_open_worker_over_the_runtime_s_store(box: LocalSandbox) -> None:
    issued = box.runtime.issuer().issue(document_from_json(example_json("fe")))

    async def run() -> VoucherState:
        async with box.runtime.worker(poll_initial=0.05) as worker:
            assert worker.store is box.runtime.store
            assert worker.settings.poll_initial == 0.05
            await worker.drain(within=20, keys=[issued.clave])
        return box.runtime.store.require(issued.clave).state

    assert asyncio.run(run()) is VoucherState.ACCEPTED


def test_from_file_reads_the_written_configuration_and_closes_its_store(box: LocalSandbox) -> None:
    assert box.config_path is not None
    with Runtime.from_file(box.config_path) as runtime:
        assert runtime.config.issuer_settings() == box.runtime.config.issuer_settings()
        assert runtime.store.count_by_state()  # the same outbox file, with the vouchers issued above
        assert runtime.trust is not None
    assert runtime._store is None


def test_the_worker_posts_what_the_signed_xml_says_without_parsing_it(tmp_path: Path) -> None:
    """Every type the demo issues (FE, ND, NC, TE, FEC, FEE, REP and a MensajeReceptor): the POST's clave,
    date and parties built from the stored row equal what the signed document itself says."""
    from cr_einvoice.app.demo import run_demo
    from cr_einvoice.hacienda.recepcion import submission_from_xml
    from cr_einvoice.outbox.worker import submission_of

    asyncio.run(run_demo(tmp_path / "demo", within=30))
    with Runtime.from_file(tmp_path / "demo" / "cr-einvoice.toml") as runtime:
        records = runtime.store.list_vouchers(limit=100)
        assert {r.tipo for r in records} >= {"01", "02", "03", "04", "05", "08", "09", "10"}
        for record in records:
            from_row = submission_of(record)
            if from_row.document == "MensajeReceptor":
                from_xml = submission_from_xml(
                    record.signed_xml, emisor_tipo=record.emisor_tipo, receptor_tipo=record.receptor_tipo
                )
            else:
                from_xml = submission_from_xml(record.signed_xml)
            assert from_row == from_xml, record.tipo
