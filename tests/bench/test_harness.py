"""The harness's judgement: each figure against its target, and what a missing or broken
figure module does to the run."""

import sys
import types

import pytest

from bench.harness import FIGURES, Figure, Reading, Row, Target, measure, parse_target, percentile, selected

LATENCY = Figure("latency", "nowhere", "how", "beside", "ms", Target("<", 100))
THROUGHPUT = Figure("throughput", "nowhere", "how", "beside", "req/s", Target(">=", 0.25, on="ratio"))


def test_a_figure_under_its_limit_passes_and_one_over_it_fails():
    assert Row(LATENCY, value=99.9, target=LATENCY.target).passed is True
    assert Row(LATENCY, value=100, target=LATENCY.target).passed is False


def test_a_ratio_target_judges_the_figure_beside_its_baseline():
    row = Row(THROUGHPUT, value=30, baseline=100, target=THROUGHPUT.target)

    assert row.ratio == pytest.approx(0.3)
    assert row.passed is True
    assert Row(THROUGHPUT, value=20, baseline=100, target=THROUGHPUT.target).passed is False


def test_a_ratio_target_without_a_baseline_fails_rather_than_passes():
    assert Row(THROUGHPUT, value=30, baseline=None, target=THROUGHPUT.target).passed is False


def test_a_figure_without_target_or_value_is_neither_passed_nor_failed():
    assert Row(LATENCY, value=None, target=LATENCY.target).passed is None
    assert Row(LATENCY, value=5, target=None).passed is None


def test_an_error_fails_the_figure_whatever_its_value():
    assert Row(LATENCY, value=1, target=LATENCY.target, error="error: boom").passed is False


def test_percentile_is_a_measured_value_by_nearest_rank():
    samples = list(range(1, 101))

    assert percentile(samples, 50) == 50
    assert percentile(samples, 95) == 95
    assert percentile([7.0], 95) == 7.0


def test_a_target_override_names_a_known_figure():
    assert parse_target("inbox first page p95 < 150") == ("inbox first page p95", "<", 150.0)
    with pytest.raises(ValueError, match="known figure"):
        parse_target("no such figure < 1")


def test_every_figure_has_a_unique_name_and_selection_refuses_unknown_ones():
    assert len({f.name for f in FIGURES}) == len(FIGURES)
    assert [f.name for f in selected(["propagation"])] == ["decision propagation p50", "decision propagation p95"]
    with pytest.raises(ValueError, match="nonsense"):
        selected(["nonsense"])


def test_a_figure_module_that_does_not_exist_yet_is_skipped_with_a_note():
    notes = []

    rows = measure(None, [Figure("later", "not_written_yet", "how", "", "ms", Target("<", 1))], say=notes.append)

    assert rows[0].passed is None
    assert "does not exist yet" in rows[0].note
    assert "bench/not_written_yet.py" in notes[0]


@pytest.fixture
def figure_module(monkeypatch):
    def install(measure_function):
        module = types.ModuleType("bench.figure_for_test")
        module.measure = measure_function
        monkeypatch.setitem(sys.modules, "bench.figure_for_test", module)
        return Figure("test figure", "figure_for_test", "how", "", "ms", Target("<", 10))

    return install


def test_a_figure_module_that_raises_fails_its_figures_and_the_others_still_run(figure_module):
    def broken(stack):
        raise RuntimeError("the server answered 500")

    rows = measure(None, [figure_module(broken)], say=lambda *a, **k: None)

    assert rows[0].passed is False
    assert "the server answered 500" in rows[0].as_json()["note"]


def test_a_figure_its_module_does_not_report_fails(figure_module):
    rows = measure(None, [figure_module(lambda stack: {"something else": Reading(1)})], say=lambda *a, **k: None)

    assert rows[0].passed is False
    assert "did not report it" in rows[0].error


def test_a_reading_is_judged_against_an_overridden_target(figure_module):
    figure = figure_module(lambda stack: {"test figure": Reading(5, baseline=2, note="n")})

    [row] = measure(None, [figure], overrides={"test figure": ("<", 1)}, say=lambda *a, **k: None)

    assert row.as_json() | {"how": None} == {
        "figure": "test figure",
        "module": "bench.figure_for_test",
        "how": None,
        "unit": "ms",
        "value": 5,
        "baseline": 2,
        "baseline_is": "",
        "ratio": 2.5,
        "target": "< 1",
        "pass": False,
        "note": "n",
    }
