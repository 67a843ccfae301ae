"""Package boundaries: the arrows run one way, and an admin without the test extra can deploy
and check (no Docker SDK on the deploy and check paths)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("wod_deploy", "facts")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Project modules a file imports, anywhere in it (a function-level import is still an arrow)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p): p for p in files}
    edges = {}
    for name, path in modules.items():
        # "from . import managed" names a module; "from .checks import expect" names a module's attribute
        edges[name] = {m if m in modules else m.rsplit(".", 1)[0] for m in imports(path)} & set(modules) - {name}
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle, or [] (depth-first search, three colours)."""
    colour, stack = {}, []

    def visit(node):
        colour[node] = "grey"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if colour.get(nxt) == "grey":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in colour and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = "black"
        return []

    for node in sorted(edges):
        if node not in colour and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_among_the_projects_modules():
    edges = graph()
    assert len(edges) > 30  # the walk found the project
    assert cycle(edges) == []


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_arrows_run_one_way():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("wod_deploy.components."):
            assert not {t for t in targets if t.startswith(("wod_deploy.compliance", "wod_deploy.cli",
                                                            "wod_deploy.roles", "wod_deploy.testing"))}, name
        if not name.startswith(("wod_deploy.testing", "wod_deploy.cli")):
            assert not {t for t in targets if t.startswith("wod_deploy.testing")}, name
        if name.startswith(("wod_deploy.operations", "facts")):
            assert not {t for t in targets if t.startswith(("wod_deploy.components", "wod_deploy.compliance"))}, name
        if name.startswith("wod_deploy.runtime"):  # runs on the host: see test_the_runtime_*
            assert all(t.startswith("wod_deploy.runtime") for t in targets), name


BLOCK_DOCKER = """
import importlib.abc, sys
class NoDocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "docker" or name.startswith("docker."):
            raise ImportError("the Docker SDK is not installed (test extra)")
sys.meta_path.insert(0, NoDocker())
"""


def test_deploy_and_check_paths_import_without_the_docker_sdk(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK_DOCKER)
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    script = ("import importlib, pkgutil, runpy, sys\n"
              "import wod_deploy.components as c\n"
              "for m in pkgutil.iter_modules(c.__path__): importlib.import_module(f'wod_deploy.components.{m.name}')\n"
              "import wod_deploy.cli, wod_deploy.roles, wod_deploy.compliance.runner, wod_deploy.compliance.drift\n"
              "import wod_deploy.preflight\n"
              "assert not any(m == 'docker' or m.startswith(('docker.', 'wod_deploy.testing')) for m in sys.modules)\n"
              "try:\n    import docker\nexcept ImportError:\n    print('blocked')\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "blocked", proc.stderr[-2000:]
    # and the real CLI checks an inventory: the unreachable host is reported, nothing crashes on import
    inv = tmp_path / "inv.py"
    inv.write_text('backend = [("gone", {"ssh_hostname": "127.0.0.1", "ssh_port": 1, "ssh_connect_retries": 0})]\n')
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", str(inv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "ERROR  gone  host.reachable" in proc.stdout, proc.stdout + proc.stderr


RUNTIME = ROOT / "wod_deploy" / "runtime"
# The hub venv's python runs the mail API (render.py renders workshops with Jinja2, as Ansible did).
BEYOND_STDLIB = {"render.py": {"jinja2"}}


def test_the_runtime_imports_only_the_standard_library_and_its_own_package():
    """What runs on the backend is shipped as one package with nothing installed for it: an import
    of anything else (wod-deploy, pyinfra, a PyPI package) would fail there, not here."""
    for path in sorted(RUNTIME.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path.name}: from {'.' * node.level}{node.module or ''} leaves the package"
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            for top in {n.split(".")[0] for n in names}:
                assert top in sys.stdlib_module_names or top == "__future__" or \
                    top in BEYOND_STDLIB.get(path.name, ()), f"{path.name} imports {top}"


def test_the_runtime_is_small_rooms():
    """One concern a module: none over 300 lines, no function over 60."""
    for path in sorted(RUNTIME.glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= 300, f"{path.name}: {len(text.splitlines())} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.name}: {node.name} has {length} lines"


def test_the_runtime_runs_as_shipped_from_its_own_directory(tmp_path):
    """The files the deploy ships, laid out as on a backend and run as its units run them
    (python3 -I, no wod-deploy on the path): a message goes through every import to its log."""
    from wod_deploy.components import system
    from wod_deploy.settings import Settings

    s = Settings()
    for item in system.runtime(s):
        dest = tmp_path / item.path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(item.content)
    shipped = sorted(p.name for p in (tmp_path / s.runtime_dir.lstrip("/")).iterdir())
    assert shipped == sorted(p.name for p in RUNTIME.glob("*.py"))
    log = tmp_path / "mail-api.log"
    config = tmp_path / "mailapi.json"
    config.write_text(f'{{"log_file": "{log}", "sender": "wodadmin@localhost", "clients": [], '
                      '"usermin": 1, "usermax": 2, "workshops_dir": "/nonexistent"}')
    proc = subprocess.run([sys.executable, "-I", f"{tmp_path}{s.runtime_dir}/cli.py"], input=b"Subject: CREATE 1 1\n\n",
                          env={"WOD_MAILAPI_CONFIG": str(config), "PATH": "/usr/bin:/bin"}, capture_output=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert '"outcome": "rejected"' in proc.stdout.decode() and "envelope sender" in log.read_text()
