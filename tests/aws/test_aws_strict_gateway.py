"""The test gateway is as strict as API Gateway where the first review found it lenient (issue 15). Each
rule is refused in the form main's template had (copied here as it was, at 83b10e2), and the template
passes it. The rules and the pages that state them are in tests/aws_gateway.py."""

from __future__ import annotations

import base64
import copy
import json
import re

import pytest
from aws_gateway import (
    ImportRefused,
    RestApi,
    UndocumentedVelocity,
    api_definition,
    check_definition,
    integration_response,
    load_template,
    render,
)
from aws_world import FUNCTIONS
from test_aws_mapping import NAMES, status_body
from test_aws_template import stage_names, translate

# --- main's forms (83b10e2), as they were -----------------------------------------------------------------

OLD_UPDATESTATUS_REQUEST = """#set($claims = $context.authorizer.claims)
#set($groups = "$!claims['cognito:groups']")
#set($key = '')
#if($input.path('$.Nickname') == $claims['cognito:username'] && ($groups.contains('Gamer') || $groups.contains('Players')))
#set($key = $input.path('$.Nickname'))
#end
#define($record){"SessionId": $input.json('$.SessionId'), "Nickname": $input.json('$.Nickname'), "Score": $input.json('$.Score'), "Shots": $input.json('$.Shots'), "Level": $input.json('$.Level'), "Lives": $input.json('$.Lives'), "Timestamp": $input.json('$.Timestamp'), "ReceivedAtEpochMs": $context.requestTimeEpoch}#end
{"StreamName": "spaceinvaders-t-status", "PartitionKey": "$key", "Data": "$util.base64Encode("$record")"}
"""

OLD_SCOREBOARD_RESPONSES = {
    "responses": {
        "200": {"description": "the top 10"},
        "400": {"description": "a malformed sessionId"},
        "429": {"description": "DynamoDB throttled", "headers": {"Retry-After": {"schema": {"type": "string"}}}},
    },
    "integration_responses": {
        "default": {"statusCode": "200"},
        "4\\d{2}": {"statusCode": "400", "responseParameters": {"method.response.header.Retry-After": "'1'"}},
        "5\\d{2}": {"statusCode": "503"},
    },
}

OLD_SESSION_INTEGRATION = {
    "type": "aws",
    "httpMethod": "POST",
    "uri": "arn:aws:apigateway:us-east-1:ssm:action/GetParameter",
    "credentials": "arn:aws:iam::123456789012:role/api",
    "passthroughBehavior": "when_no_templates",
    "requestTemplates": {"application/json": '{"Name": "/ENV/session"}'},
    "responses": {
        "default": {"statusCode": "200", "responseTemplates": {"application/json": "$input.path('$.Parameter.Value')"}},
        "4\\d{2}|5\\d{2}": {"statusCode": "503", "responseTemplates": {"application/json": '{"errorCode": "Unavailable"}'}},
    },
}


def with_old_scoreboard(definition: dict) -> dict:
    old = copy.deepcopy(definition)
    operation = old["paths"]["/v1/scoreboard"]["get"]
    operation["responses"] = copy.deepcopy(OLD_SCOREBOARD_RESPONSES["responses"])
    integration = operation["x-amazon-apigateway-integration"]
    for pattern, response in OLD_SCOREBOARD_RESPONSES["integration_responses"].items():
        integration["responses"][pattern] = {**integration["responses"].get(pattern, {}), **response}
        if "responseParameters" not in response:
            integration["responses"][pattern].pop("responseParameters", None)
    return old


# --- 1. $context.authorizer.claims as a whole is null -----------------------------------------------------


CLAIMS = {"cognito:username": "alice", "cognito:groups": "Gamer", "sub": "s-1"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$context.authorizer.claims['cognito:username']", "alice"),
        ('$context.authorizer.claims["cognito:username"]', "alice"),
        ("$context.authorizer.claims.sub", "s-1"),
        ("${context.authorizer.claims.sub}", "s-1"),
        ("$!context.authorizer.claims['nope']", ""),
        ("$!context.authorizer.claims", ""),  # the map as a whole: null
        ("#set($c = $context.authorizer.claims)$!c['cognito:username']", ""),  # and so is what was set from it
        ("#if($context.authorizer.claims)yes#{else}null#end", "null"),
    ],
)
def test_only_named_claims_resolve(template, expected):
    assert render(template, context={"authorizer": {"claims": CLAIMS}}) == expected


