"""A loopback fake of Slack for the real ``slack_bolt`` and ``slack_sdk`` (see :mod:`.server`),
strict Block Kit checks (:mod:`.checks`) and real signed requests (:mod:`.requests`)."""

from tests.fakes.slack.checks import block_errors, message_errors
from tests.fakes.slack.oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    Visit,
    Workspace,
    finish_install,
    install,
    start_install,
)
from tests.fakes.slack.requests import (
    SIGNING_SECRET,
    action_form,
    action_payload,
    command_form,
    event_body,
    sign,
    signed_json,
    signed_post,
)
from tests.fakes.slack.server import APP_TOKEN, BOT_TOKEN, ApiCall, FakeSlack, Received

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SIGNING_SECRET",
    "ApiCall",
    "FakeSlack",
    "Received",
    "Visit",
    "Workspace",
    "action_form",
    "action_payload",
    "block_errors",
    "command_form",
    "event_body",
    "finish_install",
    "install",
    "message_errors",
    "sign",
    "signed_json",
    "signed_post",
    "start_install",
]
