"""The functions' package holds what the handlers import and nothing more: the package root, the core and the
AWS code (the Makefile `sam build` runs), and the layer's dependencies (lambda_layer/requirements.txt).
Its size is measured by benchmarks/lambda_package.py with the real `sam build`."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from aws_gateway import load_template

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "spaceinvaders_backend"
AWS = PACKAGE / "aws"
# In the Lambda python3.12 runtime already (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html).
RUNTIME_PROVIDED = {"boto3", "botocore"}
DISTRIBUTION = {"aws_lambda_powertools": "aws-lambda-powertools", "msgspec": "msgspec",
                "sortedcontainers": "sortedcontainers"}


def packaged_sources() -> list[Path]:
    """What the Makefile copies: Python files of the root, core and aws, not in hidden folders (.aws-sam)."""
    found = [*sorted((PACKAGE / "core").rglob("*.py")), *sorted(AWS.rglob("*.py"))]
    return [PACKAGE / "__init__.py", *(p for p in found if not any(part.startswith(".") for part in p.parts))]


def third_party_imports() -> set[str]:
    found = set()
    for path in packaged_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("__future__", "spaceinvaders_backend"):
                    found.add(top)
    return found


def requirements() -> set[str]:
    lines = (AWS / "lambda_layer" / "requirements.txt").read_text().splitlines()
    return {re.split(r"[<>=\[ ]", line)[0] for line in lines if line.strip() and not line.startswith("#")}


def test_the_layer_holds_exactly_what_the_code_imports_besides_the_runtime():
    imported = third_party_imports()
    assert {DISTRIBUTION[m] for m in imported - RUNTIME_PROVIDED} == requirements()
    assert imported - RUNTIME_PROVIDED <= set(DISTRIBUTION), "a new dependency: add it to the layer"


def test_the_packaged_code_imports_nothing_else_of_the_project():
    for path in packaged_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level:
                target = (path.parent / ("../" * (node.level - 1))).resolve() / node.module.replace(".", "/")
                assert target.is_relative_to(PACKAGE / "core") or target.is_relative_to(AWS), (path, node.module)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("spaceinvaders_backend"):
                assert node.module.startswith(("spaceinvaders_backend.core", "spaceinvaders_backend.aws")), path


def test_every_function_is_built_by_the_makefile_with_the_layer():
    template = load_template()
    assert template["Globals"]["Function"]["CodeUri"] == "./"
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "LambdaDependencies"}]
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource.get("Metadata") == {"BuildMethod": "makefile"}, logical
    layer = template["Resources"]["LambdaDependencies"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert (AWS / layer["Properties"]["ContentUri"] / "requirements.txt").is_file()
    samconfig = tomllib.loads((AWS / "samconfig.toml").read_text())
    assert samconfig["default"]["build"]["parameters"]["build_in_source"] is True  # the Makefile reads ../


def test_the_aws_extra_installs_what_the_layer_and_the_runtime_provide():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = {re.split(r"[<>=\[]", d)[0] for d in pyproject["project"]["optional-dependencies"]["aws"]}
    # msgspec and sortedcontainers: the project's own (the core's); botocore: boto3's
    assert extra == requirements() - {"msgspec", "sortedcontainers"} | {"boto3"}


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("tar") is None,
                    reason="make and tar build the functions' code, as sam build runs them; absent here")
def test_the_makefile_copies_the_code_and_the_handlers_import_from_it_alone(tmp_path):
    subprocess.run(["make", "-s", "build-ScoreboardFunction", f"ARTIFACTS_DIR={tmp_path}"], cwd=AWS, check=True)
    copied = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert copied == sorted(p.relative_to(ROOT).as_posix() for p in packaged_sources())
    handlers = [r["Properties"]["Handler"].rpartition(".")[0] for r in load_template()["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"]
    # Only the copy and the installed dependencies on the path (not the project, not the test tree).
    dependencies = {str(Path(importlib.util.find_spec(m).origin).parents[1]) for m in ("msgspec", "boto3")}
    program = (
        "import importlib, json, sys\n"
        f"sys.path[:] = [{str(tmp_path)!r}, *{sorted(dependencies)!r}, *[p for p in sys.path if 'lib/python' in p and 'site-packages' not in p]]\n"
        f"modules = [importlib.import_module(h) for h in {handlers!r}]\n"
        "print(json.dumps({'files': [m.__file__ for m in modules], 'local': [n for n in sys.modules if n.startswith('spaceinvaders_backend.local')]}))\n"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    answer = json.loads(subprocess.run([sys.executable, "-S", "-c", program], env=env, capture_output=True,
                                       text=True, check=True).stdout)
    assert all(f.startswith(str(tmp_path)) for f in answer["files"]), answer["files"]
    assert answer["local"] == []
