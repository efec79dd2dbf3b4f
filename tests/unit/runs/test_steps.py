"""The plain runner executes a run kind's step list in order, keeps each result where the step says,
and stops after a step whose condition holds; the run kinds share their ingest and gates."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.runs import annual, monthly, multi_area
from pipeline.runs.steps import Step, run_steps, task_names


@dataclass
class Toy:
    calls: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    first: int | None = None
    pair: tuple | None = None
    left: str | None = None
    right: str | None = None
    items: list = field(default_factory=list)


def _step(name, result, **options):
    def function(run, *item):
        run.calls.append(name)
        return result(item[0]) if item else result
    return Step(name, f"{name}-task", function, **options)


def test_steps_run_in_order_keep_their_results_and_stop_when_told():
    steps = (_step("a", 1, keep="first"),
             _step("b", ("L", "R"), keep=("left", "right")),
             _step("c", lambda item: item * 2, keep="items", each=lambda run: [1, 2, 3]),
             _step("d", None, stop=lambda run: run.left == "L"),
             _step("e", None))
    run = Toy()
    run_steps(steps, run)
    assert run.calls == ["a", "b", "c", "c", "c", "d"]                  # e never ran: d stopped the run
    assert (run.first, run.left, run.right, run.items) == (1, "L", "R", [2, 4, 6])
    assert list(run.timings) == ["a", "b", "c", "d"]


def test_a_custom_call_sees_every_step_in_list_order():
    seen = []
    run_steps(annual.STEPS, Toy(), call=lambda step, run: seen.append(step.task_name))
    assert seen == task_names(annual.STEPS)


def test_each_run_kind_ingests_and_checks_with_the_same_functions():
    assert annual.STEPS[:3] == annual.BUILD_STEPS
    assert monthly.STEPS[0] is annual.INGEST_STEP
    assert [s.name for s in monthly.STEPS] == ["ingest", "build", "choose", "check", "report", "record", "publish"]
    for steps in (annual.STEPS, monthly.STEPS, multi_area.STEPS):
        names = [s.name for s in steps]
        assert len(set(names)) == len(names) and len(set(task_names(steps))) == len(steps)
