"""API Gateway's REST API as `template.yaml` defines it, played in-process against moto.

It reads the OpenAPI definition of the template (paths, validators, models, integrations, mapping
templates, gateway responses), refuses to load one API Gateway's import would refuse, renders the mapping
templates with airspeed (a Python Velocity engine) and an emulation of API Gateway's `$input`, `$util` and
`$context`, calls the integration (a mock, moto's SSM, DynamoDB, Kinesis in the request shape the service
accepts, or the Lambda handler in-process), and answers as API Gateway would. Where AWS documents a rule,
the emulation follows it and cites the page; a test shows each such rule refusing the lenient form
(tests/aws/test_aws_strict_gateway.py). What it cannot prove is that the real API Gateway behaves like
this emulation: see docs/aws.md, "What is checked offline".
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable
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


def api_definition(names: dict[str, str], template: dict | None = None) -> dict:
    """The REST API's OpenAPI definition with the stack's names in place of `!Sub` and `!GetAtt`."""
    template = template if template is not None else load_template()
    return substitute(template["Resources"]["Api"]["Properties"]["DefinitionBody"], names)


# --- what API Gateway's import refuses ------------------------------------------------------------------


class ImportRefused(Exception):
    """API Gateway would not create (or update) the API from this definition."""


def check_definition(definition: dict) -> None:
    """Refuse a definition whose integration responses answer a status the method does not declare, or
    map a header that status does not declare.

    AWS: "The status code must map to an existing MethodResponse"
    (https://docs.aws.amazon.com/apigateway/latest/api/API_IntegrationResponse.html), and a method
    response's header parameters are "available in the integration response to be mapped"
    (https://docs.aws.amazon.com/apigateway/latest/api/API_MethodResponse.html); the service answers
    "No method response exists for method." and "Invalid mapping expression parameter specified:
    method.response.header.<name>" (as reported in
    https://github.com/amazon-archives/aws-apigateway-importer/issues/121 and aws-solutions-constructs#1130).
    """
    problems = []
    for path, methods in definition.get("paths", {}).items():
        for method, operation in methods.items():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if not integration or integration.get("type") in ("aws_proxy", "http_proxy"):
                continue  # proxy integrations have no integration responses
            declared = {str(code): response or {} for code, response in operation.get("responses", {}).items()}
            for pattern, response in integration.get("responses", {}).items():
                status = str(response.get("statusCode"))
                where = f"{method.upper()} {path}, integration response {pattern!r} -> {status}"
                if status not in declared:
                    problems.append(f"{where}: No method response exists for method.")
                    continue
                headers = {h.lower() for h in (declared[status].get("headers") or {})}
                for parameter in response.get("responseParameters", {}):
                    name = parameter.removeprefix("method.response.header.")
                    if name.lower() not in headers:
                        problems.append(
                            f"{where}: Invalid mapping expression specified: Validation Result: warnings : [], "
                            f"errors : [Invalid mapping expression parameter specified: {parameter}]"
                        )
    for template in _templates(definition):
        check_template(template)
    if problems:
        raise ImportRefused("\n".join(problems))


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

# Velocity runs on Java, so a string in a mapping template has Java's String methods
# (https://velocity.apache.org/engine/1.7/user-guide.html#methods); airspeed knows a few of them.
airspeed.__additional_methods__[str].setdefault("toLowerCase", lambda self: self.lower())
airspeed.__additional_methods__[str].setdefault("toUpperCase", lambda self: self.upper())
airspeed.__additional_methods__[str].setdefault("equalsIgnoreCase", lambda self, other: self.lower() == str(other).lower())

# "$context.authorizer.claims.property: A property of the claims returned from the Amazon Cognito user pool
# ... Calling $context.authorizer.claims returns null."
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html)
# Only a claim named in the template text resolves; the map itself is null, so `#set($c =
# $context.authorizer.claims)` followed by `$c['cognito:username']` is null too.
_NAMED_CLAIM = re.compile(
    r"""\$(?P<quiet>!?)(?:\{context\.authorizer\.claims(?P<braced>\[\s*(['"])[^'"]+\3\s*\]|\.[A-Za-z0-9_]+)\}"""
    r"""|context\.authorizer\.claims(?P<bare>\[\s*(['"])[^'"]+\5\s*\]|\.[A-Za-z0-9_]+))"""
)


def _bind_named_claims(template: str, claims: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The template with each named claim replaced by a variable holding that claim (or null)."""
    bound: dict[str, Any] = {}

    def bind(match: re.Match) -> str:
        accessor = match.group("braced") or match.group("bare")
        name = accessor[1:] if accessor.startswith(".") else accessor.strip("[] ")[1:-1]
        variable = f"apigwNamedClaim{len(bound)}"
        bound[variable] = claims.get(name)
        return f"${match.group('quiet')}{{{variable}}}"

    return _NAMED_CLAIM.sub(bind, template), bound


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


# The Velocity directives a mapping template may use. API Gateway documents its templates only as VTL,
# pointing at Apache Velocity, and its own examples use #set, #if/#elseif/#else, #foreach and #end
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-examples.html). Nothing on
# AWS's pages confirms the others (#define, #macro, #parse, #include, #evaluate, #break, #stop): a template
# relying on them might fail on AWS while airspeed renders it, so the emulator refuses them.
DOCUMENTED_DIRECTIVES = frozenset({"set", "if", "elseif", "else", "foreach", "end"})
# Velocity 1.7's directives (https://velocity.apache.org/engine/1.7/vtl-reference.html); any other `#name` is
# text (a DynamoDB placeholder such as `#l` stays as written).
VELOCITY_DIRECTIVES = DOCUMENTED_DIRECTIVES | {"define", "macro", "parse", "include", "evaluate", "break", "stop"}
_DIRECTIVE = re.compile(r"(?<![#\\])#\{?([A-Za-z][A-Za-z0-9_]*)")


class UndocumentedVelocity(ImportRefused):
    """A mapping template uses a Velocity directive no AWS page shows API Gateway accepting."""


def check_template(text: str) -> None:
    code = re.sub(r"#\*.*?\*#", "", text, flags=re.DOTALL)
    code = re.sub(r"##[^\n]*", "", code)  # comments hold no directives
    used = ({m.group(1) for m in _DIRECTIVE.finditer(code)} & VELOCITY_DIRECTIVES) - DOCUMENTED_DIRECTIVES
    if used:
        raise UndocumentedVelocity(
            f"mapping template uses {', '.join('#' + d for d in sorted(used))}: not documented for API Gateway "
            f"(its examples use only {', '.join('#' + d for d in sorted(DOCUMENTED_DIRECTIVES))})")


def _templates(value: Any) -> Iterable[str]:
    """Every mapping template of a definition (request, response and gateway-response templates)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("requestTemplates", "responseTemplates") and isinstance(item, dict):
                yield from (t for t in item.values() if isinstance(t, str))
            else:
                yield from _templates(item)
    elif isinstance(value, list):
        for item in value:
            yield from _templates(item)


def render(template: str, *, body: str = "", params: dict | None = None, context: dict | None = None) -> str:
    """A mapping template rendered as API Gateway renders it. `context["authorizer"]["claims"]` holds the
    caller's claims: only named ones reach the template (see `_NAMED_CLAIM`). Undocumented directives are
    refused (`check_template`)."""
    check_template(template)
    context = context if context is not None else {}
    authorizer = context.get("authorizer") or {}
    text, named_claims = _bind_named_claims(template, authorizer.get("claims") or {})
    vtl_context = {**context, "authorizer": {**authorizer, "claims": None}}  # the same responseOverride dict
    return airspeed.Template(text).merge(
        {"input": VtlInput(body, params or {}), "util": VtlUtil(), "context": vtl_context, **named_claims}
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


EMULATED_WEBSOCKET_API = "emulatedws"  # the WebSocket API's id while `tests/aws_websocket.py` serves it


def websocket_api_id(stack) -> str:
    url = stack.parameters[f"/{stack.env}/websocketurl"]
    if url.startswith("wss://") and ".execute-api." in url:
        return url.removeprefix("wss://").split(".", 1)[0]
    return EMULATED_WEBSOCKET_API


def deployed_websocket_url(stack) -> str:
    """The URL the template's `/config` names: the stage of its WebSocket API."""
    return f"wss://{websocket_api_id(stack)}.execute-api.{stack.region}.amazonaws.com/{stack.env}"


def point_at_emulated_websocket(definition: dict, stack) -> dict:
    """Where the stack's WebSocket API is emulated on 127.0.0.1, what `/config` names is that address, as a
    deployed stack's `/config` names its own stage (the template builds it from the API's id)."""
    url = stack.parameters[f"/{stack.env}/websocketurl"]
    if websocket_api_id(stack) != EMULATED_WEBSOCKET_API:
        return definition
    return json.loads(json.dumps(definition).replace(deployed_websocket_url(stack), url))


def stack_names(stack, functions: Iterable[str] = ()) -> dict[str, str]:
    """What the template's `!Sub`, `!Ref` and `!GetAtt` resolve to on the moto stack."""
    return {
        "Env": stack.env,
        "AWS::Region": stack.region,
        "AWS::Partition": "aws",
        "StatusStream": stack.tables["Stream"],
        "ScoreboardTable": stack.tables["Scoreboard"],
        "ApiIntegrationRole.Arn": "arn:aws:iam::123456789012:role/api",
        "UserPool": stack.user_pool_id,
        "UserPool.Arn": f"arn:aws:cognito-idp:{stack.region}:123456789012:userpool/{stack.user_pool_id}",
        "UserPool.ProviderName": f"cognito-idp.{stack.region}.amazonaws.com/{stack.user_pool_id}",
        "UserPoolClient": stack.client_id,
        "IdentityPool": stack.identity_pool_id,
        "WebSocketApi": websocket_api_id(stack),
        **{f"{fn}.Arn": f"arn:aws:lambda:{stack.region}:123456789012:function:{fn}" for fn in functions},
    }


class RestApi:
    """`POST`/`GET` a path of the template's REST API, with a raw ID token in `Authorization`."""

    def __init__(self, stack, functions: dict[str, Any], template: dict | None = None) -> None:
        self.stack = stack
        self.functions = functions  # logical id of a Lambda function -> its handler
        self.definition = point_at_emulated_websocket(api_definition(stack_names(stack, functions), template), stack)
        check_definition(self.definition)  # what API Gateway would refuse to create is not served either
        self.gateway_responses = (template or load_template())["Resources"]["Api"]["Properties"]["GatewayResponses"]
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
            return gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", self.gateway_responses
            )
        claims: dict[str, str] = {}
        if operation.get("security"):
            try:
                raw = self.tokens.claims(token or "")
            except InvalidToken:
                return gateway_response("UNAUTHORIZED", "Unauthorized", self.gateway_responses)
            # The Cognito authorizer passes every claim as a string (a list of groups comma-joined).
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
        # NEVER, and WHEN_NO_TEMPLATES once a template exists, answer an unmapped content type with 415
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html).
        if content_type not in templates and integration.get("passthroughBehavior") in ("never", "when_no_templates"):
            return gateway_response("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type", self.gateway_responses)
        request = render(
            templates.get(content_type, "$input.body"),
            body=body,
            params={"querystring": query},
            context=context,
        )
        if integration["type"] == "mock":
            status, answer = mock_call(request)
        else:
            status, answer = self._aws_call(integration, request)
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
                        self.gateway_responses,
                    )
        models = operation.get("requestBody", {}).get("content", {})
        if validator.get("validateRequestBody") and content_type in models:  # other types: no model to apply
            ref = models[content_type]["schema"]["$ref"]
            schema = self.definition["components"]["schemas"][ref.rsplit("/", 1)[1]]
            try:
                jsonschema.Draft4Validator(schema).validate(json.loads(body))
            except (ValueError, jsonschema.ValidationError):
                return gateway_response("BAD_REQUEST_BODY", "Invalid request body", self.gateway_responses)
        return None

    def _aws_call(self, integration: dict, request: str) -> tuple[int, dict]:
        """The service's answer to the integration request, as (HTTP status, JSON body) like on the wire."""
        service, action, refusal = json_protocol_operation(integration)
        if refusal is not None:
            return 400, refusal
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


# --- how API Gateway calls an AWS service ---------------------------------------------------------------

# The services the template calls all speak AWS's JSON protocol (botocore's models: "protocol": "json"):
# X-Amz-Target prefix, JSON version. A request names its operation in `X-Amz-Target: <prefix>.<Operation>`
# with `Content-Type: application/x-amz-json-<version>`, posted to `/`: the SSM API Reference's requests
# (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html), DynamoDB's
# low-level API (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html),
# Kinesis' (https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services-kinesis.html).
# An AWS integration sends exactly what its `uri` and `requestParameters` say: `path//` posts to `/`, and
# only mapped headers are sent; `action/<Name>` sends an `Action=<Name>` query string instead
# (https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html, uri). AWS documents the query
# form for Kinesis alone, which "alternatively" takes the X-Amz-Target header (the Kinesis tutorial above);
# for SSM and DynamoDB it documents only the header. A request the service cannot route to an operation is
# refused with a 400 (InvalidAction, "The action or operation requested is invalid", in each API
# Reference's Common Errors, e.g. https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html).
JSON_PROTOCOL = {"ssm": ("AmazonSSM", "1.1"), "kinesis": ("Kinesis_20131202", "1.1"), "dynamodb": ("DynamoDB_20120810", "1.0")}
ACTION_QUERY_DOCUMENTED = {"kinesis"}


def json_protocol_operation(integration: dict) -> tuple[str, str, dict | None]:
    """(service, operation, None) for a request the service accepts, or (service, "", its 400 answer)."""
    match = re.fullmatch(r"arn:aws:apigateway:[^:]+:(\w+):(path|action)/(.*)", integration["uri"])
    service, kind, rest = match.groups()
    prefix, version = JSON_PROTOCOL[service]
    headers = {
        name.removeprefix("integration.request.header.").lower(): value
        for name, value in integration.get("requestParameters", {}).items()
        if name.startswith("integration.request.header.")
    }
    static = {k: v[1:-1] for k, v in headers.items() if len(v) >= 2 and v[0] == v[-1] == "'"}
    content_type = static.get("content-type", "")
    if content_type != f"application/x-amz-json-{version}":
        return service, "", {
            "__type": "InvalidAction",
            "message": f"{service} takes application/x-amz-json-{version}, not {content_type or 'no Content-Type'}",
        }
    target = static.get("x-amz-target", "")
    if kind == "action" and not target:
        if service not in ACTION_QUERY_DOCUMENTED:
            return service, "", {"__type": "InvalidAction", "message": f"{service} has no Action query API"}
        return service, rest.split("&", 1)[0], None
    if integration.get("httpMethod") != "POST" or (kind == "path" and rest != "/"):
        return service, "", {"__type": "InvalidAction", "message": "the JSON protocol is POST /"}
    operation = target.removeprefix(f"{prefix}.")
    if not target.startswith(f"{prefix}.") or not operation:
        return service, "", {"__type": "InvalidAction", "message": f"X-Amz-Target {target!r} is not {prefix}.<Operation>"}
    return service, operation, None


def mock_call(request: str) -> tuple[int, dict]:
    """A mock integration answers the status its request template names
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html)."""
    try:
        return int(json.loads(request)["statusCode"]), {}
    except (ValueError, KeyError, TypeError):
        return 500, {}


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


def gateway_response(kind: str, message: str, responses: dict | None = None) -> Answer:
    """API Gateway's own answer (no integration reached), as the template's GatewayResponses shape it."""
    responses = responses if responses is not None else load_template()["Resources"]["Api"]["Properties"]["GatewayResponses"]
    response = responses[kind]
    template = response["ResponseTemplates"]["application/json"]
    body = render(template, context={"error": {"messageString": json.dumps(message), "message": message}})
    headers = {k: v.strip("'") for k, v in response.get("ResponseParameters", {}).get("Headers", {}).items()}
    status = int(response.get("StatusCode", 400 if kind == "DEFAULT_4XX" else 500))
    return Answer(status, body, {"Content-Type": "application/json", **headers})
