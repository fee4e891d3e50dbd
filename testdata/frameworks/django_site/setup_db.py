"""Creates the SQLite database at IISWSGI_DJANGO_DB: migrations and the
admin user `admin` / `admin-password` the test logs in as."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
User.objects.create_superuser("admin", "admin@example.com", "admin-password")
