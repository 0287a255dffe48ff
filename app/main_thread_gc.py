"""Python's cycle collector, run on Qt's main thread only.

CPython collects reference cycles in whichever thread happens to allocate
past its threshold: a paramiko reader, an executor thread. A Qt object that
dies there (a closed qasync loop's timer object, a widget's QTimer) cannot
stop its timers from that thread ("QObject::~QObject: Timers cannot be
stopped from another thread"): Qt keeps them, fires one at the freed object,
and the process dies in ``QTimerInfoList::activateTimers``. The suite's
intermittent segfault was this (tests/gui/test_main_thread_gc.py).

So the app turns automatic collection off (:func:`take_over`) and collects,
by the same thresholds, from a timer on the main thread (:func:`collect`).
Objects freed by reference counting still go where their last reference
goes; the app's worker threads hold no Qt objects.
"""

from __future__ import annotations

import gc


def take_over() -> None:
    """No more automatic collection in any thread: :func:`collect` does it."""
    gc.disable()


def collect() -> int:
    """Collect the generations whose thresholds are passed, as CPython's
    automatic collection would; call it often, on the main thread. Returns
    the number of objects found unreachable."""
    threshold0, threshold1, threshold2 = gc.get_threshold()
    count0, count1, count2 = gc.get_count()
    if threshold0 == 0 or count0 <= threshold0:  # 0: collection turned off
        return 0
    generation = 0
    if count1 > threshold1:
        generation = 2 if count2 > threshold2 else 1
    return gc.collect(generation)
