"""The collector policies: the CLI's throughput thresholds, the front ends' pause-bounded ticker
installed through their runtime policy, and a core that leaves the process's settings alone."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from explorer.gcpolicy import GC_THRESHOLDS, tune_gc
from explorer.workspace import Workspace
from explorer.workspace.runtime import PauseBoundedCollector, RuntimePolicy


class _Node:
    """A reference cycle of one object, observable through a weak reference."""

    def __init__(self) -> None:
        self.me = self


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_gc_raises_the_first_threshold(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc()
    assert gc.get_threshold() == GC_THRESHOLDS


def test_a_step_frees_young_cycles_and_freezes_the_survivors(restore_gc: None) -> None:
    collector = PauseBoundedCollector(clock=_Clock())
    gc.unfreeze()
    dead = _Node()
    dead_ref = weakref.ref(dead)
    del dead
    alive = _Node()
    collector.step()
    assert dead_ref() is None
    assert gc.get_freeze_count() > 0
    assert not any(obj is alive for obj in gc.get_objects())  # frozen objects are not listed
    assert collector.ticks == 1
    assert collector.full_passes == 0


def test_a_cycle_that_dies_while_frozen_is_freed_by_the_next_full_pass(restore_gc: None) -> None:
    clock = _Clock()
    collector = PauseBoundedCollector(clock=clock, full_min=30.0)
    node = _Node()
    ref = weakref.ref(node)
    collector.step()  # frozen while alive
    del node
    collector.step()
    assert ref() is not None  # young collections do not walk the frozen set
    clock.now += 30.0
    collector.step()  # the full pass is due
    assert ref() is None
    assert collector.full_passes == 1
    assert collector.full_freed >= 1


def test_a_step_walks_only_the_youngest_generation(restore_gc: None) -> None:
    """Objects an automatic collection already walked (now in generation 1) are frozen as
    they are: a dead cycle among them waits for the next full pass."""
    collector = PauseBoundedCollector(clock=_Clock())
    gc.unfreeze()
    node = _Node()
    ref = weakref.ref(node)
    gc.collect(0)  # as an automatic collection would: the cycle is promoted
    del node
    collector.step()
    assert ref() is not None
    assert gc.get_freeze_count() > 0
    collector.full_pass()
    assert ref() is None


def test_install_hooks_the_collector_and_uninstall_unfreezes(restore_gc: None) -> None:
    collector = PauseBoundedCollector()
    collector.install()
    try:
        assert collector.installed
        assert gc.get_threshold() == GC_THRESHOLDS
        gc.freeze()
    finally:
        collector.uninstall()
    assert not collector.installed
    assert gc.get_freeze_count() == 0


def test_a_due_full_pass_waits_while_the_user_types_and_runs_in_the_first_quiet_second(
    restore_gc: None,
) -> None:
    clock = _Clock()
    collector = PauseBoundedCollector(clock=clock, full_min=30.0, quiet=1.0)
    clock.now += 30.0  # due
    for _ in range(5):  # a key press every 0.5 s
        collector.note_input()
        collector.step()
        clock.now += 0.5
    assert collector.full_passes == 0
    clock.now += 0.5  # a full second since the last press
    collector.step()
    assert collector.full_passes == 1


def test_a_full_pass_overdue_by_full_min_runs_even_while_the_user_types(restore_gc: None) -> None:
    clock = _Clock()
    collector = PauseBoundedCollector(clock=clock, full_min=30.0, quiet=1.0)
    clock.now += 30.0  # due
    while collector.full_passes == 0 and clock.now < 100.0 + 30.0 + 31.0:
        collector.note_input()
        collector.step()
        clock.now += 0.1
    assert collector.full_passes == 1
    assert clock.now >= 100.0 + 30.0 + 30.0  # only once overdue by full_min


async def test_a_workspace_leaves_the_process_collector_settings_alone(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    callbacks = list(gc.callbacks)
    async with Workspace():
        assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.callbacks == callbacks
    assert gc.get_freeze_count() == 0


async def test_the_interactive_policy_ticks_on_the_running_loop_until_uninstalled(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    policy = RuntimePolicy.interactive()
    collector = policy.collector
    assert collector is not None
    assert gc.get_threshold() == (700, 10, 10)  # made, not yet installed: nothing changes
    policy.install()
    try:
        assert gc.get_threshold() == GC_THRESHOLDS
        await asyncio.sleep(0)  # the first tick was scheduled on this loop at install
        assert collector.ticks == 1
        assert gc.get_freeze_count() > 0
        before = collector.last_input
        policy.note_input()
        assert collector.last_input > before
    finally:
        policy.uninstall()
    assert not collector.installed
    assert gc.get_freeze_count() == 0
