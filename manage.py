#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
    from hitl_site import embedded

    embedded.use()  # the embedded PostgreSQL and Redis, for whichever of the two has no URL set
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
