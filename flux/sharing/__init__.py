"""Public read-only share links of dashboards: the links (hashed tokens), their API, the public page and its
live feed. A feature above dashboards: it reuses their API view, widget data, consumer and JSON shapes."""
