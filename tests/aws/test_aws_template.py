"""The SAM template validates offline (cfn-lint, the SAM translator) and agrees with the code around it:
the moto helper's resources, the functions' environment, the request models, the handlers it names."""

from __future__ import annotations

import copy
import importlib
import json
import re
import tomllib
from pathlib import Path

import boto3
import msgspec
import pytest
from aws_gateway import TEMPLATE, load_template
from aws_stack import TABLE_INDEXES, TABLE_KEYS
from cfnlint.api import lint_file
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from spaceinvaders_backend.core import models

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def _sub_text(value) -> str:
    """The text of a `!Sub` string (or a plain string)."""
    return value["Fn::Sub"] if isinstance(value, dict) else value


def test_cfn_lint_finds_nothing():
    matches = lint_file(TEMPLATE, config={"regions": ["us-east-1", "eu-west-1"]})
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


def test_sam_translator_expands_it_to_plain_cloudformation(template):
    packaged = copy.deepcopy(template)
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"  # what `sam package` writes

    def no_managed_policy_lookup():
        raise AssertionError("the template names a managed policy SAM would look up in IAM")

    translated = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1")
    ).translate(packaged, parameter_values={}, get_managed_policy_map=no_managed_policy_lookup)
    resources = translated["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)
    for kind in (
        "AWS::Lambda::Function",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::UsagePlan",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
    ):
        assert kind in kinds, kind
    mapping = next(
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    stage = resources["ApiStage"]["Properties"]
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Runtime"] for f in functions} == {"python3.12"}


def test_moto_helper_builds_the_tables_of_the_template(template, world):
    """Same tables, keys and index in tests/aws_stack.py as in template.yaml, and on moto as declared."""
    resources = template["Resources"]
    ddb = boto3.client("dynamodb", region_name=world.stack.region)
    declared = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = _sub_text(props["TableName"]).replace("${Env}", world.stack.env)
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        indexes = {
            i["IndexName"]: (
                {k["KeyType"]: k["AttributeName"] for k in i["KeySchema"]},
                i["Projection"]["ProjectionType"],
            )
            for i in props.get("GlobalSecondaryIndexes", [])
        }
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        declared[logical.removesuffix("Table")] = (name, keys, indexes, types, props["BillingMode"])
    assert set(declared) == set(TABLE_KEYS)
    for table, (name, keys, indexes, types, billing) in declared.items():
        hash_key, range_key = TABLE_KEYS[table]
        assert keys == {"HASH": hash_key, **({"RANGE": range_key} if range_key else {})}, table
        assert {n: (k, "ALL") for n, k in _helper_indexes(table).items()} == indexes, table
        assert world.stack.tables[table] == name
        described = ddb.describe_table(TableName=name)["Table"]
        assert {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]} == keys
        assert {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]} == types
        assert described["BillingModeSummary"]["BillingMode"] == billing
        assert {
            i["IndexName"]: (
                {k["KeyType"]: k["AttributeName"] for k in i["KeySchema"]},
                i["Projection"]["ProjectionType"],
            )
            for i in described.get("GlobalSecondaryIndexes", [])
        } == indexes


def _helper_indexes(table: str) -> dict:
    return {name: {"HASH": h, "RANGE": r} for name, (h, r) in TABLE_INDEXES.get(table, {}).items()}


def test_ssm_names_and_function_environment_match_the_helper(template, world):
    resources = template["Resources"]
    published = json.loads(
        re.sub(r"\$\{[^}]+\}", "x", _sub_text(resources["TablesParameter"]["Properties"]["Value"]))
    )
    assert set(published) == set(world.stack.tables)
    parameter_names = {
        _sub_text(r["Properties"]["Name"]).replace("${Env}", world.stack.env)
        for r in resources.values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    assert parameter_names == set(world.stack.parameters)
    environment = set(template["Globals"]["Function"]["Environment"]["Variables"])
    environment |= set(resources["WebSocketAuthorizerFunction"]["Properties"]["Environment"]["Variables"])
    helper = set(world.stack.function_environment())
    assert environment - {"POWERTOOLS_LOG_LEVEL"} <= helper


def test_every_handler_named_by_the_template_exists(template):
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            module, _, function = resource["Properties"]["Handler"].rpartition(".")
            assert callable(getattr(importlib.import_module(module), function)), logical


def _constraints(schema: dict) -> dict:
    keys = ("type", "minimum", "maximum", "minLength", "maxLength", "pattern")
    return {k: schema[k] for k in keys if k in schema}


@pytest.mark.parametrize(
    ("model", "struct"), [("StatusUpdate", models.StatusUpdate), ("UsernameBody", models.UsernameBody)]
)
def test_request_models_have_the_core_bounds(template, model, struct):
    """API Gateway validates a body with the same bounds as the core's msgspec model."""
    schema = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["components"]["schemas"][model]
    (_core,), definitions = msgspec.json.schema_components([struct])
    core_schema = definitions[struct.__name__]
    assert set(schema["required"]) == set(core_schema["required"])
    for name, prop in core_schema["properties"].items():
        assert _constraints(schema["properties"][name]) == _constraints(prop), name


def test_lambda_requirements_cover_the_aws_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = {re.split(r"[<>=\[]", d)[0] for d in pyproject["project"]["optional-dependencies"]["aws"]}
    lines = (ROOT / "spaceinvaders_backend" / "aws" / "requirements.txt").read_text().splitlines()
    required = {re.split(r"[<>=\[]", line)[0] for line in lines if line and not line.startswith("#")}
    assert extra <= required
    assert {"msgspec", "pyjwt", "sortedcontainers"} <= required  # the core's (ranking) and the authorizer's own needs


def test_sam_config_builds_with_the_lambda_requirements():
    here = ROOT / "spaceinvaders_backend" / "aws"
    samconfig = tomllib.loads((here / "samconfig.toml").read_text())
    assert (here / samconfig["default"]["build"]["parameters"]["manifest"]).is_file()
    assert load_template()["Globals"]["Function"]["CodeUri"] == "../../"  # the project, for its packages
