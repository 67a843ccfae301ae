"""The WoD admin account (WODUSER): home, bash, passwordless sudo, authorized SSH keys."""

from pyinfra.api import deploy
from pyinfra.operations import server

from .operations import sudoers
from .settings import Settings


def sudoers_path(settings: Settings) -> str:
    return f"/etc/sudoers.d/{settings.WODUSER}"


def sudoers_content(settings: Settings) -> str:
    return f"# managed by wod-deploy\n{settings.WODUSER} ALL=(ALL) NOPASSWD: ALL\n"


@deploy("Admin user")
def admin_user(settings: Settings):
    user = settings.WODUSER
    server.user(
        name=f"Admin user {user}",
        user=user,
        home=f"/home/{user}",
        shell="/bin/bash",
        create_home=True,
    )
    sudoers(
        name=f"Passwordless sudo for {user} (checked with visudo)",
        path=sudoers_path(settings),
        content=sudoers_content(settings),
    )
    if settings.WODUSER_KEYS:
        server.user_authorized_keys(
            name=f"Authorized SSH keys for {user}",
            user=user,
            public_keys=list(settings.WODUSER_KEYS),
            delete_keys=True,
        )
