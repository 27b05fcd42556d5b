#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from importlib import import_module

# Commands that only inspect code and schema never sign or check anything, so they run without
# a secret key (a checkout's `manage.py makemigrations --check` just works). Everything else,
# including the worker that signs unsubscribe links, still needs the real DJANGO_SECRET_KEY.
KEYLESS_COMMANDS = {"makemigrations", "check", "showmigrations", "sqlmigrate", "help", "version"}
# Asking manage.py itself for help or its version needs no key either.
KEYLESS_OPTIONS = {"-h", "--help", "--version"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command in KEYLESS_COMMANDS | KEYLESS_OPTIONS and not os.environ.get("DJANGO_SECRET_KEY"):
        os.environ["DJANGO_SECRET_KEY"] = "inspection-only-not-a-secret"
    from django.core.exceptions import ImproperlyConfigured

    try:
        import_module(os.environ["DJANGO_SETTINGS_MODULE"])  # checks the environment
    except ImproperlyConfigured as error:
        # A setting missing from the environment is the user's to fix, not a crash: one line
        # saying what to set instead of a traceback through Django's settings loader.
        hint = ""
        if "DJANGO_SECRET_KEY" in str(error):
            hint = " For local work: export DJANGO_SECRET_KEY=local-only (or DJANGO_DEBUG=1)."
        sys.exit(f"manage.py {command}: {error}{hint}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
