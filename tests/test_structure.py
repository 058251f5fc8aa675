"""The shape of the code: what imports what, and the public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mesocli

PACKAGE = Path(mesocli.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_cli_import_does_not_load_heavy_modules():
    """Importing the CLI module loads neither SQLAlchemy, Alembic, pint nor rich."""
    code = (
        "import sys, mesocli.cli.app;"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'pint', 'rich') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_does_not_load_heavy_modules():
    """``meso --help`` renders without importing SQLAlchemy, Alembic, pint, rich or pydantic."""
    code = (
        "import sys\n"
        "from mesocli.cli.app import run\n"
        "run(['--help'])\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'pint', 'rich', 'pydantic') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=" in out.stderr
    assert out.stderr.split("HEAVY=")[1].strip() == ""


def test_rich_is_imported_only_by_the_render_layer():
    """Only modules under mesocli/render import rich."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "rich" in _imports(path) and path.parent.name != "render"
    ]
    assert offenders == []


def test_domain_is_free_of_frameworks():
    """The domain layer imports no SQLAlchemy, typer or rich."""
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & {"sqlalchemy", "typer", "rich", "alembic"})
        for path in (PACKAGE / "domain").rglob("*.py")
        if _imports(path) & {"sqlalchemy", "typer", "rich", "alembic"}
    }
    assert offenders == {}


def test_pint_registry_is_created_only_in_units():
    """No module but units.py constructs a pint UnitRegistry."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "UnitRegistry(" in path.read_text(encoding="utf-8") and path.name != "units.py"
    ]
    assert offenders == []


def test_public_api_matches_the_documented_names():
    """``mesocli.__all__`` lists exactly the documented public names, and each resolves."""
    documented = {
        "Catalogue", "CheckResult", "DatabaseError", "Finding", "InputError", "MesoError", "Patient",
        "Recipe", "UnknownTermError", "UnitError", "__version__", "build", "check", "load_catalogue",
    }
    assert set(mesocli.__all__) == documented
    from importlib.metadata import version

    for name in mesocli.__all__:
        value = getattr(mesocli, name)
        if name == "__version__":
            assert value == version("meso")
        else:  # the class or function of that name, not some other object
            assert value.__name__ == name and value.__module__.startswith("mesocli."), name


def test_errors_carry_their_exit_codes():
    """Each error class carries the documented exit code."""
    from mesocli.errors import DatabaseError, InputError, MesoError, UnitError, UnknownTermError

    assert issubclass(InputError, MesoError) and InputError.exit_code == 2
    assert issubclass(UnitError, InputError) and issubclass(UnknownTermError, InputError)
    assert DatabaseError.exit_code == 3


def test_a_check_without_quantities_needs_neither_pint_nor_sqlalchemy(tmp_path):
    """Once the catalogue snapshot exists, ``meso check`` loads no SQLAlchemy, Alembic, pint or rich
    unless a quantity needs the unit registry: a weight in kilograms does not, a weight in pounds
    brings in pint, still without SQLAlchemy. Option parsing never loads pydantic (some
    command-line libraries validate options with it)."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "MESO_DATABASE_URL"}
    env["MESO_HOME"] = str(tmp_path)

    def heavy(*args: str) -> str:
        code = (
            "import sys\n"
            "from mesocli.cli.app import run\n"
            f"run({list(args)!r})\n"
            "sys.stderr.write('HEAVY=' + ','.join(m for m in ('sqlalchemy', 'alembic', 'pint', 'rich',"
            " 'pydantic') if m in sys.modules))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        return out.stderr.split("HEAVY=")[1].strip()

    check = ["check", "--allergy", "lidocaine", "--ingredient", "hyaluronic-acid", "--json"]
    heavy(*check)  # the first run reads the database and keeps the snapshot
    assert heavy(*check) == ""
    assert heavy("check", "--condition", "pregnancy", "--json") == ""
    assert heavy(*check, "--weight", "70 kg") == ""
    assert heavy(*check, "--weight", "154 lb") == "pint"
    # A product with dose limits and no volume: the limits it could not apply are named, in
    # words worked out when the catalogue was indexed, so still without pint.
    assert heavy("check", "--ingredient", "lidocaine-2pct-md-methylparaben", "--json") == ""


PROCESS_MODULES = {"multiprocessing", "subprocess", "concurrent"}
PROCESS_CALLS = {"fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnv", "spawnve", "spawnl", "spawnle",
                 "system", "popen", "execv", "execve"}


def _starts_processes(path: Path) -> bool:
    """Whether a module imports a process module or calls ``os.fork`` (or another ``os`` call
    that starts a process)."""
    if _imports(path) & PROCESS_MODULES:
        return True
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and node.attr in PROCESS_CALLS
               and isinstance(node.value, ast.Name) and node.value.id == "os" for node in ast.walk(tree))


