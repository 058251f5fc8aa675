"""The README and the help text say what the program does, and stay in step with it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```(?:sh|python|toml|json)?\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_install_and_test_commands():
    """The first two code blocks install meso and run its main job, then run the test suite."""
    first, second = _code_blocks(README.read_text(encoding="utf-8"))[:2]
    assert "pip install ." in first and "meso build --indication" in first
    assert 'pip install -e ".[test]"' in second and "pytest" in second


def test_ci_runs_the_readme_test_command():
    """.ci/run installs the test extra and runs pytest, as the README says."""
    script = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert '-e ".[test]"' in script and "python -m pytest" in script


def test_readme_says_meso_is_decision_support():
    """The README states that meso is decision support for qualified practitioners."""
    assert "decision support for qualified practitioners" in README.read_text(encoding="utf-8")


def test_exit_codes_are_documented_in_help_and_readme(meso):
    """``meso --help`` and the README both document exit codes 0 to 3."""
    help_text = meso("--help").stdout
    readme = README.read_text(encoding="utf-8")
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\s*{code}\s+\S", help_text, flags=re.M), f"exit code {code} missing from --help"
        assert re.search(rf"^\| {code} \|", readme, flags=re.M), f"exit code {code} missing from README"


def test_readme_python_example_runs():
    """The Python API example in the README runs and gives the results it shows."""
    block = next(b for b in _code_blocks(README.read_text(encoding="utf-8")) if "from mesocli import" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["result"].status == "contraindicated"  # type: ignore[attr-defined]


def test_readme_request_example_runs():
    """The README's request example (after the API example, in the same namespace) gives what it shows."""
    blocks = [b for b in _code_blocks(README.read_text(encoding="utf-8")) if b.startswith("from mesocli")]
    api_block = next(b for b in blocks if "from mesocli import" in b)
    request_block = next(b for b in blocks if "request_from_mapping" in b)
    namespace: dict[str, object] = {}
    exec(compile(api_block, "README.md", "exec"), namespace)
    exec(compile(request_block, "README.md", "exec"), namespace)
    assert namespace["request"].exit_code(namespace["result"]) == 1  # type: ignore[attr-defined]
    document = namespace["document"]
    assert document["kind"] == "check" and len(document["catalogue"]["content_sha256"]) == 64  # type: ignore[index]
