"""Console users on their own: creating (rules named by field), signing in (scrypt, constant-time compare,
unknown users cost the same), locking after repeated failures (in the store, so on both backends), sessions
kept hashed in the store with a server-side end, disabling a user ending its sessions at once, the slowdown
of an address whose sign-ins keep failing, and the cookies' flags."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from service_support import PASSWORD, Service, running_service
from test_console import Browserless, csrf_of, sign_in

from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.core.errors import StoreError, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store import ConsoleSessionRecord, Store, open_store
from cr_einvoice.service.console.sessions import Sessions
from cr_einvoice.service.settings import ServiceSettings
from cr_einvoice.service.users import FIRST_LOCK, FREE_FAILURES, MAX_LOCK, ConsoleUsers
from cr_einvoice.testing.pgserver import PgServer


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        location = str(tmp_path / "outbox.db")
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        location = server.create_database()
    opened = open_store(location, create=True)
    yield opened
    opened.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_users_are_created_with_a_scrypt_hash_and_checked_rules(store: Store) -> None:
    users = ConsoleUsers(store)
    created = users.create("  Ana.Mora ", EMISOR, Secret(PASSWORD), "Ana Mora")
    assert created.username == "ana.mora" and created.emisor == EMISOR and created.active
    assert created.password_hash.startswith("scrypt$") and PASSWORD not in created.password_hash
    assert PASSWORD not in repr(created) and "scrypt" not in repr(created)
    with pytest.raises(StoreError, match=r"'ana\.mora' already exists"):
        users.create("ana.mora", EMISOR, Secret(PASSWORD))
    with pytest.raises(ValidationError) as refused:
        users.create("a", "12", Secret("corta"), "x" * 101)
    assert {p.path for p in refused.value.problems} == {"username", "emisor", "password", "name"}
    assert PASSWORD not in str(refused.value)


def test_sign_in_checks_the_password_and_locks_after_repeated_failures(store: Store) -> None:
    clock = Clock()
    users = ConsoleUsers(store, clock=clock)
    users.create("ana.mora", EMISOR, Secret(PASSWORD))
    good = users.sign_in("ANA.MORA", Secret(PASSWORD))
    assert good.user is not None and good.user.username == "ana.mora"
    assert users.sign_in("nadie", Secret(PASSWORD)).user is None
    for attempt in range(1, FREE_FAILURES):
        failed = users.sign_in("ana.mora", Secret(PASSWORD + "?"))
        assert failed.user is None and failed.locked_until is None, attempt
    locked = users.sign_in("ana.mora", Secret("otra cosa"))
    assert locked.user is None and locked.locked_until == clock.now + FIRST_LOCK
    # Locked: even the right password is refused, without being checked.
    clock.now += FIRST_LOCK - timedelta(seconds=1)
    assert users.sign_in("ana.mora", Secret(PASSWORD)).locked_until == locked.locked_until
    # After the lock, one more failure locks twice as long; the right password signs in and forgets.
    clock.now += timedelta(seconds=2)
    again = users.sign_in("ana.mora", Secret("otra cosa"))
    assert again.locked_until == clock.now + 2 * FIRST_LOCK
    clock.now += 2 * FIRST_LOCK
    assert users.sign_in("ana.mora", Secret(PASSWORD)).user is not None
    after = store.get_console_user("ana.mora")
    assert after is not None and (after.failed_logins, after.locked_until) == (0, None)
    assert after.last_login_at == clock.now
    # The lock never grows past MAX_LOCK.
    for _ in range(FREE_FAILURES + 12):
        clock.now += MAX_LOCK
        last = users.sign_in("ana.mora", Secret("otra cosa"))
    assert last.locked_until == clock.now + MAX_LOCK


def test_disabled_users_cannot_sign_in_and_their_sessions_end(store: Store) -> None:
    users = ConsoleUsers(store)
    record = users.create("ana.mora", EMISOR, Secret(PASSWORD))
    sessions = Sessions(store, 3600)
    session = sessions.open(record)
    assert sessions.get(session.token) == session
    stored = store.get_console_session(hashlib.sha256(session.token.encode()).hexdigest())
    assert stored is not None and stored.username == "ana.mora"  # only the token's hash is kept
    assert users.disable("ana.mora").disabled_at is not None
    assert sessions.get(session.token) is None
    assert users.sign_in("ana.mora", Secret(PASSWORD)).user is None
    with pytest.raises(StoreError, match="no console user 'nadie'"):
        users.disable("nadie")


def test_a_new_password_lifts_the_lock_and_ends_the_sessions(store: Store) -> None:
    clock = Clock()
    users = ConsoleUsers(store, clock=clock)
    record = users.create("ana.mora", EMISOR, Secret(PASSWORD))
    session = Sessions(store, 3600, clock=clock).open(record)
    for _ in range(FREE_FAILURES):
        users.sign_in("ana.mora", Secret("otra cosa"))
    assert users.sign_in("ana.mora", Secret(PASSWORD)).locked_until is not None
    with pytest.raises(ValidationError, match="password"):
        users.set_password("ana.mora", Secret("corta"))
    users.set_password("Ana.Mora", Secret("una clave nueva y larga"))
    assert Sessions(store, 3600, clock=clock).get(session.token) is None
    assert users.sign_in("ana.mora", Secret(PASSWORD)).user is None
    assert users.sign_in("ana.mora", Secret("una clave nueva y larga")).user is not None
    users.disable("ana.mora")
    assert users.sign_in("ana.mora", Secret("una clave nueva y larga")).user is None
    assert users.enable("ana.mora").active
    assert users.sign_in("ana.mora", Secret("una clave nueva y larga")).user is not None


def test_sessions_end_when_the_server_says(store: Store) -> None:
    clock = Clock()
    record = ConsoleUsers(store).create("ana.mora", EMISOR, Secret(PASSWORD))
    sessions = Sessions(store, 60, clock=clock)
    session = sessions.open(record)
    assert session.csrf_ok(session.csrf) and not session.csrf_ok("x" * 64) and not session.csrf_ok(None)
    assert session.csrf != sessions.open(record).csrf
    clock.now += timedelta(seconds=59)
    assert sessions.get(session.token) is not None
    clock.now += timedelta(seconds=1)
    assert sessions.get(session.token) is None  # ended, and forgotten
    assert store.get_console_session(hashlib.sha256(session.token.encode()).hexdigest()) is None
    for junk in (None, "", "x", "../" * 20, "a" * 43 + "\n"):
        assert sessions.get(junk) is None


def test_an_account_locks_over_http(service: Service) -> None:
    ConsoleUsers(service.box.runtime.store).create("carla.lock", EMISOR, Secret(PASSWORD))
    with Browserless(service.url) as client:
        for _ in range(FREE_FAILURES - 1):
            assert sign_in(client, "carla.lock", "no es esta clave").status_code == 401
        locked = sign_in(client, "carla.lock", "tampoco es esta")
        assert locked.status_code == 429 and "bloqueada" in locked.text
        right = sign_in(client, "carla.lock", PASSWORD)
        assert right.status_code == 429 and "cre_session" not in right.headers.get("set-cookie", "")


def test_disabling_a_user_ends_its_console_session_at_once(service: Service) -> None:
    users = ConsoleUsers(service.box.runtime.store)
    users.create("dora.sale", EMISOR, Secret(PASSWORD))
    with Browserless(service.url) as client:
        assert sign_in(client, "dora.sale").status_code == 303
        assert client.get("/console/comprobantes").status_code == 200
        users.disable("dora.sale")
        gone = client.get("/console/comprobantes")
        assert gone.status_code == 303 and gone.headers["location"] == "/console/entrar"


def test_an_expired_session_cookie_is_refused(service: Service) -> None:
    store = service.box.runtime.store
    token = "t" * 43
    now = datetime.now(UTC)
    digest = hashlib.sha256(token.encode()).hexdigest()
    store.open_console_session(
        ConsoleSessionRecord(digest, service.user, EMISOR, now - timedelta(hours=9), now - timedelta(hours=1))
    )
    with Browserless(service.url) as client:
        client.jar["cre_session"] = token
        assert client.get("/console/comprobantes").status_code == 303


def test_an_address_that_keeps_failing_is_slowed_down(box: LocalSandbox) -> None:
    settings = ServiceSettings(login_failures_per_minute=3, secure_cookies=False)
    with running_service(box, settings) as service, Browserless(service.url) as client:
        form = client.get("/console/entrar")
        cookie = next(v for k, v in form.headers.multi_items() if k == "set-cookie")
        assert "secure" not in cookie.lower() and "httponly" in cookie.lower()  # plain http, told so
        # Behind a TLS proxy on loopback (uvicorn trusts its X-Forwarded-Proto): Secure all the same.
        behind = client.get("/console/entrar", headers={"X-Forwarded-Proto": "https"})
        cookie = next(v for k, v in behind.headers.multi_items() if k == "set-cookie")
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}
        for username in ("ana.mora", "nadie", "beto@otra"):
            assert sign_in(client, username, "mal").status_code == 401
        slowed = sign_in(client, service.user)  # even the right password waits
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
        assert "Demasiados intentos" in slowed.text
        assert "csrf" in form.text and csrf_of(form.text)
