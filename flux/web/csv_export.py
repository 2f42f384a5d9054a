"""CSV downloads, streamed row by row: RFC 4180 quoting by the csv module, plus a guard against spreadsheet
formulas (a text cell starting with = + - @ or a control character gets a leading apostrophe, as OWASP
advises), since exports are opened in Excel or Sheets. Numbers are written as they are."""

import csv
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

LINES_PER_HOP = 500
CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, "A CSV file (UTF-8, comma-separated, RFC 4180 quoting).")

FORMULA_START = re.compile(r"^[=+\-@\t\r]")


class _Line:
    """What csv.writer writes to: hands back each line instead of storing it."""

    def write(self, text: str) -> str:
        return text


def safe_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def max_rows() -> int:
    return settings.FLUX_CSV_MAX_ROWS


async def async_lines(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines of a sync iterator (which queries the database) for an ASGI server: Django would otherwise
    read a sync iterator whole into memory before sending a byte. Lines are produced in the sync thread,
    LINES_PER_HOP at a time."""
    take = sync_to_async(lambda: list(itertools.islice(lines, LINES_PER_HOP)))
    while batch := await take():
        for line in batch:
            yield line


def csv_response(
    request: HttpRequest, filename: str, header: list[str], rows: Iterable[Iterable[object]], truncated: bool = False
) -> StreamingHttpResponse:
    """A streamed CSV attachment; `X-Flux-Truncated: true` says rows beyond FLUX_CSV_MAX_ROWS were left out."""
    lines = csv_lines(header, rows)
    under_asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    content = async_lines(lines) if under_asgi else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Flux-Max-Rows"] = str(max_rows())
    response["X-Flux-Truncated"] = "true" if truncated else "false"
    response["Cache-Control"] = "no-store"
    return response


def filename_part(text: str) -> str:
    """A name safe in a Content-Disposition header and on any file system."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "export"
