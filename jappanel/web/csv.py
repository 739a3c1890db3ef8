"""The one CSV writer of every export: cells a spreadsheet will not run as formulas, and a
download that is either whole or visibly broken, never silently short."""

from __future__ import annotations

import csv
import logging
import traceback
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse

logger = logging.getLogger(__name__)

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets
# (OWASP, "CSV Injection"): a link or a name someone typed could run when the file is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows rendered before any of them is sent: an export this long or shorter is sent whole, with
# its length; a longer one is streamed one rendered batch at a time.
BATCH_ROWS = 1000
CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: object) -> object:
    """`value` as one cell that no spreadsheet will run.

    Text starting like a formula gets a single quote in front, as OWASP recommends: the
    spreadsheet shows it as text. Numbers stay numbers: an `int` or a `Decimal` is written as
    Python writes it ("-12.50", "1E+3"), which every spreadsheet reads as a number, never as a
    formula, so a refund or a negative balance stays something one can add up. The same
    characters in a text field ("-12.50" typed as a campaign name) are text and get the quote.
    """
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CsvRowFailed(Exception):
    """The rows from `number` on (1 = the first after the header) could not be read or rendered;
    `rendered` holds the rows before it that were not sent yet.

    "From `number` on": a database reads rows in fetches, and one value it cannot convert fails
    its whole fetch, so the broken row may be a little after `number`; nothing after it is read.
    """

    def __init__(self, number: int, rendered: str) -> None:
        super().__init__(f"the rows from row {number} on could not be read")
        self.number = number
        self.rendered = rendered


class CsvExportAborted(Exception):
    """Raised into the WSGI server after part of a file was sent, so that it drops the
    connection and the client sees a broken download instead of a complete-looking short file."""


class _Lines:
    """A file-like sink for csv.writer that hands back what was written since the last take()."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        self._parts.append(text)

    def take(self) -> str:
        text, self._parts = "".join(self._parts), []
        return text


def _batches(header: Sequence[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file as text, BATCH_ROWS rendered rows at a time (the header in the first batch)."""
    lines = _Lines()
    writer = csv.writer(lines)
    writer.writerow([csv_cell(name) for name in header])
    written = 0
    source = iter(rows)
    try:
        for row in source:
            writer.writerow([csv_cell(value) for value in row])
            written += 1
            if written % BATCH_ROWS == 0:
                yield lines.take()
    except Exception as exc:
        # Reading the next row (a value the database driver cannot convert) or rendering it.
        raise CsvRowFailed(written + 1, lines.take()) from exc
    finally:
        # A database cursor behind `rows` is released now, not whenever it is collected
        # (after a failure, or when the client hangs up).
        if hasattr(source, "close"):
            source.close()
    if text := lines.take():
        yield text


def _failure_line(filename: str, failure: CsvRowFailed) -> str:
    lines = _Lines()
    csv.writer(lines).writerow(
        [f"EXPORT FAILED: {filename} is incomplete: {failure}. The error is in the server log."]
    )
    return lines.take()


def _report(filename: str, failure: CsvRowFailed, outcome: str) -> None:
    logger.error("CSV export %s: %s; %s", filename, failure, outcome, exc_info=failure)
    # The tracebacks hold the frames of the database iterator and, through them, its open cursor:
    # release them now, while the connection is open, not at some later garbage collection.
    for error in (failure, failure.__cause__):
        if error is not None:
            traceback.clear_frames(error.__traceback__)


def _stream(filename: str, sent: list[str], batches: Iterator[str]) -> Iterator[str]:
    yield from sent
    try:
        yield from batches
    except CsvRowFailed as failure:
        _report(filename, failure, "the download was aborted")
        # The rows up to the broken one, then, for a client that cannot tell a dropped connection
        # from the end of the file (HTTP/1.0 through a proxy), a last line that says so.
        yield failure.rendered + _failure_line(filename, failure)
        raise CsvExportAborted(f"{filename}: {failure}") from failure


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Iterable[object]]
) -> HttpResponseBase:
    """`header` and `rows` as a CSV download named `filename`: every row, or a loud failure.

    Rows are rendered in batches of BATCH_ROWS before they are sent. An export of one batch is
    sent whole, with its length. A longer one is streamed, its first two batches rendered before
    the answer starts. When a row in those cannot be read or rendered, the answer is a plain
    error page (500) that says which, and no file; when a later row fails, the file ends with a
    line that says so and the stream is aborted (CsvExportAborted), so the download shows as
    failed instead of ending quietly at that row. Every failure is logged with its cause.
    """
    batches = _batches(header, rows)
    try:
        sent = [next(batches)]  # the header at least
        if (following := next(batches, None)) is not None:
            sent.append(following)
    except CsvRowFailed as failure:
        _report(filename, failure, "nothing was sent")
        return HttpResponse(
            f"The export {filename} failed: {failure}. Nothing was downloaded; the error is in the "
            "server log.\n",
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    if following is None:
        response: HttpResponseBase = HttpResponse(sent[0], content_type=CONTENT_TYPE)
    else:
        response = StreamingHttpResponse(_stream(filename, sent, batches), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
