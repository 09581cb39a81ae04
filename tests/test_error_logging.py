"""With DEBUG off, server errors are logged (to stderr, by the handler LOGGING configures)."""

from __future__ import annotations

import io
import logging

import pytest
from django.urls import path


def failing_view(request):
    raise RuntimeError("the view failed on purpose")


urlpatterns = [path("boom/", failing_view)]


def _request_error_handler() -> logging.Handler:
    return next(h for h in logging.getLogger("django.request").handlers if h.name == "errors")


def _get_with_handler_output(client, url: str) -> tuple[int, str]:
    """Request ``url`` as a real server would answer it; return the status and what the
    configured handler wrote."""
    handler = _request_error_handler()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        client.raise_request_exception = False
        response = client.get(url)
    finally:
        handler.setStream(previous)
    return response.status_code, stream.getvalue()


@pytest.mark.urls(__name__)
def test_server_error__debug_off__logged_with_its_traceback(client, settings):
    settings.DEBUG = False

    status, logged = _get_with_handler_output(client, "/boom/")

    assert status == 500
    assert "ERROR django.request: Internal Server Error: /boom/" in logged
    assert "RuntimeError: the view failed on purpose" in logged


@pytest.mark.urls(__name__)
def test_server_error__debug_on__left_to_djangos_console_handler(client, settings):
    settings.DEBUG = True

    status, logged = _get_with_handler_output(client, "/boom/")

    assert status == 500
    assert logged == ""


def test_errors_handler__writes_to_stderr_at_error_level():
    handler = _request_error_handler()

    assert isinstance(handler, logging.StreamHandler)
    assert handler.level == logging.ERROR
    assert logging.getLogger("django.security").handlers == [handler]
