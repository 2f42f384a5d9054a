"""Platform: what ingesting apps validate and parse (request bodies, the SDK wire format, field rules)."""
