"""Outside tests of issue 13 (README "Sessions in a database"): arguments a user gets wrong,
and the errors that should name what is at fault.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

from autograms.stores import (  # noqa: E402
    StoreError,
    StoreUnavailableError,
    TurnRunner,
    open_store,
)


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_non_string_idempotency_key_works_as_its_str_or_is_a_type_error(backend, tmp_path):
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    try:
        sid = sessions.create().id
        runner.run_turn(sid, "hello", "k0")
        try:
            result = runner.run_turn(sid, "five", 5)
        except TypeError as exc:
            assert "idempotency_key" in str(exc)
        else:
            assert result.reply == "1:five"
            assert runner.run_turn(sid, "five", "5").replayed
    finally:
        store.close()


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_session_id_with_nul_is_stored_or_refused_naming_the_id(backend, tmp_path):
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    try:
        try:
            rec = sessions.create("a\x00b")
        except (ValueError, StoreError) as exc:
            assert "session" in str(exc)
        else:
            assert runner.run_turn(rec.id, "hello", "k0").reply == "ready"
    finally:
        store.close()


def test_bad_urls_are_refused_naming_the_url(tmp_path):
    for url in ("mysql://u@h/db", "sqlite://", "sqlite:///:memory:", str(tmp_path / "x.db")):
        with pytest.raises(StoreError) as info:
            open_store(url)
        assert info.value.reason == "bad url"
    with pytest.raises(StoreUnavailableError) as info:
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert "dir.db" in str(info.value)


def test_bad_policy_is_refused(tmp_path):
    store = open_store(sup.new_store_url("sqlite", tmp_path))
    try:
        with pytest.raises(ValueError, match="enqueue, reject"):
            TurnRunner(sup.echo, store, policy="Reject")
    finally:
        store.close()


def test_missing_postgres_database_is_reported_as_such():
    cluster = sup.pg_cluster()
    url = cluster.url("no_such_database_here")
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "does not exist" in str(info.value), str(info.value)


def _long_cases():
    return [
        pytest.param(backend, field, id=f"{backend}-{field}")
        for backend in sup.BACKENDS
        for field in ("owner", "session_id", "key")
    ]


@pytest.mark.parametrize("backend,field", _long_cases())
def test_long_owner_id_or_key_is_stored_or_refused_as_bad_input(backend, field, tmp_path):
    import random
    import string

    rnd = random.Random(13)
    long = "".join(rnd.choice(string.ascii_letters) for _ in range(3000))  # a JWT-sized value
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    try:
        try:
            if field == "owner":
                sid = sessions.create(owner=long).id
                assert runner.run_turn(sid, "hello", "k0", owner=long).reply == "ready"
            elif field == "session_id":
                sid = sessions.create(long).id
                assert runner.run_turn(sid, "hello", "k0").reply == "ready"
            else:
                sid = sessions.create().id
                assert runner.run_turn(sid, "hello", long).reply == "ready"
                assert runner.run_turn(sid, "hello", long).replayed
        except StoreUnavailableError as exc:
            pytest.fail(f"bad input reported as the database being down: {exc}")
        except (ValueError, StoreError) as exc:
            assert field.split("_")[-1] in str(exc)
    finally:
        store.close()
