"""The collector pause around parsing and validation (clusterpolisee/gcpause.py)."""

import gc
import threading

from clusterpolisee.gcpause import paused_collection


def test_overlapping_pauses_resume_when_the_last_one_ends():
    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused_collection():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with paused_collection():
        second_in.set()
        first_out.wait(5)  # the first pause has ended while this one goes on
        seen["during"] = gc.isenabled()
    thread.join()
    assert seen["during"] is False
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_resumes():
    try:
        with paused_collection():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
