"""Fault tests: the end-to-end fixtures, and the suite's figures.

Each case of ``test_suite.py`` records its outcome in ``config.stash[RESULTS]``;
at the end of the run the figures (cases run, recovered, resumed, detected,
slowest case against its bound) are printed and written as JSON to
``$SREGISTRY_FAULTS_RESULTS`` (default: ``faults-results.json`` in pytest's
temporary directory). ``python -m tests.faults.report RESULTS`` checks such a
file against the case table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import as_vsoch, make_image, registry

__all__ = ["RESULTS", "as_vsoch", "make_image", "registry"]

RESULTS = pytest.StashKey[list[dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of a run's outcomes."""
    return {
        "cases": len(results),
        "recovered": sum(1 for r in results if r["expect"] == "recovers"),
        "resumed": sum(1 for r in results if r["resumed"]),
        "detected": sum(1 for r in results if r["expect"] == "detected"),
        "slowest_seconds": max((r["seconds"] for r in results), default=0.0),
        "total_seconds": round(sum(r["seconds"] for r in results), 2),
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    summary = figures(results)
    default = Path(str(config._tmp_path_factory.getbasetemp())) / "faults-results.json"  # type: ignore[attr-defined]
    target = Path(os.environ.get("SREGISTRY_FAULTS_RESULTS") or default)
    target.write_text(json.dumps({"figures": summary, "cases": results}, indent=1) + "\n")
    terminalreporter.write_line(
        "fault injection: {cases} cases, {recovered} recovered ({resumed} resumed), "
        "{detected} detected, slowest {slowest_seconds} s, {total_seconds} s in all".format(
            **summary
        )
        + f"; results in {target}"
    )
