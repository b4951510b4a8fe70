"""The emails Veil sends, as plain text.

The reset token sits alone on a line starting with ``Token: `` so people can copy it and scripts
(and tests) can find it. Bodies hold no other secret.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_LINE_PREFIX = "Token: "


@dataclass(frozen=True)
class Email:
    """One outgoing message.

    Attributes:
        to: Recipient address.
        subject: Subject line.
        body: Plain-text body.
        kind: What it is ("password_reset", ...), for logs; never the body.
    """

    to: str
    subject: str
    body: str
    kind: str


def password_reset(to: str, token: str, valid_hours: float) -> Email:
    """The message carrying a password reset token."""
    body = (
        "Someone (hopefully you) asked to reset the password of your Veil account.\n"
        "\n"
        f"Use this token with manager.reset_password(...). It works once and expires in "
        f"{valid_hours:g} hours.\n"
        "\n"
        f"{TOKEN_LINE_PREFIX}{token}\n"
        "\n"
        "If you did not ask for this, ignore this message: your password is unchanged.\n"
    )
    return Email(to, "Veil: reset your password", body, "password_reset")


def account_created(to: str, username: str, token: str, valid_hours: float) -> Email:
    """The message inviting a new user to set a first password."""
    body = (
        f"An administrator created a Veil account for you (username: {username}).\n"
        "\n"
        "Set your password with manager.reset_password(email, new_password, new_password, "
        f"token) using the token below. It works once and expires in {valid_hours:g} hours.\n"
        "\n"
        f"{TOKEN_LINE_PREFIX}{token}\n"
        "\n"
        "Then create an API key: API keys are the recommended way to use Veil.\n"
    )
    return Email(to, "Veil: your new account", body, "account_created")


def password_changed(to: str, *, api_keys_revoked: int = 0, api_keys_active: int = 0) -> Email:
    """The confirmation sent after a password reset, saying what happened to the API keys.

    A reset often follows a suspected theft of the password, and a thief who used it may have
    created an API key, which the new password does not stop: the owner is told how many keys
    still work, and how to revoke them.
    """
    keys = ""
    if api_keys_revoked:
        keys += f"{api_keys_revoked} API key(s) of your account were revoked, as you asked.\n"
    if api_keys_active:
        keys += (
            f"{api_keys_active} API key(s) of your account are still valid. If you do not "
            "recognise every one of them, revoke them: on the web application's account page, "
            "with the Python client's auth_client.api_keys.revoke_all_api_keys(), or by "
            "resetting your password again with revoke_api_keys.\n"
        )
    else:
        keys += "No API key of your account is valid any more.\n"
    body = (
        "The password of your Veil account was just reset, and your password sessions were "
        "ended.\n"
        "\n"
        f"{keys}"
        "\n"
        "If you did not do this, contact your administrator at once.\n"
    )
    return Email(to, "Veil: your password was reset", body, "password_changed")