def without_define(template: str) -> str:
    """Main's template with its #define (refused since: see section 4) made a #set, to test its claims alone."""
    return re.sub(r"#define\(\$record\)(.*)#end", lambda m: "#set($record = 'x')", template)


def test_mains_updatestatus_template_refuses_every_player():
    """The whole-map read gave every post an empty partition key: a 403 for every player on AWS."""
    context = {"authorizer": {"claims": CLAIMS}, "requestTimeEpoch": 1}
    old = json.loads(render(without_define(OLD_UPDATESTATUS_REQUEST), body=json.dumps(status_body()),
                            context=context))
    assert old["PartitionKey"] == ""
    template = api_definition(NAMES)["paths"]["/v1/updatestatus"]["post"]["x-amazon-apigateway-integration"]
    new = json.loads(render(template["requestTemplates"]["application/json"], body=json.dumps(status_body()),
                            context=context))
    assert new["PartitionKey"] == "alice"
    assert json.loads(base64.b64decode(new["Data"]))["Nickname"] == "alice"


# --- 2. a mapping to an undeclared method-response status or header is an import error ---------------


def test_mains_scoreboard_responses_are_refused_at_import():
    with pytest.raises(ImportRefused) as refused:
        check_definition(with_old_scoreboard(api_definition(NAMES)))
    message = str(refused.value)
    assert "Invalid mapping expression parameter specified: method.response.header.Retry-After" in message
    assert "'5\\\\d{2}' -> 503: No method response exists for method." in message


def test_the_gateway_will_not_serve_a_definition_api_gateway_refuses(world):
    template = copy.deepcopy(load_template())
    body = template["Resources"]["Api"]["Properties"]["DefinitionBody"]
    del body["paths"]["/v1/updatestatus"]["post"]["responses"]["403"]["headers"]
    with pytest.raises(ImportRefused, match="method.response.header.Retry-After"):
        RestApi(world.stack, FUNCTIONS, template=template)
    del body["paths"]["/v1/updatestatus"]["post"]["responses"]["503"]
    with pytest.raises(ImportRefused, match="No method response exists"):
        RestApi(world.stack, FUNCTIONS, template=template)


