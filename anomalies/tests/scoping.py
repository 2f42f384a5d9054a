"""Which of the queries a piece of work ran read the anomaly tables without their project: on a database
distributed by project (Citus), such a read goes to every shard."""

import re

from django.test.utils import CaptureQueriesContext

TABLES = re.compile(r'FROM "(anomalies_anomaly|anomalies_watch)"')


def unscoped_reads(queries: CaptureQueriesContext) -> list[str]:
    """The SELECTs from anomalies or watches whose conditions name no project_id."""
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.startswith("SELECT") and TABLES.search(sql) and '"project_id"' not in sql.partition(" WHERE ")[2]:
            found.append(sql)
    return found
