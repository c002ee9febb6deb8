import json
import multiprocessing as mp
import os
import signal
import time

import pytest

from gxapp import cache
from gxapp.errors import CacheError


def test_key_is_stable_and_sensitive():
    a = cache.make_key("x", {"a": 1, "b": [1, 2]})
    assert a == cache.make_key("x", {"b": [1, 2], "a": 1})  # order of dict keys does not matter
    assert a != cache.make_key("x", {"a": 2, "b": [1, 2]})
    assert a != cache.make_key("y", {"a": 1, "b": [1, 2]})
    assert a != cache.make_key("x", {"a": 1, "b": [1, 2]}, version="other")
    assert len(a) == 32 and int(a, 16) >= 0


def test_write_publishes_atomically_with_provenance(tmp_path):
    st = cache.Store("things", tmp_path)
    key = cache.make_key("t", 1)
    assert not st.exists(key)
    st.write(key, lambda d: (d / "data.txt").write_text("hello"), cache.provenance(seed=3))
    assert st.exists(key)
    assert (st.path(key) / "data.txt").read_text() == "hello"
    meta = st.read_meta(key)
    assert meta["seed"] == 3 and meta["key"] == key and meta["gxapp"]
    assert [m["key"] for m in st.list()] == [key]
    st.delete(key)
    assert not st.exists(key) and st.list() == []


def test_failed_writer_leaves_nothing(tmp_path):
    st = cache.Store("things", tmp_path)
    key = cache.make_key("t", 2)

    def bad(d):
        (d / "half.bin").write_bytes(b"x" * 100)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        st.write(key, bad, {})
    assert not st.exists(key)
    assert list(st.dir.iterdir()) == []


def _slow_writer(root, key):
    st = cache.Store("things", root)

    def w(d):
        (d / "part.bin").write_bytes(b"x" * 1000)
        time.sleep(60)

    st.write(key, w, {})


def test_killed_writer_leaves_no_entry_and_is_swept(tmp_path):
    key = cache.make_key("t", 3)
    p = mp.get_context("fork").Process(target=_slow_writer, args=(tmp_path, key))
    p.start()
    st = cache.Store("things", tmp_path)
    for _ in range(100):
        if st.dir.exists() and any(st.dir.glob(".tmp-*")):
            break
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert not st.exists(key)
    assert st.keys() == []
    assert st.sweep(older_than=0) == 1
    assert list(st.dir.iterdir()) == []


def test_unreadable_meta_is_a_cache_error(tmp_path):
    st = cache.Store("things", tmp_path)
    key = cache.make_key("t", 4)
    st.write(key, lambda d: None, {})
    (st.path(key) / "meta.json").write_text("{not json")
    with pytest.raises(CacheError, match="unreadable"):
        st.read_meta(key)
    assert st.list() == []


@pytest.mark.parametrize("key", ["../../etc", "", "ABCDEF", "0a/1b"], ids=["traversal", "empty", "upper-hex", "slash"])
def test_non_hex_key_is_a_cache_error(tmp_path, key):
    with pytest.raises(CacheError, match="not a hex key"):
        cache.Store("things", tmp_path).path(key)


def test_second_writer_of_same_key_is_harmless(tmp_path):
    st = cache.Store("things", tmp_path)
    key = cache.make_key("t", 5)
    st.write(key, lambda d: (d / "a").write_text("1"), {"n": 1})
    st.write(key, lambda d: (d / "a").write_text("1"), {"n": 2})
    assert json.loads((st.path(key) / "meta.json").read_text())["n"] == 1
    assert [p.name for p in st.dir.iterdir()] == [key]
