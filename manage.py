#!/usr/bin/env python
import os
import sys

# Commands that work offline on files (no server, no database, nothing signed): no SECRET_KEY needed.
OFFLINE_COMMANDS = {"anomalies_backtest"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS:
        os.environ.setdefault("FLUX_ALLOW_INSECURE_SECRET", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
