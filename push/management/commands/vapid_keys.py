"""Make a VAPID key pair for push notifications, printed as the setting to set."""

from django.core.management.base import BaseCommand

from push import vapid


class Command(BaseCommand):
    help = "Generate a VAPID key pair for Web Push and print HITL_VAPID_PRIVATE_KEY to set."

    def handle(self, *args, **options):
        private = vapid.new_private_key()
        self.stdout.write(f"HITL_VAPID_PRIVATE_KEY={private}\n")
        self.stdout.write(f"# its public key, which browsers subscribe with: {vapid.public_key(private)}\n")
        self.stderr.write(
            "Keep the private key secret, and keep it: browsers' subscriptions are bound to this pair, so a new "
            "pair means every reviewer turns push on again.\n"
        )
