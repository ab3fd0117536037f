"""The fakes stand apart: the tests and the benchmarks both import them, and they import neither."""

from __future__ import annotations

from tests.test_layers import offending


def test_the_fakes_import_nothing_of_the_tests_or_the_benchmarks():
    assert offending("fakes", "tests", "benchmarks") == {}


def test_the_benchmarks_import_nothing_of_the_tests():
    assert offending("benchmarks", "tests") == {}
