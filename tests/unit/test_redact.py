"""The log filter masks secrets in messages, arguments and tracebacks."""

from __future__ import annotations

import logging

from vantagepoint.config import AgentSettings, CoreSettings
from vantagepoint.redact import Redactor, scrub, settings_secrets


def test_patterns_mask_tokens_query_fields_bearer_and_url_passwords():
    line = ('GET /api/v1/stream?kind=result&token=abc123def HTTP/1.1 vpn_AAAABBBBCCCCDDDD '
            'Authorization: Bearer s3cr3t.v4lue postgresql://u:pw12345@db/x password=hunter22')
    masked = scrub(line)
    for secret in ("abc123def", "AAAABBBBCCCC", "s3cr3t.v4lue", "pw12345", "hunter22"):
        assert secret not in masked
    assert "kind=result" in masked and "postgresql://u:***@db/x" in masked


def test_settings_secrets_cover_every_credential():
    core = CoreSettings(database_url="postgresql+psycopg://vp:dbpw999@h/vp",
                        admin_token="plain-admin-secret", metrics_token="m-secret-1",
                        notifiers={"mail": {"kind": "email", "password": "smtp-pw-2"},
                                   "hook": {"kind": "webhook",
                                            "headers": {"Authorization": "Key k-3333"}}},
                        archivers=[{"name": "a", "kind": "mqtt",
                                    "options": {"url": "mqtt://u:mq-pw-4@broker"}}])
    found = set(settings_secrets(core))
    assert {"dbpw999", "plain-admin-secret", "m-secret-1", "smtp-pw-2", "Key k-3333",
            "mq-pw-4"} <= found
    assert settings_secrets(AgentSettings(token="node-secret-5")) == ["node-secret-5"]


def test_the_filter_masks_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("test.redact")
    logger.addFilter(Redactor(["plain-admin-secret"]))
    try:
        try:
            raise RuntimeError("connect with plain-admin-secret failed")
        except RuntimeError:
            logger.exception("client %s sent %d requests", "plain-admin-secret", 3)
    finally:
        logger.filters.clear()
    text = caplog.text
    assert "plain-admin-secret" not in text and "sent 3 requests" in text
    assert "RuntimeError: connect with *** failed" in text
