"""The one CSV writer (jappanel/web/csv.py): safe cells, and a file that is whole or visibly broken."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from jappanel.web import csv as web_csv
from jappanel.web.csv import CsvExportAborted, csv_cell, csv_response

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil.example","x")']


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_a_spreadsheet_would_run_is_written_as_text(text):
    assert csv_cell(text) == "'" + text
    response = csv_response(filename="x.csv", header=["cell"], rows=[[text]])
    assert rows_of(response.content.decode()) == [["cell"], ["'" + text]]


def test_numbers_stay_numbers_and_plain_text_is_untouched():
    assert [csv_cell(value) for value in (Decimal("-12.50"), -3, 0, Decimal("1E+3"), None)] == [
        Decimal("-12.50"),
        -3,
        0,
        Decimal("1E+3"),
        "",
    ]
    assert csv_cell("https://instagram.com/p/a") == "https://instagram.com/p/a"
    assert csv_cell("Spring sale - week 1") == "Spring sale - week 1"
    # The same characters typed as text are text: a spreadsheet cannot tell them from a formula.
    assert csv_cell("-12.50") == "'-12.50"
    response = csv_response(filename="x.csv", header=["amount"], rows=[[Decimal("-12.50")]])
    assert response.content.decode() == "amount\r\n-12.50\r\n"


def test_a_small_export_is_sent_whole_with_its_length_and_name():
    response = csv_response(filename="orders.csv", header=["a", "b"], rows=[[1, "x"], [2, "y"]])
    assert not response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    assert rows_of(response.content.decode()) == [["a", "b"], ["1", "x"], ["2", "y"]]


def failing_at(number: int, total: int) -> Iterator[list[object]]:
    """`total` rows, the `number`th of which cannot be read (as a broken database row raises)."""
    for n in range(1, total + 1):
        if n == number:
            raise ArithmeticError("a stored value does not fit its column")
        yield [n]


def test_a_row_that_cannot_be_rendered_in_a_small_export_gives_an_error_page_and_no_file(caplog):
    with caplog.at_level(logging.ERROR, logger="jappanel.web.csv"):
        response = csv_response(filename="orders.csv", header=["n"], rows=failing_at(3, 5))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert "Content-Disposition" not in response
    assert response.content.decode() == (
        "The export orders.csv failed: the rows from row 3 on could not be read. "
        "Nothing was downloaded; the error is in the server log.\n"
    )
    assert "row 3" in caplog.text and "ArithmeticError" in caplog.text


def test_a_row_that_cannot_be_rendered_in_a_streamed_export_aborts_the_download(monkeypatch, caplog):
    monkeypatch.setattr(web_csv, "BATCH_ROWS", 2)
    response = csv_response(filename="orders.csv", header=["n"], rows=failing_at(6, 9))
    assert response.status_code == 200 and response.streaming
    received: list[str] = []
    with caplog.at_level(logging.ERROR, logger="jappanel.web.csv"), pytest.raises(CsvExportAborted):
        for chunk in response.streaming_content:
            received.append(chunk.decode())
    *rows, last = rows_of("".join(received))
    # Every row before the broken one was sent, then the file says it is incomplete; the stream
    # then raises into the server, which drops the connection instead of ending the file.
    assert rows == [["n"], ["1"], ["2"], ["3"], ["4"], ["5"]]
    assert last == [
        "EXPORT FAILED: orders.csv is incomplete: the rows from row 6 on could not be read. "
        "The error is in the server log."
    ]
    assert "row 6" in caplog.text and "ArithmeticError" in caplog.text


def test_a_long_export_without_failures_streams_every_row(monkeypatch):
    monkeypatch.setattr(web_csv, "BATCH_ROWS", 2)
    response = csv_response(filename="orders.csv", header=["n"], rows=([n] for n in range(1, 8)))
    assert response.streaming
    assert rows_of(response.getvalue().decode()) == [["n"], *[[str(n)] for n in range(1, 8)]]
