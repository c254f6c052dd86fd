"""A loopback fake of Slack for the real ``slack_bolt`` and ``slack_sdk`` (see :mod:`.server`),
strict Block Kit checks (:mod:`.checks`) and real signed requests (:mod:`.requests`)."""

from tests.fakes.slack.checks import block_errors, message_errors
from tests.fakes.slack.requests import (
    SIGNING_SECRET,
    action_form,
    action_payload,
    command_form,
    sign,
    signed_post,
)
from tests.fakes.slack.server import APP_TOKEN, BOT_TOKEN, ApiCall, FakeSlack, Received

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "SIGNING_SECRET",
    "ApiCall",
    "FakeSlack",
    "Received",
    "action_form",
    "action_payload",
    "block_errors",
    "command_form",
    "message_errors",
    "sign",
    "signed_post",
]
