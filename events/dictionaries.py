"""The ids raw events carry for their name and tag set (events/sql.py), cached per process.

A batch's names and tag sets are looked up in the process's cache; what it misses is inserted-or-selected
in one statement for both dictionaries, safe against concurrent batches (ON CONFLICT DO NOTHING, then a
select of what a concurrent transaction committed meanwhile). Entries are immutable and ids never reused,
so a cached id stays right for as long as the project exists.
"""

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.db.backends.utils import CursorWrapper

from events.sql import ENSURE_ENTRIES, EVENTS_TABLE, SELECT_ENTRIES

Entries = dict[tuple[int, str], int]


class DictionaryCache:
    """(project_id, name) and (project_id, tag set JSON as sent) to ids, up to MAX_ENTRIES each."""

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self.names: Entries = {}
        self.tag_sets: Entries = {}

    def remember(self, project_id: int, names: dict[str, int], tag_sets: dict[str, int]) -> None:
        for entries, found in ((self.names, names), (self.tag_sets, tag_sets)):
            if len(entries) + len(found) > self.MAX_ENTRIES:
                entries.clear()  # rare; a high-cardinality project would otherwise grow it without bound
            entries.update({(project_id, key): entry_id for key, entry_id in found.items()})


cache = DictionaryCache()


def cached(entries: Entries, project_id: int, keys: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    found, missed = {}, []
    for key in keys:
        entry_id = entries.get((project_id, key))
        if entry_id is None:
            missed.append(key)
        else:
            found[key] = entry_id
    return found, sorted(missed)  # sorted: concurrent batches lock new entries in the same order


def encode(
    cursor: CursorWrapper, project_id: int, names: Iterable[str], tag_sets: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """The ids of these names and tag sets (JSON text of objects of strings, as sent), creating the entries
    the project has not had: no query when the process has seen them all, else one (rarely two)."""
    name_ids, missed_names = cached(cache.names, project_id, names)
    tag_set_ids, missed_sets = cached(cache.tag_sets, project_id, tag_sets)
    if not missed_names and not missed_sets:
        return name_ids, tag_set_ids
    params = {"project": project_id, "names": missed_names, "tag_sets": missed_sets}
    cursor.execute(ENSURE_ENTRIES, params)
    stored: dict[str, dict[str, int]] = {"name": {}, "tags": {}}
    for kind, key, entry_id in cursor.fetchall():
        stored[kind][key] = entry_id
    late_names = [name for name in missed_names if name not in stored["name"]]
    late_sets = [text for text in missed_sets if text not in stored["tags"]]
    if late_names or late_sets:  # committed by a concurrent transaction after this statement's snapshot
        cursor.execute(SELECT_ENTRIES, {"project": project_id, "names": late_names, "tag_sets": late_sets})
        for kind, key, entry_id in cursor.fetchall():
            stored[kind][key] = entry_id
    # Remembered once committed (at once outside a transaction): a rolled-back entry must not be cached.
    transaction.on_commit(partial(cache.remember, project_id, stored["name"], stored["tags"]))
    name_ids.update(stored["name"])
    tag_set_ids.update(stored["tags"])
    return name_ids, tag_set_ids


# Autovacuum's own threshold for ANALYZE (50 rows + 10%), checked by the rollup job each run: raw queries
# join the dictionaries through the view, and with stale statistics (a new dictionary looks empty) the
# planner scans a dictionary once per raw row instead of hashing it once. Autovacuum gets there too,
# but on a busy server it can take many minutes.
STALE_DICTIONARIES = """
    SELECT stats.relname FROM pg_stat_user_tables stats JOIN pg_class class ON class.oid = stats.relid
    WHERE stats.relid = ANY(%s::regclass[]) AND stats.n_mod_since_analyze > 50 + 0.1 * greatest(class.reltuples, 0)
"""


def analyze_stale_dictionaries(cursor: CursorWrapper) -> list[str]:
    """ANALYZE the dictionaries that grew past autovacuum's threshold since their last ANALYZE; returns them."""
    cursor.execute(STALE_DICTIONARIES, [list(EVENTS_TABLE.dictionaries)])
    stale = [name for (name,) in cursor.fetchall()]
    for name in stale:
        cursor.execute(f"ANALYZE {name}")
    return stale
