"""The WoD admin account (WODUSER): home, bash, passwordless sudo, authorized SSH keys."""

import hashlib

from pyinfra.api import deploy
from pyinfra.operations import server

from facts.accounts import Account
from facts.files import ManagedFiles

from .compliance import expect, mode
from .operations import sudoers
from .settings import Settings


def home(settings: Settings) -> str:
    return f"/home/{settings.WODUSER}"


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
        home=home(settings),
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


def checks(settings: Settings, probe):
    user = settings.WODUSER
    account = probe(Account, user=user)
    yield expect("admin.account", f"user {user}", f"home {home(settings)}, shell /bin/bash",
                 account and f"home {account['home']}, shell {account['shell']}")
    path = sudoers_path(settings)
    found = probe(ManagedFiles, paths=[path]).get(path)
    sha1 = hashlib.sha1(sudoers_content(settings).encode()).hexdigest()
    yield expect("admin.sudoers", path, f"root:root 0440 sha1 {sha1[:12]}",
                 found and f"{found['user']}:{found['group']} {mode(found['mode'])} sha1 {found['sha1'][:12]}")
