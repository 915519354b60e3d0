"""Running many small blocking calls at once, in lanes: a bounded pool, and a limit per lane.

A sweep deletes hundreds of resources, each one or a few API calls that mostly wait for the
network; the reaper tears down dozens of sessions. One after another, the waits add up. Here
they overlap: each job names its lane (an AWS service, "sessions"...), at most `limits[lane]`
jobs of a lane are in flight at once (so that one service is not throttled into slowness),
and at most `workers` jobs in all.

`run` returns when every job has finished, with each job's result or the exception it
raised, in the order of the jobs: whoever calls it decides what a failure means.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 8  # jobs of one lane in flight, when `limits` does not name the lane
DEFAULT_WORKERS = 16  # jobs in flight in all


@dataclass(frozen=True)
class Job(Generic[T]):
    lane: str
    call: Callable[[], T]


def run(
    jobs: Sequence[Job[T]],
    limits: Mapping[str, int] | None = None,
    workers: int = DEFAULT_WORKERS,
    default_limit: int = DEFAULT_LIMIT,
) -> list[T | Exception]:
    """Run every job, at most `limits[lane]` of a lane and `workers` in all at once."""
    limits = limits or {}
    if workers <= 1 or len(jobs) <= 1:  # no thread to start: the same results, in order
        return [_outcome(job.call) for job in jobs]
    waiting: dict[str, deque[int]] = defaultdict(deque)
    for index, job in enumerate(jobs):
        waiting[job.lane].append(index)
    results: list[T | Exception | None] = [None] * len(jobs)
    in_flight: dict[Future[T | Exception], tuple[str, int]] = {}
    busy: dict[str, int] = defaultdict(int)
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="lane") as pool:
        while waiting or in_flight:
            for lane in list(waiting):  # start what the limits allow
                queue = waiting[lane]
                while queue and busy[lane] < max(1, limits.get(lane, default_limit)):
                    if len(in_flight) >= workers:
                        break
                    index = queue.popleft()
                    in_flight[pool.submit(_outcome, jobs[index].call)] = (lane, index)
                    busy[lane] += 1
                if not queue:
                    del waiting[lane]
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                lane, index = in_flight.pop(future)
                busy[lane] -= 1
                results[index] = future.result()
    return results  # type: ignore[return-value]  # every slot was filled above


def _outcome(call: Callable[[], T]) -> T | Exception:
    try:
        return call()
    except Exception as exc:  # returned, not raised: the caller decides what it means
        return exc
