"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


def test_readme_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    for block in python_blocks():  # later blocks use names from earlier ones
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "sharpe" in out  # the summary table was printed


# ---------------------------------------------------------------- the Quick start

ROOT = README.parent


def quick_start_commands() -> list[str]:
    """The command lines of the Quick start's first bash block."""
    section = README.read_text().split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block is not None, "the Quick start has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def requirement_names(requirements: list[str]) -> dict[str, str]:
    """{normalized distribution name: requirement as written}."""
    out = {}
    for req in requirements:
        name = re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0]
        out[re.sub(r"[-_.]+", "-", name).lower()] = req.strip()
    return out


def pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest depends on tomli there
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements_test() -> list[str]:
    lines = (ROOT / "requirements-test.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_quick_start_is_two_commands_and_one_build():
    install_demo, tests = quick_start_commands()
    assert install_demo.startswith('pip install ".[report]"')  # the plots come with it
    assert install_demo.endswith("&& neutralkit demo")
    # the second command must not install (so build) the package again
    assert tests == "pip install -r requirements-test.txt && python -m pytest"


def test_ci_runs_the_quick_start_verbatim():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in quick_start_commands():
        assert command in lines, command
    assert not any("pytest" in line for line in lines if line not in quick_start_commands()[1:])


def test_test_extra_is_requirements_test_txt():
    extras = pyproject()["project"]["optional-dependencies"]
    assert sorted(extras["test"]) == sorted(requirements_test())


def test_every_extra_is_tested():
    """Each optional integration's dependencies are installed for the test suite."""
    extras = pyproject()["project"]["optional-dependencies"]
    tested = requirement_names(requirements_test())
    for extra, requirements in extras.items():
        if extra in ("test", "dev"):
            continue
        for name, req in requirement_names(requirements).items():
            assert name in tested, f"extra {extra!r}: {req} is not in requirements-test.txt"
            assert tested[name] == req, f"extra {extra!r}: {req} vs {tested[name]}"


def _imported_modules(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (  # pytest.importorskip("module")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def _closure(names: set[str]) -> set[str]:
    """Distributions installed with `names` (every requirement, markers ignored)."""
    from importlib import metadata

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += list(requirement_names(requires))
    return seen


def test_requirements_cover_every_test_import():
    """A test module importing a package missing from requirements-test.txt fails here,
    rather than in a new user's first `python -m pytest`."""
    import sys
    from importlib import metadata

    local = {"neutralkit", "tests", "_pytest", "pytest"}
    local |= {p.stem for p in (ROOT / "tests").rglob("*.py")}  # helpers next to the tests
    installed = _closure({"numpy", "pandas", *requirement_names(requirements_test())})
    distributions = metadata.packages_distributions()
    tests = ROOT / "tests"
    missing = []
    for path in [*sorted(tests.glob("test_*.py")), tests / "conftest.py"]:
        for module in _imported_modules(path):
            if module in sys.stdlib_module_names or module in local:
                continue
            dists = {n for d in distributions.get(module, [module]) for n in requirement_names([d])}
            if not dists & installed:
                missing.append(f"{path.name}: {module}")
    assert not missing, missing
