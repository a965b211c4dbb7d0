"""The soft phase's worker count follows the memory rule of ``solver.solve.soft_workers``: large models
get fewer CP-SAT workers, one of them full-problem (each holds a copy of the model); other searches
and small models keep every worker and CP-SAT's default portfolio."""

from __future__ import annotations

from solver.demo import generate_demo
from solver.solve import LARGE_SOFT_MODEL, LARGE_SOFT_WORKERS, SolveOptions, _Solver, soft_workers


def test_soft_workers_rule() -> None:
    assert soft_workers(45_000, 8) == (8, 0)
    assert soft_workers(LARGE_SOFT_MODEL, 8) == (8, 0)
    assert soft_workers(LARGE_SOFT_MODEL + 1, 8) == (LARGE_SOFT_WORKERS, 1)
    # Never more workers than asked for.
    assert soft_workers(LARGE_SOFT_MODEL + 1, 2) == (2, 1)


def test_parameters_per_mode() -> None:
    school = generate_demo(60, 1)
    solver = _Solver(school, SolveOptions(), None, None)
    large = LARGE_SOFT_MODEL + 1
    soft_large = solver.parameters(10, "soft", large).parameters
    assert (soft_large.num_workers, soft_large.num_full_subsolvers) == (LARGE_SOFT_WORKERS, 1)
    soft_small = solver.parameters(10, "soft", 1_000).parameters
    assert (soft_small.num_workers, soft_small.num_full_subsolvers) == (8, 0)
    # Finding a first complete timetable always keeps every worker.
    assert solver.parameters(10, "find", large).parameters.num_workers == 8
    assert solver.parameters(10, "place", large).parameters.num_workers == 8
    deterministic = _Solver(school, SolveOptions(deterministic=True), None, None)
    assert deterministic.parameters(10, "soft", large).parameters.num_workers == 1
