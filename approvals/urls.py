from django.urls import path

from approvals import channel_views, output_views, views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("inbox/changes", views.inbox_changes, name="inbox_changes"),
    path("inbox/stream", views.inbox_stream, name="inbox_stream"),
    path("hold", views.hold, name="hold"),
    path("batch/approve", views.batch_approve, name="batch_approve"),
    path("batch/reject", views.batch_reject, name="batch_reject"),
    path("actions/<uuid:pk>/", views.action_detail, name="action"),
    path("actions/<uuid:pk>/edit", views.edit, name="edit"),
    path("actions/<uuid:pk>/approve", views.approve, name="approve"),
    path("actions/<uuid:pk>/reject", views.reject, name="reject"),
    path("actions/<uuid:pk>/execute", views.execute, name="execute"),
    path("questions/<uuid:pk>/answer", views.answer_question, name="answer_question"),
    path("appeals/<uuid:pk>/claim", views.claim_appeal, name="claim_appeal"),
    path("appeals/<uuid:pk>/resolve", views.resolve_appeal, name="resolve_appeal"),
    path("notifications/preferences", views.notification_preferences, name="notification_preferences"),
    path("actions/<uuid:pk>/escalate", views.escalate, name="escalate"),
    path("actions/<uuid:pk>/allow-similar", views.allow_similar, name="allow_similar"),
    path("standing-approvals/<int:pk>/revoke", views.revoke_standing_approval, name="revoke_standing_approval"),
    path("actions/<uuid:pk>/done", views.mark_done, name="done"),
    path("actions/<uuid:pk>/dismiss", views.dismiss, name="dismiss"),
    path("outputs/", output_views.outputs, name="outputs"),
    path("outputs/<uuid:pk>/", output_views.output_review, name="output_review"),
    path("outputs/<uuid:pk>/release", output_views.release_output, name="release_output"),
    path("outputs/<uuid:pk>/withhold", output_views.withhold_output, name="withhold_output"),
    path("slack/interactions", channel_views.slack_interactions, name="slack_interactions"),
    path("slack/link/<str:token>", channel_views.slack_link, name="slack_link"),
    path("slack/unlink", channel_views.slack_unlink, name="slack_unlink"),
    path("email/decide/<str:token>", channel_views.email_decide, name="email_decide"),
]
