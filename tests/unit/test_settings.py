"""Settings: WoD defaults load, and every bad value is named with its key."""

import runpy
from dataclasses import replace
from pathlib import Path

import pytest

from wod_deploy.settings import DECLARED, Settings, SettingsError, default, load_settings

ROOT = Path(__file__).resolve().parents[2]


def group_data(name: str) -> dict:
    return {k: v for k, v in runpy.run_path(str(ROOT / "group_data" / f"{name}.py")).items()
            if not k.startswith("__")}


def test_group_data_all_is_valid_and_matches_wod_defaults():
    s = load_settings(group_data("all"))
    assert replace(s, WODBEEXTFQDN="") == Settings()  # all.py overrides nothing: the declarations are the defaults
    assert (s.USERMIN, s.USERMAX, s.UIDBASE, s.GIDBASE) == (1, 20, 2000, 2000)
    assert (s.CLEAN, s.JPHUB, s.WODUSER, s.BASESTDID, s.POSTPORT) == (False, "/opt/jupyterhub", "wodadmin", 0, 10025)
    assert s.WORKSHOP_PORTS["WKSHP-Docker101"] == {"SSHPORT": 14101, "HTTPPORT": 14151}


@pytest.mark.parametrize("env", ["sandbox", "staging", "production"])
def test_environment_overrides_are_valid(env):
    s = load_settings({**group_data("all"), **group_data(env)})
    assert s.USERMAX >= s.USERMIN


def test_students_derive_from_the_bases():
    s = Settings(USERMIN=3, USERMAX=5, UIDBASE=3000, GIDBASE=4000)
    assert [(x.name, x.uid, x.gid, x.home) for x in s.students] == [
        ("student3", 3003, 4003, "/student/student3"),
        ("student4", 3004, 4004, "/student/student4"),
        ("student5", 3005, 4005, "/student/student5"),
    ]


BAD = [
    ({"USERMIN": 10, "USERMAX": 5}, "USERMAX=5", ">= USERMIN"),
    ({"UIDBASE": 0}, "UIDBASE=0", "1000..60000"),
    ({"GIDBASE": 500}, "GIDBASE=500", "1000..60000"),
    ({"UIDBASE": 59990}, "UIDBASE=59990", "1000..60000"),
    ({"POSTPORT": 70000}, "POSTPORT=70000", "1..65535"),
    ({"WODBEPORT": 0}, "WODBEPORT=0", "1..65535"),
    ({"JPHUB": "opt/jupyterhub"}, "JPHUB='opt/jupyterhub'", "absolute path"),
    ({"JPHUB": "/"}, "JPHUB='/'", "absolute path"),
    ({"WODUSER": ""}, "WODUSER=''", "non-empty Linux user name"),
    ({"WODUSER": "Bad User"}, "WODUSER='Bad User'", "Linux user name"),
    ({"USERMAXX": 30}, "USERMAXX=30", "did you mean USERMAX"),
    ({"usermax": 30}, "usermax=30", "did you mean USERMAX"),
    ({"CLEAN": "yes"}, "CLEAN='yes'", "true or false"),
    ({"USERMAX": "20"}, "USERMAX='20'", "integer"),
    ({"HUB_PACKAGES": ["jupyterhub"]}, "HUB_PACKAGES=['jupyterhub']", "exact pins"),
    # the check compares versions for equality: a range would be permanent drift, so it is refused
    ({"HUB_PACKAGES": ["jupyterhub>=5"]}, "HUB_PACKAGES=['jupyterhub>=5']", "name==version"),
    ({"KERNEL_PACKAGES": ["bash_kernel~=0.10"]}, "KERNEL_PACKAGES=['bash_kernel~=0.10']", "name==version"),
    ({"KERNELS": ["python3", "rust"]}, "KERNELS=['python3', 'rust']", "kernel names among python3, bash, ssh"),
    ({"KERNELS": ["bash", "bash"]}, "KERNELS=['bash', 'bash']", "distinct kernel names"),
    ({"WORKSHOP_PORTS": {"WKSHP-X": {"HTTPPORT": 0}}}, "WORKSHOP_PORTS=", "port 1..65535"),
    # the moderator's password goes with every callback: clear text only when asked for
    ({"WODAPIDBURL": "http://api.example.org/api"}, "WODAPIDBURL='http://api.example.org/api'", "https://"),
    ({"HUB_TLS_CERT": "/nonexistent/hub.pem"}, "HUB_TLS_CERT='/nonexistent/hub.pem'", "file on the deploying"),
    ({"HUB_TLS_CERT": __file__}, "HUB_TLS_KEY=''", "go together"),
    ({"WODFE_TLS_CERT": "/nonexistent/portal.pem"}, "WODFE_TLS_CERT='/nonexistent/portal.pem'",
     "file on the deploying"),
    ({"WODFE_TLS_KEY": __file__}, f"WODFE_TLS_KEY={__file__!r}", "go together"),
]


