"""Samples: auto-approved actions drawn for a person to grade, and how far each type was drawn."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from approvals.models import Action, Conflict
from audit.log import Actor, record
from policies.models import ActionType


class Sample(models.Model):
    """An auto-approved action drawn for grading; the one-to-one key means drawn at most once."""

    class Grade(models.TextChoices):
        CORRECT = "correct", "Correct"
        INCORRECT = "incorrect", "Incorrect"
        UNSURE = "unsure", "Unsure"

    action = models.OneToOneField(Action, on_delete=models.CASCADE, primary_key=True, related_name="sample")
    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="samples")
    drawn_at = models.DateTimeField(default=timezone.now)
    grade = models.CharField(max_length=10, choices=Grade, blank=True)
    note = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_by_name = models.CharField(max_length=150, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "approvals_sample"  # made by the approvals app, before sampling had its own
        ordering = ["drawn_at"]
        indexes = [models.Index(fields=["action_type", "grade"], name="sample_type_grade")]
        permissions = [("grade_sample", "Can grade samples")]

    def __str__(self):
        return f"sample of {self.action_id}"

    def grade_as(self, *, by, grade, note=""):
        """Grade once; a second grader gets a Conflict naming the first. An incorrect grade needs
        a note (ValidationError): it is what the policy admin reads to fix the policy."""
        if grade == self.Grade.INCORRECT and not note.strip():
            raise ValidationError("Say what was wrong: the note is what the policy admin acts on.")
        with transaction.atomic():
            now = timezone.now()
            claimed = Sample.objects.filter(pk=self.pk, grade="").update(
                grade=grade, note=note, graded_by=by, graded_by_name=by.get_username(), graded_at=now
            )
            if claimed != 1:
                self.refresh_from_db()
                raise Conflict(f"Already graded {self.grade} by {self.graded_by_name}.")
            self.grade, self.note, self.graded_by, self.graded_by_name, self.graded_at = (
                grade,
                note,
                by,
                by.get_username(),
                now,
            )
            record(
                kind="sample.graded",
                actor=Actor.user(by),
                action=self.action,
                data={"grade": grade, "note": note},
            )


class SamplingWatermark(models.Model):
    """How far the sampling task has looked at each action type's auto-approved actions."""

    action_type = models.OneToOneField(ActionType, on_delete=models.CASCADE, primary_key=True, related_name="+")
    through = models.DateTimeField()

    class Meta:
        db_table = "approvals_samplingwatermark"

    def __str__(self):
        return f"{self.action_type_id} sampled through {self.through}"
