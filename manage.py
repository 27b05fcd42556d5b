#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that only inspect code and schema never sign or check anything, so they run without
# a secret key (a checkout's `manage.py makemigrations --check` just works). Everything else,
# including the worker that signs unsubscribe links, still needs the real DJANGO_SECRET_KEY.
KEYLESS_COMMANDS = {"makemigrations", "check", "showmigrations", "sqlmigrate", "help"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
        os.environ.setdefault("DJANGO_SECRET_KEY", "inspection-only-not-a-secret")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
