#!/usr/bin/env python
import os
import sys

# Commands that sign nothing (no sessions, cookies or tokens), so they need no SECRET_KEY: the offline
# backtest, and the stdio MCP server an assistant launches with only DATABASE_URL (the setup page's snippet).
OFFLINE_COMMANDS = {"anomalies_backtest", "mcp"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS:
        os.environ.setdefault("FLUX_ALLOW_INSECURE_SECRET", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