def test_http_for_the_api_db_is_accepted_only_when_asked_for():
    s = load_settings({**group_data("all"), "WODAPIDBURL": "http://api.example.org/api", "WODAPIDB_ALLOW_HTTP": True})
    assert s.WODAPIDBURL.startswith("http://")
    assert load_settings({"WODAPIDBURL": "https://api.example.org/api"}).WODAPIDB_ALLOW_HTTP is False


@pytest.mark.parametrize("data,key_value,allowed", BAD, ids=[repr(b[0]) for b in BAD])
def test_bad_value_is_named_with_key_value_and_what_is_allowed(data, key_value, allowed):
    with pytest.raises(SettingsError) as err:
        load_settings({**group_data("all"), **data}, host="hub-1")
    message = str(err.value)
    assert key_value in message and allowed in message and "hub-1" in message


def test_unrelated_keys_pass_through():
    s = load_settings({**group_data("all"), "ssh_port": 2222, "_sudo": True, "my_note": "x"})
    assert s.USERMAX == 20


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as err:
        load_settings({"POSTPORT": 0, "WODUSER": "", "JPHUB": "x"})
    assert len(err.value.problems) == 3


def test_defaults_are_declared_once_and_all_py_repeats_none():
    """One place for defaults: a WoD setting in all.py must differ from its declaration (an
    override), never copy it; every declaration has a rule, what it allows and a description."""
    for name, value in group_data("all").items():
        if name in DECLARED:
            assert value != default(name), f"group_data/all.py repeats the default of {name}"
    for name, f in DECLARED.items():
        assert callable(f.metadata["rule"]) and f.metadata["allowed"] and f.metadata["doc"], name
        assert f.metadata["rule"](default(name)), f"{name}: its own default breaks its rule"


@pytest.mark.parametrize("group", ["backend", "docker", "sandbox", "staging", "production"])
def test_group_files_hold_only_declared_settings(group):
    unknown = [k for k in group_data(group) if k not in DECLARED and not k.startswith("_")]
    assert unknown == []


def test_settings_command_shows_each_value_with_its_origin(tmp_path):
    """Every layer pyinfra applies, each named: --data, host, inline group, the environment's
    file, the private overlay, derived values, the declaration."""
    import json
    import subprocess
    import sys

    inv = tmp_path / "docker.py"  # the file name is a group too: group_data/docker.py applies
    inv.write_text('backend = ([("hub-1", {"ssh_hostname": "127.0.0.1", "USERMAX": 30})], {"SSHD_PORT": 2222})\n'
                   'api_db = [("api-1", {"ssh_hostname": "127.0.0.1", "wod_address": "10.0.0.5"})]\n')
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "settings", str(inv), "--limit", "hub-1", "--json",
                           "--group-data", "tests/fixtures/private/group_data", "--data", "F2B_MAXRETRY=5",
                           "--data", "WODAPIDB_ALLOW_HTTP=True"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["hub-1"]
    assert set(rows) == set(DECLARED)
    origin = {name: row["origin"] for name, row in rows.items()}
    assert (rows["F2B_MAXRETRY"]["value"], origin["F2B_MAXRETRY"]) == (5, "--data")
    assert (rows["USERMAX"]["value"], origin["USERMAX"]) == (30, f"{inv} (host)")
    assert (rows["SSHD_PORT"]["value"], origin["SSHD_PORT"]) == (2222, f"{inv} (group backend)")
    assert (rows["WODNOBO"]["value"], origin["WODNOBO"]) == ("tests/fixtures/workshops", "group_data/docker.py")
    overlay = "tests/fixtures/private/group_data/{}.py (private overlay)"
    assert (rows["BRANDING"]["value"], origin["BRANDING"]) == ("Private Brand", overlay.format("all"))
    assert (rows["WORKSHOP_PORTS"]["value"], origin["WORKSHOP_PORTS"]) == (
        {"WKSHP-Test101": {"HTTPPORT": 30000}}, overlay.format("docker"))
    assert (rows["APIDB_ADDRESSES"]["value"], origin["APIDB_ADDRESSES"]) == (
        ["10.0.0.5"], "derived (the inventory's api_db hosts)")
    assert (rows["WODAPIDBURL"]["value"], origin["WODAPIDBURL"]) == (
        "http://10.0.0.5:8021/api", "derived (the inventory's api_db host)")
    assert (rows["USERMIN"]["value"], origin["USERMIN"]) == (1, "default (wod_deploy/settings.py)")
    assert rows["USERMIN"]["doc"] == "first student number"


def test_settings_command_names_a_bad_value(tmp_path):
    import subprocess
    import sys

    inv = tmp_path / "inv.py"
    inv.write_text('backend = [("hub-1", {"ssh_hostname": "127.0.0.1"})]\n')
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "settings", str(inv), "--data", "POSTPORT=0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "POSTPORT=0: must be a TCP port 1..65535" in proc.stderr, proc.stderr


