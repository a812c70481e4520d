"""python manage.py demo_user [username] [password]: create (or reset) the demo login."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or reset the demo user (default alice / wonderland)."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="alice")
        parser.add_argument("password", nargs="?", default="wonderland")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'created' if created else 'reset'} user {username!r}")
