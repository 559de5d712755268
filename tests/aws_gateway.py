"""API Gateway's REST API as `template.yaml` defines it, played in-process against moto.

It reads the OpenAPI definition of the template (paths, validators, models, integrations, mapping
templates, gateway responses), renders the mapping templates with airspeed (a Python Velocity engine)
and an emulation of API Gateway's `$input`, `$util` and `$context`, calls the integration (moto's SSM,
DynamoDB, Kinesis, or the Lambda handler in-process), and answers as API Gateway would. What it cannot
prove is that the real API Gateway behaves like this emulation: see docs/aws.md, "What is checked offline".
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import airspeed
import boto3
import jsonschema
from botocore.exceptions import ClientError, ParamValidationError
from cfnlint.decode import decode

from spaceinvaders_backend.aws.tokens import CognitoTokens, InvalidToken

TEMPLATE = Path(__file__).resolve().parent.parent / "spaceinvaders_backend" / "aws" / "template.yaml"


@cache
def load_template() -> dict:
    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return template


def api_definition(names: dict[str, str]) -> dict:
    """The REST API's OpenAPI definition with the stack's names in place of `!Sub` and `!GetAtt`."""
    return substitute(load_template()["Resources"]["Api"]["Properties"]["DefinitionBody"], names)


def substitute(value: Any, names: dict[str, str]) -> Any:
    """Resolve the template's intrinsic functions that the API definition uses, from `names`."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: names[m.group(1)], arg)
        if fn == "Fn::GetAtt":
            return names[".".join(arg) if isinstance(arg, list) else arg]
        if fn == "Ref":
            return names[arg]
    if isinstance(value, dict):
        return {k: substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    return value


# --- Velocity, as API Gateway runs it -------------------------------------------------------------------


def json_path(document: Any, path: str) -> Any:
    """The JSONPath subset the templates use: `$`, `$.a.b`."""
    if path in ("$", ""):
        return document
    value = document
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class VtlInput:
    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        self.body = body
        self._params = params
        self._parsed: Any = None

    def _document(self) -> Any:
        if self._parsed is None:
            self._parsed = json.loads(self.body) if self.body.strip() else {}
        return self._parsed

    def path(self, path: str) -> Any:
        return json_path(self._document(), path)

    def json(self, path: str) -> str:
        return json.dumps(json_path(self._document(), path))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params.get(where, {}):
                return self._params[where][name]
        return ""


def escape_java_script(text: Any) -> str:
    """Apache Commons' StringEscapeUtils.escapeJavaScript (Velocity's $util.escapeJavaScript)."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if ch in "\"'\\/":
            out.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 32 or code > 0x7E:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    return "".join(out)


class VtlUtil:
    def escapeJavaScript(self, text: Any) -> str:
        return escape_java_script(text)

    def base64Encode(self, text: Any) -> str:
        return base64.b64encode(str(text).encode()).decode()

    def base64Decode(self, text: Any) -> str:
        return base64.b64decode(str(text)).decode()

    def parseJson(self, text: Any) -> Any:
        return json.loads(str(text))


def render(template: str, *, body: str = "", params: dict | None = None, context: dict | None = None) -> str:
    return airspeed.Template(template).merge(
        {
            "input": VtlInput(body, params or {}),
            "util": VtlUtil(),
            "context": context if context is not None else {},
        }
    )


@cache
def _client(service: str, region: str):
    return boto3.client(service, region_name=region)


# --- the REST API ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class LambdaContext:
    """The attributes Powertools' logger reads from a Lambda context."""

    function_name = "test-function"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class RestApi:
    """`POST`/`GET` a path of the template's REST API, with a raw ID token in `Authorization`."""

    def __init__(self, stack, functions: dict[str, Any]) -> None:
        self.stack = stack
        self.functions = functions  # logical id of a Lambda function -> its handler
        names = {
            "Env": stack.env,
            "AWS::Region": stack.region,
            "AWS::Partition": "aws",
            "StatusStream": stack.tables["Stream"],
            "ScoreboardTable": stack.tables["Scoreboard"],
            "ApiIntegrationRole.Arn": "arn:aws:iam::123456789012:role/api",
            "UserPool.Arn": f"arn:aws:cognito-idp:{stack.region}:123456789012:userpool/{stack.user_pool_id}",
            **{f"{fn}.Arn": f"arn:aws:lambda:{stack.region}:123456789012:function:{fn}" for fn in functions},
        }
        self.definition = api_definition(names)
        self.tokens = CognitoTokens(stack.region, stack.user_pool_id, stack.client_id)

    def get(self, path: str, token: str | None = None, query: dict[str, str] | None = None) -> Answer:
        return self.call("GET", path, token, query=query or {})

    def post(
        self, path: str, body: Any, token: str | None = None, content_type: str = "application/json"
    ) -> Answer:
        text = body if isinstance(body, str) else json.dumps(body)
        return self.call("POST", path, token, body=text, content_type=content_type)

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: str = "",
        query: dict | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        operation = self.definition["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return gateway_response("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        claims: dict[str, str] = {}
        if operation.get("security"):
            try:
                raw = self.tokens.claims(token or "")
            except InvalidToken:
                return gateway_response("UNAUTHORIZED", "Unauthorized")
            # The Cognito authorizer passes every claim as a string.
            claims = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in raw.items()}
        query = query or {}
        problem = self._validate(operation, body, query, content_type)
        if problem is not None:
            return problem
        integration = operation["x-amazon-apigateway-integration"]
        context = {
            "authorizer": {"claims": claims},
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "responseOverride": {},
            "httpMethod": method,
            "resourcePath": path,
            "stage": self.stack.env,
        }
        if integration["type"] == "aws_proxy":
            return self._proxy(integration, method, path, body, query, context)
        templates = integration.get("requestTemplates", {})
        if content_type not in templates and integration.get("passthroughBehavior") == "never":
            return gateway_response("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type")
        request = render(
            templates.get(content_type, "$input.body"),
            body=body,
            params={"querystring": query},
            context=context,
        )
        status, answer = self._aws_call(integration["uri"], request)
        return integration_response(integration, status, answer, context)

    def _validate(self, operation: dict, body: str, query: dict, content_type: str) -> Answer | None:
        validator = self.definition["x-amazon-apigateway-request-validators"].get(
            operation.get("x-amazon-apigateway-request-validator", ""), {}
        )
        if validator.get("validateRequestParameters"):
            for parameter in operation.get("parameters", []):
                if (
                    parameter.get("required")
                    and parameter["in"] == "query"
                    and not query.get(parameter["name"])
                ):
                    return gateway_response(
                        "BAD_REQUEST_PARAMETERS",
                        f"Missing required request parameters: [{parameter['name']}]",
                    )
        models = operation.get("requestBody", {}).get("content", {})
        if validator.get("validateRequestBody") and content_type in models:  # other types: no model to apply
            ref = models[content_type]["schema"]["$ref"]
            schema = self.definition["components"]["schemas"][ref.rsplit("/", 1)[1]]
            try:
                jsonschema.Draft4Validator(schema).validate(json.loads(body))
            except (ValueError, jsonschema.ValidationError):
                return gateway_response("BAD_REQUEST_BODY", "Invalid request body")
        return None

    def _aws_call(self, uri: str, request: str) -> tuple[int, dict]:
        """The service's answer to the JSON API call, as (HTTP status, JSON body) like on the wire."""
        match = re.fullmatch(r"arn:aws:apigateway:[^:]+:(\w+):action/(\w+)", uri)
        service, action = match.groups()
        try:
            params = json.loads(request)
        except ValueError as err:  # a template that rendered invalid JSON: the service refuses to parse it
            return 400, {"__type": "SerializationException", "message": str(err)}
        if service == "kinesis" and "Data" in params:
            params["Data"] = base64.b64decode(params["Data"])
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        try:
            answer = getattr(_client(service, self.stack.region), method)(**params)
        except ClientError as err:
            return (
                err.response["ResponseMetadata"]["HTTPStatusCode"],
                {"__type": err.response["Error"]["Code"], "message": err.response["Error"]["Message"]},
            )
        except ParamValidationError as err:
            # botocore checks these constraints before sending; the service checks them too and answers so.
            return 400, {"__type": "ValidationException", "message": str(err)}
        answer.pop("ResponseMetadata", None)
        return 200, json.loads(json.dumps(answer, default=str))

    def _proxy(
        self, integration: dict, method: str, path: str, body: str, query: dict, context: dict
    ) -> Answer:
        function = re.search(r"function:(\w+)/invocations", integration["uri"]).group(1)
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "body": body or None,
            "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "authorizer": context["authorizer"],
                "resourcePath": path,
                "httpMethod": method,
                "path": f"/{self.stack.env}{path}",
                "stage": self.stack.env,
                "requestId": context["requestId"],
                "requestTimeEpoch": context["requestTimeEpoch"],
                "identity": {"sourceIp": "127.0.0.1"},
            },
        }
        answer = self.functions[function](event, LambdaContext())
        return Answer(answer["statusCode"], answer["body"], answer.get("headers") or {})


