"""docs/reliability.md is what the case table renders, and results are checked against it."""

from __future__ import annotations

from tests.faults.cases import CASES
from tests.faults.report import DOC, check_results, render


def test_the_committed_page_is_generated() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/reliability.md is stale: run `python -m tests.faults.report`"
    )


def test_every_case_has_a_row() -> None:
    page = render()
    assert page.count("\n| registry |") + page.count("\n| library |") == len(CASES)


def test_results_are_checked_against_the_table() -> None:
    good = {
        "cases": [
            {"case": f"{c.backend}-{c.op}-{c.id}", "exit": 0 if c.expect == "recovers" else 1,
             "seconds": 0.5, "resumed": c.resumes}
            for c in CASES
        ]
    }  # fmt: skip
    assert check_results(good) == []
    bad = {"cases": [*good["cases"][1:], {**good["cases"][0], "exit": 7, "seconds": 999.0}]}
    first = f"{CASES[0].backend}-{CASES[0].op}-{CASES[0].id}"
    assert any(problem.startswith(first) for problem in check_results(bad))
    assert check_results({"cases": good["cases"][1:]}) == [f"not run: {first}"]
