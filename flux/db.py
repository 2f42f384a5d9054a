"""The one helper for raw read queries; SQL lives with the app that owns it."""

from typing import Any

from django.db import connection


def fetch_all(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