def integration_response(integration: dict, status: int, answer: dict, context: dict) -> Answer:
    """The integration response whose selection pattern matches the service's status, rendered."""
    chosen = integration["responses"]["default"]
    for pattern, response in integration["responses"].items():
        if pattern != "default" and re.fullmatch(pattern, str(status)):
            chosen = response
            break
    context.setdefault("responseOverride", {})
    body = render(
        chosen.get("responseTemplates", {}).get("application/json", "$input.body"),
        body=json.dumps(answer),
        context=context,
    )
    headers = {
        name.removeprefix("method.response.header."): value.strip("'")
        for name, value in chosen.get("responseParameters", {}).items()
    }
    code = int(context["responseOverride"].get("status", chosen["statusCode"]))
    return Answer(code, body.strip(), {"Content-Type": "application/json", **headers})


def gateway_response(kind: str, message: str) -> Answer:
    """API Gateway's own answer (no integration reached), as the template's GatewayResponses shape it."""
    response = load_template()["Resources"]["Api"]["Properties"]["GatewayResponses"][kind]
    template = response["ResponseTemplates"]["application/json"]
    body = render(template, context={"error": {"messageString": json.dumps(message), "message": message}})
    headers = {k: v.strip("'") for k, v in response.get("ResponseParameters", {}).get("Headers", {}).items()}
    status = int(response.get("StatusCode", 400 if kind == "DEFAULT_4XX" else 500))
    return Answer(status, body, {"Content-Type": "application/json", **headers})
