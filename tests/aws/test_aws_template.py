"""The SAM template validates offline (cfn-lint, the SAM translator) and agrees with the code around it:
the moto helper's resources, the functions' environment, the request models, the handlers it names. The
translated template holds what a first deploy needs: one stage, an API definition API Gateway's import
accepts, stateful resources kept, every log group with a retention, roles granting the calls made."""

from __future__ import annotations

import copy
import importlib
import json
import re
from pathlib import Path

import boto3
import botocore.session
import msgspec
import pytest
from aws_gateway import TEMPLATE, api_definition, check_definition, load_template, stack_names
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


def translate(template: dict) -> dict:
    """The template as CloudFormation receives it after `sam package` and the SAM transform."""
    packaged = copy.deepcopy(template)
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"  # what `sam package` writes
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artifacts/layer.zip"

    def no_managed_policy_lookup():
        raise AssertionError("the template names a managed policy SAM would look up in IAM")

    return Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1")).translate(
        packaged, parameter_values={}, get_managed_policy_map=no_managed_policy_lookup
    )


@pytest.fixture(scope="module")
def translated(template) -> dict:
    return translate(template)


def test_sam_translator_expands_it_to_plain_cloudformation(translated):
    resources = translated["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)
    for kind in (
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Stage",
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


# --- a first deploy: what AWS would refuse, what would be lost, what would be missing -----------------


def test_one_stage_only(translated):
    """Without OpenApiVersion SAM also makes the stage "Stage", serving the whole API without the stage's
    throttling, logs or WAF (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html)."""
    assert stage_names(translated) == [{"Ref": "Env"}]


def stage_names(translated: dict) -> list:
    """Every stage the template makes: its Stage resources, and a Deployment's `StageName` (how SAM makes
    "Stage": https://docs.aws.amazon.com/apigateway/latest/api/API_CreateDeployment.html, stageName)."""
    resources = translated["Resources"].values()
    return [r["Properties"]["StageName"] for r in resources if r["Type"] == "AWS::ApiGateway::Stage"] + [
        r["Properties"]["StageName"] for r in resources
        if r["Type"] == "AWS::ApiGateway::Deployment" and "StageName" in r["Properties"]
    ]


def test_the_translated_api_definition_is_one_api_gateway_imports(translated):
    """Every integration response answers a declared status and maps only declared headers, in the
    definition CloudFormation hands to API Gateway (after the SAM transform, which adds to it)."""
    (api,) = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    body = api["Properties"]["Body"]
    check_definition(body)
    assert {path for path in body["paths"]} == {
        "/v1/config", "/v1/session", "/v1/scoreboard", "/v1/updatestatus", "/v1/allocate", "/v1/deallocate"
    }


def test_no_usage_plan_and_no_api_keys(translated):
    """No method requires a key, so a usage plan would limit nothing: none is made (docs/aws.md)."""
    kinds = {r["Type"] for r in translated["Resources"].values()}
    assert not kinds & {"AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlanKey"}


STATEFUL = ("UserPool", "SessionsTable", "SeatsTable", "ScoreboardTable", "CurrentTable", "StatusStream",
            "ArchiveBucket", "DeadLetterQueue")


def test_what_holds_state_is_kept_when_the_stack_goes_or_replaces_it(translated):
    """Kept on a delete or a replacement, but deleted when the create that made it rolls back, so a failed first
    deploy leaves no fixed name behind to block its retry ("RetainExceptOnCreate behaves like Retain for stack
    operations, except for the stack operation that initially created the resource",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html)."""
    resources = translated["Resources"]
    for logical in STATEFUL:
        assert resources[logical].get("DeletionPolicy") == "RetainExceptOnCreate", logical
        assert resources[logical].get("UpdateReplacePolicy") == "Retain", logical
    # nothing else is kept: a redeploy after a tear-down finds only what docs/aws.md lists
    kept = {k for k, r in resources.items() if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")}
    assert kept == set(STATEFUL) | {"ApiGatewayCloudWatchRole"}


def test_no_deletion_protection_turns_a_failed_first_create_into_rollback_failed(translated):
    """A protected pool or table refuses the delete its rollback makes: Cognito answers DeleteUserPool with
    InvalidParameterException until DeletionProtection is INACTIVE
    (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-deletion-protection.html), and
    DynamoDB refuses DeleteTable while DeletionProtectionEnabled
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection).
    The deletion policies guard every stack operation, so the stateful resources carry none."""
    resources = translated["Resources"]
    for logical in STATEFUL:
        properties = resources[logical]["Properties"]
        assert properties.get("DeletionProtection", "INACTIVE") == "INACTIVE", logical
        assert not properties.get("DeletionProtectionEnabled", False), logical


def test_every_function_logs_to_its_own_group_with_a_retention(translated):
    resources = translated["Resources"]
    groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        group = resource["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    names = [g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values()]
    assert len(names) == len(set(names))


def test_api_gateway_and_firehose_log_what_a_first_deploy_needs(translated):
    resources = translated["Resources"]
    stage = resources["ApiStage"]["Properties"]
    assert stage["AccessLogSetting"]["Fn::If"][0] == "HasApiLogs"
    assert "$context.requestId" in stage["AccessLogSetting"]["Fn::If"][1]["Format"]  # API Gateway requires it
    for setting in stage["MethodSettings"]:
        assert setting["LoggingLevel"] == {"Fn::If": ["HasApiLogs", {"Ref": "ApiExecutionLogLevel"}, "OFF"]}
        assert setting["DataTraceEnabled"] is False  # bodies carry tokens' owners' data: not logged
    # Execution logs need the account's CloudWatch role: made when asked, and the stage waits for it.
    assert resources["ApiGatewayAccount"]["Condition"] == "CreatesApiLogRole"
    assert "ApiLogRoleReady" in resources["Api"].get("DependsOn", [])
    archive = resources["Archive"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert archive["CloudWatchLoggingOptions"]["Enabled"] is True


def test_config_answers_the_parameters_the_stack_publishes(template, world):
    """/config is answered by API Gateway itself (a mock integration) with the values of the SSM
    parameters of the contract: both come from the same resources, and this keeps the lists equal."""
    names = stack_names(world.stack, ["SeatsFunction"])
    spec = api_definition(names)["paths"]["/v1/config"]["get"]["x-amazon-apigateway-integration"]
    answered = json.loads(spec["responses"]["default"]["responseTemplates"]["application/json"])
    published = {
        name: value
        for name, value in world.stack.parameters.items()
        if not name.endswith(("/tables", "/session"))
    }
    assert {p["Name"]: p["Value"] for p in answered["Parameters"]} == published


def _statements(role: dict) -> list[dict]:
    return [st for policy in role["Properties"]["Policies"] for st in policy["PolicyDocument"]["Statement"]]


def test_api_integration_role_grants_exactly_its_three_calls(template):
    statements = _statements(template["Resources"]["ApiIntegrationRole"])
    assert [(st["Action"], st["Resource"]) for st in statements] == [
        ("ssm:GetParameter",
         {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Env}/session"}),
        ("dynamodb:Query", {"Fn::Sub": "${ScoreboardTable.Arn}/index/Ranking"}),
        ("kinesis:PutRecord", {"Fn::GetAtt": ["StatusStream", "Arn"]}),
    ]


def test_the_cognito_trigger_may_add_users_to_groups_of_its_own_pool_only(template):
    resources = template["Resources"]
    policy = resources["CognitoTriggersPoolPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "CognitoTriggersRole"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "cognito-idp:AdminAddUserToGroup", {"Fn::GetAtt": ["UserPool", "Arn"]}
    )
    for st in _statements(resources["CognitoTriggersRole"]):
        assert st["Resource"] == {"Fn::GetAtt": ["CognitoTriggersLogGroup", "Arn"]}


def test_my_functions_roles_name_no_wildcard_resource(template):
    for role in ("ScoreboardRole", "ArchiveTransformRole", "CognitoTriggersRole", "ApiIntegrationRole", "SeatsRole",
                 "SweeperRole", "WebSocketAuthorizerRole"):  # WebSocketRole's @connections/* is every connection
        for st in _statements(template["Resources"][role]):
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            for resource in resources:
                text = json.dumps(resource)
                assert "/*" not in text and '"*"' not in text, (role, st)


def test_the_player_rate_limit_is_off_or_one_waf_accepts(template):
    """WAF's rate-based statement takes a Limit of 10 to 2,000,000,000 (botocore's model of WAFv2, `RateLimit`;
    https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html): CloudFormation must refuse
    1 to 9 when the parameter is given, not fail the deploy at the web ACL. 0 leaves WAF out."""
    limit = botocore.session.get_session().get_service_model("wafv2").shape_for("RateBasedStatement").members["Limit"]
    low, high = limit.metadata["min"], limit.metadata["max"]
    parameter = template["Parameters"]["PlayerRateLimitPerMinute"]
    assert parameter["Type"] == "String" and parameter["Default"] == "0"
    pattern = re.compile(parameter["AllowedPattern"])
    accepted = lambda v: bool(pattern.fullmatch(v))
    for value in ("0", str(low), "11", "99", "600", "100000", str(high - 1), str(high)):
        assert accepted(value), value
    for value in ("", "1", "9", str(low - 1), str(high + 1), "2999999999", "10000000000", "00", "010", "-1",
                  "10.0", " 600", "1e3"):
        assert not accepted(value), value
    assert all(accepted(str(v)) == (v == 0 or low <= v <= high) for v in range(1001))
    # the condition compares the text: "0" turns WAF off, any other accepted value turns it on
    assert template["Conditions"]["HasPlayerRateLimit"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "PlayerRateLimitPerMinute"}, "0"]}]}
    statement = template["Resources"]["PlayerRateLimit"]["Properties"]["Rules"][0]["Statement"]
    assert statement["RateBasedStatement"]["Limit"] == {"Ref": "PlayerRateLimitPerMinute"}
    assert template["Resources"]["PlayerRateLimit"]["Condition"] == "HasPlayerRateLimit"
