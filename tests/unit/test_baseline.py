"""The shared baseline on every role, from the same components: what each role gets, and what
stays the backend's own."""

import configparser

import pytest

from wod_deploy.components import admin, fail2ban, packages, system
from wod_deploy.managed import File, Service
from wod_deploy.roles import ROLES
from wod_deploy.settings import Settings

S = Settings(APIDB_PEERS=("10.0.0.2", "10.0.0.3"))
BASELINE = (packages, admin, system, fail2ban)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_runs_the_baseline_components(role):
    components = ROLES[role].components
    assert all(c in components for c in BASELINE), role
    assert components[-1].__name__.endswith("firewall")  # last: what the role serves is up first


@pytest.mark.parametrize("role", ["api_db", "frontend"])
def test_a_non_backend_gets_the_shared_items_and_none_of_the_participants(role):
    paths = {i.path for i in system.owned(S, (role,))}
    assert {"/etc/security/limits.d/wod.conf", "/usr/local/bin/wod-upd", "/etc/cron.d/wod-upd",
            "systemd-timesyncd.service", "cron.service", "/etc/systemd/logind.conf.d/wod.conf"} <= paths
    assert not paths & {"wod-watchdog.service", "/etc/skel/.bash_aliases", "/etc/sysctl.d/90-wod.conf",
                        "/etc/cron.d/wod-cleanup-processes"}
    limits = next(i for i in system.owned(S, (role,)) if i.path.endswith("limits.d/wod.conf"))
    assert "wodadmin hard nofile 65535" in limits.content and " as " not in limits.content  # no student range
    assert set(system.lines(Settings(WODBEEXTIP="10.0.0.9"), (role,))) == {"/home/wodadmin/.bashrc",
                                                                            "/home/wodadmin/.profile"}
    wanted = packages.packages(S, (role,))
    assert {"fail2ban", "ufw", "cron", "systemd-timesyncd", "sudo"} <= set(wanted)
    assert not {"postfix", "procmail", "python3-venv"} & set(wanted)


def test_the_backend_keeps_its_own_items_and_the_shared_ones_are_the_same_declaration():
    backend, api_db = system.owned(S), system.owned(S, ("api_db",))
    assert {"wod-watchdog.service", "/etc/sysctl.d/90-wod.conf"} <= {i.path for i in backend}
    shared = {i.path: i for i in system.shared(S)}
    for item in api_db:
        assert item == shared[item.path]
    # the one difference: the participants' limits, on the backend alone
    assert next(i for i in backend if i.path.endswith("limits.d/wod.conf")).content.startswith(
        shared["/etc/security/limits.d/wod.conf"].content)


def jails(groups) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(next(i for i in fail2ban.owned(S, groups) if i.path.endswith("jail.local")).content)
    return parser


def test_each_role_has_the_sshd_jail_and_a_jail_for_what_it_exposes():
    assert set(jails(("backend",)).sections()) == {"jupyterhub", "sshd"}
    api = jails(("api_db",))
    assert set(api.sections()) == {"wod-api-db", "sshd"}
    assert api["wod-api-db"]["port"] == str(S.WODAPIDBPORT)
    assert api["wod-api-db"]["journalmatch"] == "_SYSTEMD_UNIT=wod-api-db.service"
    assert api["wod-api-db"]["ignoreip"].split() == ["127.0.0.1/8", "::1", "10.0.0.2", "10.0.0.3"]  # the platform
    portal = jails(("frontend",))
    assert set(portal.sections()) == {"wod-portal-limit", "wod-portal-4xx", "sshd"}
    assert portal["wod-portal-4xx"]["maxretry"] == str(S.F2B_HTTP_MAXRETRY)
    assert {i.path for i in fail2ban.owned(S, ("frontend",)) if isinstance(i, File)} == {
        "/etc/fail2ban/jail.local", "/etc/fail2ban/filter.d/wod-portal-limit.conf",
        "/etc/fail2ban/filter.d/wod-portal-4xx.conf"}
    assert any(isinstance(i, Service) for i in fail2ban.owned(S, ("api_db",)))


def test_the_api_db_unit_loads_the_failed_login_logger():
    from wod_deploy.components import apidb

    items = {i.path: i for i in apidb.owned(S) if isinstance(i, File)}
    assert f"ExecStart=/usr/bin/node -r {apidb.AUTH_LOG} dist/src/api.js" in items[apidb.UNIT].content
    assert "wod-auth: login failed from ${peer}" in items[apidb.AUTH_LOG].content
