"""The scan rewrites each watch's cached history and carry at every scan (18 KB and 11 KB for a
five-minute series). pglz, PostgreSQL's default, spends about a millisecond a row compressing the
history and trying to compress the carry, which does not compress: lz4 is several times faster, and
without it (a server built without lz4) the two are stored uncompressed. Values stored before keep
their compression and stay readable; Citus accepts SET COMPRESSION on distributed tables, not SET
STORAGE, so a server without lz4 there keeps the default."""

from django.db import migrations

CACHE_STORAGE = """
DO $$
DECLARE
    cache text;
BEGIN
    FOREACH cache IN ARRAY ARRAY['history', 'carry'] LOOP
        BEGIN
            EXECUTE format('ALTER TABLE anomalies_watch ALTER COLUMN %I SET COMPRESSION lz4', cache);
        EXCEPTION WHEN feature_not_supported THEN
            BEGIN
                EXECUTE format('ALTER TABLE anomalies_watch ALTER COLUMN %I SET STORAGE EXTERNAL', cache);
            EXCEPTION WHEN feature_not_supported THEN
                RAISE NOTICE 'anomalies_watch.% keeps the default storage', cache;
            END;
        END;
    END LOOP;
END $$;
"""
DEFAULT_STORAGE = """
DO $$
DECLARE
    cache text;
BEGIN
    FOREACH cache IN ARRAY ARRAY['history', 'carry'] LOOP
        EXECUTE format('ALTER TABLE anomalies_watch ALTER COLUMN %I SET COMPRESSION DEFAULT', cache);
        BEGIN
            EXECUTE format('ALTER TABLE anomalies_watch ALTER COLUMN %I SET STORAGE EXTENDED', cache);
        EXCEPTION WHEN feature_not_supported THEN
            NULL;
        END;
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0012_watch_stale_marks"),
    ]

    operations = [migrations.RunSQL(CACHE_STORAGE, DEFAULT_STORAGE)]