def test_the_batch_worker_pool_is_in_the_batch_module_only():
    """Only mesocli/batch.py starts processes (the batch worker pool forks with os.fork)."""
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if _starts_processes(path) and path.name != "batch.py"]
    assert offenders == []
    assert _starts_processes(PACKAGE / "batch.py")  # the check sees the pool it allows


def _runtime_imports(path: Path) -> set[str]:
    """The mesocli modules ``path`` imports at run time: at module level or inside functions,
    but not under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    typing_only = {id(inner) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mesocli"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("mesocli"))
    return found


def test_the_domain_has_no_import_circles():
    """No module of the domain layer imports, directly or through others, a module that imports it
    (imports inside functions count: deferring an import does not remove the circle)."""
    modules = {}
    for path in (PACKAGE / "domain").rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {m for m in _runtime_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}

    def reaches(start: str, target: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            current = todo.pop()
            if current == target:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(graph.get(current, ()))
        return False

    circles = sorted(name for name in graph if reaches(name, name))
    assert circles == []
    assert "mesocli.domain.rules.dose_limit" in graph["mesocli.domain.rules"]  # the walk sees the registry


# ------------------------------------------------------------------------ the tests' own layout
# tests/ mirrors mesocli/: the tests of mesocli/X/Y.py live in tests/X/test_Y.py (tests/README.md).
# Whole-product tests (through several layers at once) have one folder of their own; the shared
# helpers (conftest.py, _findings.py, _terminal.py) sit at the top and the data folders hold no tests.

TESTS = Path(__file__).resolve().parent
SOURCE = TESTS.parent / "mesocli"
PRODUCT_FOLDER = "product"
DATA_FOLDERS = {"fixtures", "golden"}


def _folders(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")
            if path.is_dir() and path.name != "__pycache__"}


def _test_folders() -> set[str]:
    return {"." if path.parent == TESTS else path.parent.relative_to(TESTS).as_posix()
            for path in TESTS.rglob("test_*.py")}


def test_every_test_file_sits_in_a_folder_the_package_has():
    """A test file is at the top of tests/, in a folder that mirrors one of mesocli/, or in the product folder."""
    allowed = _folders(SOURCE) | {".", PRODUCT_FOLDER}
    assert sorted(_test_folders() - allowed) == []


def test_every_folder_of_tests_mirrors_the_package_or_holds_data():
    """No folder of tests/ that the package lacks, other than the product folder and the data folders."""
    stray = sorted(folder for folder in _folders(TESTS) - _folders(SOURCE) - {PRODUCT_FOLDER}
                   if folder.split("/")[0] not in DATA_FOLDERS)
    assert stray == []


def test_the_data_folders_hold_no_tests():
    """Fixtures and goldens are read by tests; a test file among them would escape the mirror."""
    assert sorted(path.relative_to(TESTS).as_posix() for folder in DATA_FOLDERS
                  for path in (TESTS / folder).rglob("test_*.py")) == []


def test_every_test_folder_is_a_package():
    """Each folder holding tests has an __init__.py, so two folders can hold files of the same name."""
    folders = {TESTS} | {TESTS / folder for folder in _test_folders() if folder != "."}
    missing = sorted(path.relative_to(TESTS.parent).as_posix() for path in folders
                     if not (path / "__init__.py").is_file())
    assert missing == []
