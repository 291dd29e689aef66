"""A server error is a styled page that says what to do, not Django's bare "Server Error (500)"."""

from django.test import RequestFactory
from django.views.defaults import server_error


def test_the_500_page_is_the_sites_own_page():
    page = server_error(RequestFactory().get("/")).content.decode()

    assert "countersign.css" in page and "Something broke on our side" in page
    assert "look whether it took effect" in page
