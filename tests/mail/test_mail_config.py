"""Choosing the transport from the environment; never dropping mail silently in AWS."""

from __future__ import annotations

import pytest

from functions.mail import (
    MailConfigurationError,
    OutboxMailer,
    SesMailer,
    SmtpMailer,
    get_mailer,
)


def test_local_default_is_the_outbox_under_the_data_dir(tmp_path):
    mailer = get_mailer(tmp_path / "data", env={})
    assert isinstance(mailer, OutboxMailer)
    assert mailer.directory == tmp_path / "data" / "outbox"


def test_lambda_without_a_transport_refuses_to_start(tmp_path):
    with pytest.raises(MailConfigurationError) as caught:
        get_mailer(tmp_path, env={"AWS_LAMBDA_FUNCTION_NAME": "billow-api"})
    assert caught.value.code == "mail_not_configured"
    assert "BILLOW_MAIL_TRANSPORT=ses" in caught.value.message
    assert "BILLOW_SMTP_URL" in caught.value.message
    assert not (tmp_path / "outbox").exists()


def test_lambda_may_choose_the_outbox_explicitly(tmp_path):
    env = {"AWS_LAMBDA_FUNCTION_NAME": "billow-api", "BILLOW_MAIL_TRANSPORT": "outbox"}
    assert isinstance(get_mailer(tmp_path, env=env), OutboxMailer)


@pytest.mark.parametrize(
    ("url", "security", "port", "user", "password"),
    [
        ("smtp://mail.example:2525", None, 2525, None, ""),
        ("smtp://relay.example", None, 25, None, ""),
        (
            "smtp+starttls://me%40acme.example:p%3Ass@smtp.example",
            "starttls",
            587,
            "me@acme.example",
            "p:ss",
        ),
        ("smtps://u:hunter2@smtp.example", "tls", 465, "u", "hunter2"),
    ],
)
def test_smtp_url_is_understood(url, security, port, user, password):
    mailer = get_mailer(env={"BILLOW_SMTP_URL": url, "AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.security, mailer.port, mailer.username, mailer.password) == (
        security,
        port,
        user,
        password,
    )
    if password:
        assert password not in repr(mailer)


def test_smtp_timeout_from_url():
    assert SmtpMailer("smtp://h?timeout=2.5").timeout == 2.5
    assert SmtpMailer("smtp://h").timeout == 10.0


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://h:notaport"])
def test_bad_smtp_url_is_a_configuration_error(url):
    with pytest.raises(MailConfigurationError):
        get_mailer(env={"BILLOW_SMTP_URL": url})


def test_ses_from_environment():
    mailer = get_mailer(
        env={
            "BILLOW_MAIL_TRANSPORT": "ses",
            "BILLOW_MAIL_FROM": "Acme <billing@acme.example>",
            "AWS_REGION": "eu-west-1",
            "AWS_LAMBDA_FUNCTION_NAME": "billow-api",
        }
    )
    assert isinstance(mailer, SesMailer)
    assert mailer.region == "eu-west-1"
    assert mailer.from_address == "Acme <billing@acme.example>"


@pytest.mark.parametrize(
    "env",
    [
        {"BILLOW_MAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1"},  # no sender
        {"BILLOW_MAIL_TRANSPORT": "ses", "BILLOW_MAIL_FROM": "a@b.io"},  # no region
        {"BILLOW_MAIL_TRANSPORT": "smtp"},  # no URL
        {"BILLOW_MAIL_TRANSPORT": "pigeon"},
        {"BILLOW_MAIL_FROM": "Billing <not an address>"},
    ],
)
def test_incomplete_configuration_is_refused(env):
    with pytest.raises(MailConfigurationError):
        get_mailer(env=env)
