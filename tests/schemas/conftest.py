"""Action types made from corpus schemas, reviewed by the supervisors."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from hitl_site import roles
from policies.models import ActionType

CORPUS = Path(__file__).with_name("corpus")


def corpus_type(key, filename, **fields):
    entry = json.loads((CORPUS / filename).read_text())
    return schema_type(key, entry["tool"], entry["schema"], **fields)


def schema_type(key, name, schema, **fields):
    """A type of this schema, every parameter editable, reviewed by the supervisors."""
    action_type = ActionType.objects.create(
        key=key, name=name, params_schema=schema, editable_params=list(schema["properties"]), **fields
    )
    assign_perm("policies.review_actiontype", Group.objects.get(name=roles.SUPERVISORS), action_type)
    return action_type


@pytest.fixture
def edit_file_type(supervisor):
    return corpus_type("fs.edit_file", "mcp_fs_edit_file.json")


@pytest.fixture
def slack_type(supervisor):
    return corpus_type("slack.post_message", "pydantic_slack_post_message.json")


@pytest.fixture
def email_type(supervisor):
    return corpus_type("email.send", "pydantic_send_email.json")
