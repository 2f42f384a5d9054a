"""Flux for AI assistants: a Model Context Protocol server (Streamable HTTP at /mcp, stdio via
`manage.py mcp`) whose tools answer through Flux's own REST API, so both always agree."""