def test_backends_ranges_follow_the_inventory_and_overlaps_name_both_hosts():
    from pyinfra.api import Inventory

    from wod_deploy.settings import backend_ranges, overlapping_ranges

    two = Inventory((["be-1", "be-2"], {}), backend=(["be-1", "be-2"], {"USERMAX": 5}))
    assert backend_ranges(two) == [("be-1", 0, 5), ("be-2", 5, 5)]
    assert [load_settings(h.data, host=h.name, inventory=two).BASESTDID for h in two] == [0, 5]
    assert overlapping_ranges(two) == []
    clash = Inventory((["be-1", ("be-2", {"BASESTDID": 3})], {}), backend=(["be-1", "be-2"], {"USERMAX": 5}))
    assert overlapping_ranges(clash) == [
        "BASESTDID: backends be-1 (ids 1..5) and be-2 (ids 4..8) overlap in the api-db"]


def test_the_api_db_port_is_open_to_its_peers_only_while_the_portal_proxies_it():
    from pyinfra.api import Inventory

    from wod_deploy.components.firewall import rules

    inventory = Inventory((["api-1", "be-1", "fe-1"], {}), api_db=([("api-1", {"wod_address": "10.0.0.1"})], {}),
                          backend=([("be-1", {"wod_address": "10.0.0.2"})], {}),
                          frontend=([("fe-1", {"wod_address": "10.0.0.3"})], {}))
    api = inventory.get_host("api-1")
    s = load_settings({**api.data.dict(), "APIDB_CLIENTS": ["192.0.2.0/24"]}, host="api-1", inventory=inventory)
    assert s.APIDB_PEERS == ("10.0.0.2", "10.0.0.3")
    assert [r for r in rules(s, ("api_db",)) if str(s.WODAPIDBPORT) in r] == [
        f"ufw allow from {a} to any port {s.WODAPIDBPORT} proto tcp" for a in ("10.0.0.2", "10.0.0.3", "192.0.2.0/24")]
    direct = load_settings({**api.data.dict(), "WODAPIDBEXTURL": "https://api.example.org/api"}, host="api-1",
                           inventory=inventory)
    assert f"ufw allow {s.WODAPIDBPORT}/tcp" in rules(direct, ("api_db",))


def test_a_backends_api_db_url_is_derived_or_the_preflight_names_why_not():
    from pyinfra.api import Inventory

    def url(api_dbs, **data):
        inventory = Inventory((["be-1", *(name for name, _ in api_dbs)], {}), backend=(["be-1"], {}),
                              api_db=(list(api_dbs), {}))
        return load_settings({"WODAPIDB_ALLOW_HTTP": True, **data}, host="be-1", inventory=inventory).WODAPIDBURL

    assert url([]) == ""  # a backend alone: no callbacks
    assert url([("api-1", {"wod_address": "10.0.0.5"})]) == "http://10.0.0.5:8021/api"
    assert url([("api-1", {"wod_address": "10.0.0.5"})], WODAPIDBURL="https://api.example.org/api") == \
        "https://api.example.org/api"
    with pytest.raises(SettingsError, match="WODAPIDBURL: cannot be derived .* several api_db hosts .api-1, api-2."):
        url([("api-1", {"wod_address": "10.0.0.5"}), ("api-2", {"wod_address": "10.0.0.6"})])
    with pytest.raises(SettingsError, match="WODAPIDBURL: cannot be derived .* reached at 127.0.0.1"):
        url([("api-1", {"ssh_hostname": "127.0.0.1"})])
    with pytest.raises(SettingsError, match="WODAPIDBURL='http://10.0.0.5:8021/api': must be https://"):
        inventory = Inventory((["be-1", "api-1"], {}), backend=(["be-1"], {}),
                              api_db=([("api-1", {"wod_address": "10.0.0.5"})], {}))
        load_settings({}, host="be-1", inventory=inventory)


def test_a_portal_reads_the_catalogue_its_api_db_is_seeded_with_unless_given_its_own():
    from pyinfra.api import Inventory

    inventory = Inventory((["api-1", "fe-1", "fe-2"], {}),
                          api_db=([("api-1", {"WODNOBO": "/srv/notebooks", "PRIVATE_DIR": "/srv/private",
                                               "wod_address": "10.0.0.1"})], {}),
                          frontend=(["fe-1", ("fe-2", {"WODNOBO": "/srv/own"})], {}))
    portal = [load_settings(inventory.get_host(n).data, host=n, inventory=inventory) for n in ("fe-1", "fe-2")]
    assert [(s.WODNOBO, s.PRIVATE_DIR) for s in portal] == [("/srv/notebooks", "/srv/private"),
                                                            ("/srv/own", "/srv/private")]
