"""Executors: one interface (map_unordered), failures and crashes isolated per item."""

from __future__ import annotations

import os
import time

import pytest

from lim_hw.errors import InputError
from lim_hw.sweep.executors import WorkerCrashedError, make_executor


def square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("item 3 is bad")
    return x * x


def crash_on_five(x: int) -> tuple[int, int]:
    if x == 5:
        os._exit(7)  # the worker dies: no exception, no result
    time.sleep(0.02)
    return x, os.getpid()


def _collect(ex, fn, items):
    results, errors = {}, {}
    for i, r, e in ex.map_unordered(fn, items):
        assert i not in results and i not in errors
        (errors if e is not None else results)[i] = e if e is not None else r
    return results, errors


@pytest.mark.parametrize("workers", [1, 2])
def test_local_results_and_errors(workers):
    with make_executor("local", workers=workers) as ex:
        results, errors = _collect(ex, square_or_fail, list(range(8)))
    assert results == {i: i * i for i in range(8) if i != 3}
    assert list(errors) == [3] and isinstance(errors[3], ValueError) and "item 3" in str(errors[3])


def test_local_pool_isolates_a_crashing_item():
    with make_executor("local", workers=2) as ex:
        results, errors = _collect(ex, crash_on_five, list(range(10)))
        assert set(results) == set(range(10)) - {5}
        assert list(errors) == [5] and isinstance(errors[5], WorkerCrashedError)
        # the pool is usable afterwards
        again, _ = _collect(ex, crash_on_five, [1, 2])
    assert {i: r[0] for i, r in again.items()} == {0: 1, 1: 2}


def test_stop_returns_early_and_close_stops_workers():
    with make_executor("local", workers=2) as ex:
        seen = 0
        for _ in ex.map_unordered(crash_on_five, list(range(4)) * 20):
            seen += 1
            if seen == 3:
                ex.stop()
        assert seen < 80
        procs = list(ex._pool._processes.values())
    assert all(not p.is_alive() for p in procs)


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "ray"}, "unknown executor"),
    ({"kind": "local", "workers": 0}, "positive integer"),
    ({"kind": "local", "scheduler": "tcp://127.0.0.1:8786"}, "needs the dask executor"),
    ({"kind": "dask", "scheduler": "localhost"}, "tcp://HOST:PORT"),
])
def test_bad_executor_arguments(kwargs, words):
    with pytest.raises(InputError, match=words):
        make_executor(**kwargs)


def test_unreachable_scheduler_is_an_input_error():
    ex = make_executor("dask", scheduler="tcp://127.0.0.1:9")
    ex.connect_timeout_s = 1.0
    with pytest.raises(InputError, match="cannot connect"):
        ex.start()


def _slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


@pytest.mark.parametrize("workers", [1, 2])
def test_a_generator_is_read_lazily_and_every_item_runs(workers):
    """Items of an iterable are read as worker slots free up: the first result comes back while most of
    the generator is still unread (a sweep overlaps planning with running), and every item runs once."""
    read: list[int] = []

    def items():
        for k in range(12):
            read.append(k)
            yield k

    with make_executor("local", workers=workers) as ex:
        seen = {}
        for i, r, e in ex.map_unordered(_slow_square, items()):
            assert e is None and i not in seen
            if not seen:
                n_read_at_first = len(read)
            seen[i] = r
    assert seen == {k: k * k for k in range(12)}
    # at most the window (2 x workers) plus the one read ahead; serial: the item itself
    assert n_read_at_first <= (2 * workers + 1 if workers > 1 else 1)


def test_a_generator_with_a_crashing_item_is_isolated():
    with make_executor("local", workers=2) as ex:
        results, errors = _collect(ex, crash_on_five, iter(list(range(10))))
    assert set(results) == set(range(10)) - {5}
    assert list(errors) == [5] and isinstance(errors[5], WorkerCrashedError)


def test_empty_items_start_no_pool():
    with make_executor("local", workers=2) as ex:
        assert list(ex.map_unordered(_slow_square, iter(()))) == []
        assert ex._pool is None
