from __future__ import annotations

import logging
import pickle

import pytest

from cr_einvoice.core.errors import (
    APIError,
    ConfigError,
    CrEinvoiceError,
    NotFoundError,
    Problem,
    ValidationError,
)
from cr_einvoice.core.secret import Secret


def test_validation_error_lists_every_problem_with_path_and_code() -> None:
    err = ValidationError(
        [Problem("ResumenFactura/TotalDescuentos", "no coincide", -52), Problem("Clave", "bad")]
    )
    text = str(err)
    assert "2 problems" in text
    assert "[-52] ResumenFactura/TotalDescuentos: no coincide" in text
    assert isinstance(err, ValueError) and isinstance(err, CrEinvoiceError)


def test_single_message_validation_error() -> None:
    err = ValidationError("must be positive", path="lineas[1].cantidad")
    assert err.problems == (Problem("lineas[1].cantidad", "must be positive"),)
    assert str(err) == "lineas[1].cantidad: must be positive"


def test_api_error_carries_response_facts_and_redacts_credentials() -> None:
    err = NotFoundError(
        "status query failed",
        status=404,
        headers={"X-Error-Cause": "not found", "Authorization": "bearer abc.def"},
        error_cause="not found",
        clave="5" * 50,
        body="x" * 10000,
    )
    assert err.status == 404 and err.clave == "5" * 50
    assert err.headers["Authorization"] == "<redacted>"
    assert "abc.def" not in str(err) and "abc.def" not in repr(err.headers)
    assert "X-Error-Cause: not found" in str(err)
    assert len(err.body) == 4000
    assert isinstance(err, APIError)


def test_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret("hunter2")
    logging.getLogger("t").warning("pin %s %r", s, s)
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2"
    assert pickle.loads(pickle.dumps(s)) == s
    assert Secret.coerce("a") == Secret("a") and Secret.coerce(s) is s


def test_secret_from_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CR_TEST_PIN", raising=False)
    with pytest.raises(ConfigError, match="CR_TEST_PIN"):
        Secret.from_env("CR_TEST_PIN")
    monkeypatch.setenv("CR_TEST_PIN", "9999")
    assert Secret.from_env("CR_TEST_PIN").reveal() == "9999"


def test_secret_type_check() -> None:
    with pytest.raises(TypeError):
        Secret(1234)  # type: ignore[arg-type]
