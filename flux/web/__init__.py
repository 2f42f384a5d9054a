"""Platform: web plumbing every app stands on (API base, auth, middleware, OpenAPI pieces, pages, realtime)."""
