"""The bare baseline endpoint exists for the bench only: production URLs stay clean."""

import pytest
from django.urls import Resolver404, resolve


def test_production_urls_have_no_baseline_endpoint():
    with pytest.raises(Resolver404):
        resolve("/bench/baseline", urlconf="hitl_site.urls")


def test_the_bench_urls_add_the_baseline_to_the_product_urls():
    assert resolve("/bench/baseline", urlconf="bench.urls").func.__name__ == "baseline"
    assert resolve("/api/v1/actions", urlconf="bench.urls").url_name == resolve("/api/v1/actions").url_name
