"""The stage helpers of hardneg.io that run work off the caller's thread: ``ahead`` (the
mine job's second thread) and ``BackgroundFile`` (its writer thread)."""

from __future__ import annotations

import threading
import time

import pytest

from hardneg.io import BackgroundFile, ahead


def test_ahead_yields_every_item_in_order_from_another_thread():
    threads = []

    def items():
        for i in range(50):
            threads.append(threading.current_thread())
            yield i

    assert list(ahead(items(), depth=3)) == list(range(50))
    assert set(threads) == {threads[0]} and threads[0] is not threading.current_thread()


def test_an_error_in_the_thread_is_raised_where_its_item_would_have_come():
    def items():
        yield 1
        yield 2
        raise KeyError("bad run")

    got = []
    with pytest.raises(KeyError, match="bad run"):
        for x in ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_a_caller_that_stops_early_stops_the_thread():
    made = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    for x in ahead(items(), depth=2):
        if x == 3:
            break
    time.sleep(0.3)
    assert len(made) <= 3 + 2 + 2  # what was asked, the queue, and the item in hand
    assert not [t for t in threading.enumerate() if t.name == "ahead"]


def test_background_file_writes_in_order_and_syncs(tmp_path):
    path = tmp_path / "out.bin"
    f = BackgroundFile(path, in_flight=2, sync_bytes=1000)
    chunks = [bytes([i]) * (300 + i) for i in range(40)]
    for c in chunks:
        f.write(memoryview(c))
    f.close()
    assert path.read_bytes() == b"".join(chunks)


def test_background_file_raises_a_failed_write_on_close(tmp_path):
    f = BackgroundFile(tmp_path / "out.bin")
    f.write("not bytes")  # the thread's write fails
    with pytest.raises(TypeError):
        f.close()
