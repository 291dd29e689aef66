"""`python -m bench` end to end at the smallest scale, on one cheap figure: its own PostgreSQL
and Redis, a fresh database, the table, the JSON, and the exit status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def run_bench(tmp_path, *args):
    env = {key: value for key, value in os.environ.items() if key != "HITL_RUN_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "tiny", "--results", str(tmp_path / "results.json")]
        + ["--run-dir", str(tmp_path / "run"), *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def impossible_run(tmp_path_factory):
    """The inbox figure with a query-count target no page can meet."""
    tmp_path = tmp_path_factory.mktemp("bench")
    finished = run_bench(tmp_path, "--only", "inbox_page", "--target", "inbox first page queries < 0")
    return finished, json.loads((tmp_path / "results.json").read_text())


def test_a_figure_that_misses_its_target_makes_the_bench_exit_non_zero(impossible_run):
    finished, results = impossible_run

    assert finished.returncode == 1, finished.stderr
    assert results["passed"] is False
    queries = next(f for f in results["figures"] if f["figure"] == "inbox first page queries")
    assert queries["target"] == "ratio < 0"
    assert queries["pass"] is False
    assert "FAIL" in finished.stdout


def test_the_results_name_each_figure_with_its_value_baseline_ratio_and_target(impossible_run):
    _, results = impossible_run

    assert set(results) == {"scale", "started_at", "seconds", "machine", "passed", "figures"}
    assert results["scale"] == "tiny"
    assert set(results["machine"]) >= {"cpus", "cpu_model", "memory_gb", "postgresql"}
    assert [f["figure"] for f in results["figures"]] == ["inbox first page p95", "inbox first page queries"]
    for figure in results["figures"]:
        assert set(figure) == {
            "figure",
            "module",
            "how",
            "unit",
            "value",
            "baseline",
            "baseline_is",
            "ratio",
            "target",
            "pass",
            "note",
        }
        assert figure["value"] > 0 and figure["baseline"] > 0
        assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline"])
    page = results["figures"][0]
    assert page["note"].startswith("50 pending")


def test_the_bench_refuses_an_unknown_figure_before_starting_anything(tmp_path):
    finished = run_bench(tmp_path, "--only", "nonsense")

    assert finished.returncode == 2
    assert "no figure or module called nonsense" in finished.stderr
    assert not (tmp_path / "run").exists()


def test_a_figure_measured_in_a_database_of_its_own_leaves_the_next_one_on_the_benchs(tmp_path):
    """The sweep runs in a throwaway database; routing, after it, must find the bench's again."""
    finished = run_bench(tmp_path, "--only", "sweep", "--only", "routing")
    results = json.loads((tmp_path / "results.json").read_text())

    assert finished.returncode == 0, finished.stdout + finished.stderr
    figures = {f["figure"]: f for f in results["figures"]}
    assert figures["SLA sweep of 10,000"]["note"].startswith("200 overdue actions")
    assert figures["routing p95, 20 rules"]["value"] > 0
    assert "error" not in figures["routing p95, 20 rules"]["note"]
