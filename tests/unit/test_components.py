"""What every component declares, checked once for all of them."""

import pytest

from wod_deploy.managed import File
from wod_deploy.roles import ROLES
from wod_deploy.settings import Settings

COMPONENTS = list(dict.fromkeys(c for role in ROLES.values() for c in role.components if hasattr(c, "owned")))


def owned(component, s: Settings):
    return component.owned(s)


@pytest.mark.parametrize("component", COMPONENTS, ids=[c.__name__.rsplit(".", 1)[-1] for c in COMPONENTS])
def test_every_managed_file_ends_in_one_newline_and_is_owned_once(component):
    items = owned(component, Settings(WODBEEXTIP="10.0.0.2", WODBEEXTFQDN="hub.example.org"))
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths)), "an item declared twice"
    for item in items:
        if isinstance(item, File) and item.content:
            assert item.content.endswith("\n") and not item.content.endswith("\n\n"), item.path
            assert 0 <= item.mode <= 0o7777


def test_no_path_is_owned_by_two_components():
    seen = {}
    for component in COMPONENTS:
        for item in owned(component, Settings(WODBEEXTFQDN="hub.example.org")):
            assert item.path not in seen, f"{item.path}: {seen.get(item.path)} and {component.__name__}"
            seen[item.path] = component.__name__


def test_the_mail_api_never_trusts_localhost():
    from wod_deploy.components import mailapi

    s = Settings(MAILAPI_CLIENTS=("10.0.0.9",), APIDB_ADDRESSES=("10.0.0.5",))
    main = mailapi.main_cf(s)
    assert main["mynetworks"] == "10.0.0.5 10.0.0.9" and "127." not in main["mynetworks"]
    assert main["authorized_submit_users"] == "root, wodadmin"  # no sendmail for students
    assert mailapi.handler_config(s)["clients"] == ["10.0.0.5", "10.0.0.9"]
    tools = {f.path: f for f in mailapi.owned(s) if isinstance(f, File)}
    for path in ("/usr/local/bin/wod-test-action", f"{s.etc_dir}/mailapi.json"):
        assert (tools[path].user, tools[path].group, tools[path].mode & 0o007) == ("root", "wodadmin", 0), path


def test_site_converges_every_role_once_in_the_registry_order():
    """deploys/site.py: one line per role (pyinfra orders operations by line), backends first."""
    import re
    from pathlib import Path

    from wod_deploy.roles import ROLES

    site = (Path(__file__).resolve().parents[2] / "deploys" / "site.py").read_text()
    assert re.findall(r'^converge\("(\w+)"\)$', site, re.M) == list(ROLES)


def test_the_portal_speaks_tls_12_and_13_with_hsts_and_redirects_http_only_with_a_pair(tmp_path):
    from wod_deploy.components import nginx
    from wod_deploy.managed import Gone, Key

    cert, key = tmp_path / "portal.pem", tmp_path / "portal.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    items = nginx.owned(Settings(WODFE_TLS_CERT=str(cert), WODFE_TLS_KEY=str(key)))
    site = next(i for i in items if i.path == nginx.SITE).content
    assert "listen 8000 ssl;" in site and "ssl_protocols TLSv1.2 TLSv1.3;" in site
    assert f"ssl_certificate_key {nginx.TLS_KEY};" in site
    assert "error_page 497 =301 https://$http_host$request_uri;" in site
    assert site.count("Strict-Transport-Security") == site.count("X-Frame-Options") > 0  # every location
    assert [type(i) for i in items if i.path in (nginx.TLS_CERT, nginx.TLS_KEY)] == [File, Key]
    assert "MIIE" not in repr(items)  # the key's content is never shown
    plain = nginx.owned(Settings())
    site = next(i for i in plain if i.path == nginx.SITE).content
    assert "listen 8000;" in site and "ssl" not in site and "Strict-Transport-Security" not in site
    assert [type(i) for i in plain if i.path in (nginx.TLS_CERT, nginx.TLS_KEY)] == [Gone, Gone]


def test_a_workshop_added_to_the_catalogue_changes_the_portals_build_digest(tmp_path):
    import shutil
    from pathlib import Path

    from wod_deploy.components import portal

    catalogue = tmp_path / "workshops"
    shutil.copytree(Path(__file__).parent.parent / "fixtures" / "workshops", catalogue)
    s = Settings(WODNOBO=str(catalogue))
    before = portal.build_digest(s, "source")
    assert portal.build_digest(s, "source") == before and portal.build_digest(s, "other") != before
    # where workshops run makes no page: a new backend does not rebuild the portal
    moved = Settings(WODNOBO=str(catalogue), LOCATIONS=({"name": "b2", "basestdid": 0, "usermax": 5},))
    assert portal.build_digest(moved, "source") == before
    shutil.copytree(catalogue / "WKSHP-Test101", catalogue / "WKSHP-New101")
    meta = catalogue / "WKSHP-New101" / "wod.yml"
    meta.write_text(meta.read_text().replace("Test101", "New101"))
    assert portal.build_digest(s, "source") != before