def test_the_whole_translated_definition_is_checked():
    """The check runs on the body CloudFormation hands to API Gateway (after the SAM transform): main's
    /scoreboard responses are refused there too."""
    old = copy.deepcopy(load_template())
    properties = old["Resources"]["Api"]["Properties"]
    operation = properties["DefinitionBody"]["paths"]["/v1/scoreboard"]["get"]
    operation["responses"] = copy.deepcopy(OLD_SCOREBOARD_RESPONSES["responses"])
    operation["x-amazon-apigateway-integration"]["responses"]["5\\d{2}"]["statusCode"] = "503"
    (api,) = [r for r in translate(old)["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    with pytest.raises(ImportRefused, match="No method response exists"):
        check_definition(api["Properties"]["Body"])


# --- 3. SSM is called in its JSON protocol, and only so -----------------------------------------------


def test_mains_session_integration_is_refused_by_ssm(world, manager, fresh_session):
    """`ssm:action/GetParameter` without X-Amz-Target: SSM cannot route it (400), answered as a 503."""
    fresh_session()
    _name, token = world.user()
    assert world.api.get("/v1/session", token).status == 200
    old = copy.deepcopy(load_template())
    operation = old["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]["/v1/session"]["get"]
    operation["x-amazon-apigateway-integration"] = json.loads(
        json.dumps(OLD_SESSION_INTEGRATION).replace("/ENV/", f"/{world.stack.env}/")
    )
    answer = RestApi(world.stack, FUNCTIONS, template=old).get("/v1/session", token)
    assert (answer.status, answer.json()["errorCode"]) == (503, "Unavailable")


@pytest.mark.parametrize(
    ("headers", "uri"),
    [
        ({}, "path//"),  # no X-Amz-Target, no Content-Type
        ({"Content-Type": "'application/x-amz-json-1.1'"}, "path//"),  # no X-Amz-Target
        ({"X-Amz-Target": "'AmazonSSM.GetParameter'"}, "path//"),  # no Content-Type
        ({"X-Amz-Target": "'AmazonSSM.GetParameter'", "Content-Type": "'application/json'"}, "path//"),
        ({"X-Amz-Target": "'AmazonSSM.GetParameter'", "Content-Type": "'application/x-amz-json-1.0'"}, "path//"),
        ({"X-Amz-Target": "'SSM.GetParameter'", "Content-Type": "'application/x-amz-json-1.1'"}, "path//"),
        ({"X-Amz-Target": "'AmazonSSM.GetParameter'", "Content-Type": "'application/x-amz-json-1.1'"}, "path/x"),
        ({"Content-Type": "'application/x-amz-json-1.1'"}, "action/GetParameter"),
    ],
)
def test_ssm_refuses_every_other_request_shape(world, manager, fresh_session, headers, uri):
    fresh_session()
    _name, token = world.user()
    template = copy.deepcopy(load_template())
    operation = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]["/v1/session"]["get"]
    integration = operation["x-amazon-apigateway-integration"]
    integration["uri"] = {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:ssm:" + uri}
    integration["requestParameters"] = {f"integration.request.header.{k}": v for k, v in headers.items()}
    answer = RestApi(world.stack, FUNCTIONS, template=template).get("/v1/session", token)
    assert answer.status == 503


def test_a_refused_ssm_request_is_a_4xx_with_the_services_error_shape():
    spec = api_definition(NAMES)["paths"]["/v1/session"]["get"]["x-amazon-apigateway-integration"]
    answer = integration_response(spec, 400, {"__type": "InvalidAction", "message": "x"}, {})
    assert answer.status == 503


# --- 4. one stage ------------------------------------------------------------------------------------------


def test_without_openapiversion_sam_makes_a_second_stage():
    """Main's template (no OpenApiVersion): SAM's deployment also makes the stage "Stage"; this branch's
    template makes its one stage."""
    old = copy.deepcopy(load_template())
    del old["Resources"]["Api"]["Properties"]["OpenApiVersion"]
    assert sorted(map(str, stage_names(translate(old)))) == sorted(["Stage", str({"Ref": "Env"})])
    assert stage_names(translate(load_template())) == [{"Ref": "Env"}]


# --- 4. only the Velocity directives AWS's examples use -------------------------------------------------


def test_mains_define_is_refused():
    """No AWS page shows API Gateway's Velocity accepting #define (main's /updatestatus built its record with
    it): the emulator refuses it, when rendering and when the definition is loaded."""
    context = {"authorizer": {"claims": CLAIMS}, "requestTimeEpoch": 1}
    with pytest.raises(UndocumentedVelocity, match="#define"):
        render(OLD_UPDATESTATUS_REQUEST, body=json.dumps(status_body()), context=context)
    for directive in ("#macro(m)x#end", "#parse('x')", "#include('x')", "#evaluate('x')", "#{define}($a)x#end",
                      "#stop", "#break"):
        with pytest.raises(UndocumentedVelocity):
            render(directive)
    definition = api_definition(NAMES)
    integration = definition["paths"]["/v1/updatestatus"]["post"]["x-amazon-apigateway-integration"]
    integration["requestTemplates"]["application/json"] = OLD_UPDATESTATUS_REQUEST
    with pytest.raises(UndocumentedVelocity, match="#define"):
        check_definition(definition)


def test_the_documented_directives_and_comments_render():
    text = "## a #define in a comment\n#* #macro too *#\n#set($a = 1)#if($a == 1)one#{else}other#end" \
           "#foreach($i in [1, 2])$i#end \\#define"
    assert render(text).strip() == "one12 #define"  # an escaped directive is text


def test_the_template_uses_no_undocumented_directive():
    check_definition(api_definition(NAMES))  # every mapping template of the API, gateway responses included
    template = api_definition(NAMES)["paths"]["/v1/updatestatus"]["post"]["x-amazon-apigateway-integration"]
    assert "#define" not in template["requestTemplates"]["application/json"]
