"""video.read_ahead: the decode thread keeps order, hands errors over, and stops when dropped."""
import threading
import time

import pytest

from videomocap.video import read_ahead


def test_items_come_in_order_and_all_of_them():
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))


def test_an_error_in_the_reader_is_raised_after_the_items_before_it():
    def frames():
        yield 1
        yield 2
        raise ValueError("broken frame")

    got = []
    with pytest.raises(ValueError, match="broken frame"):
        for x in read_ahead(frames()):
            got.append(x)
    assert got == [1, 2]


def test_stopping_early_stops_and_closes_the_reader():
    closed = threading.Event()
    produced = []

    def frames():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    gen = read_ahead(frames(), depth=2)
    assert [next(gen) for _ in range(5)] == [0, 1, 2, 3, 4]
    gen.close()
    assert closed.wait(2.0)
    time.sleep(0.05)
    assert len(produced) <= 5 + 2 + 2  # streamed: never far ahead of the consumer
