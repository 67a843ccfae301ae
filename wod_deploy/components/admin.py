"""The WoD admin account (WODUSER): home, bash, passwordless sudo, authorized SSH keys."""

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server

from facts.accounts import Account

from .. import managed, reads
from ..checks import expect
from ..managed import File, render
from ..operations.accounts import account
from ..operations.files import SUDOERS_MODE, sudoers
from ..runtime.naming import SHELL
from ..settings import Settings


def sudoers_file(s: Settings) -> File:
    """Checked by visudo before it goes live, so written by its own operation, not files.put."""
    return File(f"/etc/sudoers.d/{s.WODUSER}", render("sudoers.j2", s), mode=SUDOERS_MODE)


@pyinfra_deploy("Admin user")
def deploy(settings: Settings):
    s = settings
    rules = sudoers_file(s)
    reads.together(reads.read(Account, user=s.WODUSER), managed.state_read([rules]))
    account(name=f"Admin user {s.WODUSER}", user=s.WODUSER, home=s.admin_home, shell=SHELL, create_home=True)
    sudoers(name=f"Passwordless sudo for {s.WODUSER} (checked with visudo)", path=rules.path, content=rules.content)
    if s.WODUSER_KEYS:
        server.user_authorized_keys(name=f"Authorized SSH keys for {s.WODUSER}", user=s.WODUSER,
                                    public_keys=list(s.WODUSER_KEYS), delete_keys=True)


def checks(settings: Settings, probe):
    s = settings
    found = probe(Account, user=s.WODUSER)
    owner = found and ("its own" if found["home_owner"] == s.WODUSER else f"owner {found['home_owner']}")
    yield expect("admin.account", f"user {s.WODUSER}", f"home {s.admin_home} (its own), shell {SHELL}",
                 found and f"home {found['home']} ({owner}), shell {found['shell']}")
    yield from managed.checks("admin", [sudoers_file(s)], probe)
