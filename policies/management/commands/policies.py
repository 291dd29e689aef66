"""`manage.py policies export` and `manage.py policies import FILE [--dry-run]`: policies as code."""

import sys

from django.core.management.base import BaseCommand, CommandError

from policies.document import InvalidDocument, export_document, import_document


class Command(BaseCommand):
    help = "Export every action type's policy, rules and the agents' kill switches as YAML, or import such a file."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        export = commands.add_parser("export", help="Write the policies as one YAML document.")
        export.add_argument("--output", "-o", help="A file to write to instead of standard output.")
        apply = commands.add_parser("import", help="Validate a YAML document as a whole, then apply it.")
        apply.add_argument("file", help="The YAML file, or - for standard input.")
        apply.add_argument("--dry-run", action="store_true", help="Print the changes without applying them.")

    def handle(self, *args, command, **options):
        if command == "export":
            document = export_document()
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8") as file:
                    file.write(document)
            else:
                self.stdout.write(document, ending="")
            return
        text = sys.stdin.read() if options["file"] == "-" else self.read(options["file"])
        try:
            changes = import_document(text, dry_run=options["dry_run"])
        except InvalidDocument as invalid:
            raise CommandError(
                f"Nothing was applied: {len(invalid.errors)} errors.\n" + "\n".join(invalid.errors)
            ) from None
        verb = "Would change" if options["dry_run"] else "Changed"
        if not changes:
            self.stdout.write("No changes: the policies already match the document.")
        for what, diff in changes:
            self.stdout.write(f"{verb} {what}:")
            for name, change in diff.items():
                self.stdout.write(f"  {name}: {change.get('from')!r} → {change.get('to')!r}")

    def read(self, path):
        try:
            with open(path, encoding="utf-8") as file:
                return file.read()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
