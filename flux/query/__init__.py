"""Platform: query machinery (time ranges, partial aggregates, rollup framing, sketches, formulas, tag and
event filters)."""
