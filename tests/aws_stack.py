"""The AWS resources of `../shared/AWS.md`, created on moto: the one helper that every AWS test uses.

The manager's boto3 backend, the AWS deployment's handlers and the benchmarks all build their world
with `create_stack()` inside `moto.mock_aws(config=MOTO_CONFIG)`. A test checks these definitions
against the SAM template (same tables, keys and index), so a change here is a change to the stack.

    with mock_aws(config=MOTO_CONFIG):
        stack = create_stack(env="test")
        stack.tables["Scoreboard"]   # the table's name, as SSM /test/tables publishes it
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

import boto3

REGION = "us-east-1"
# moto runs no Lambda code (no Docker here): invoking a function answers without running it.
MOTO_CONFIG = {"lambda": {"use_docker": False}}
RANKING_INDEX = "Ranking"

# Table -> (partition key, sort key or None). Every key attribute is a string.
TABLE_KEYS: dict[str, tuple[str, str | None]] = {
    "Sessions": ("SessionId", None),
    "Seats": ("SessionId", "Username"),
    "Scoreboard": ("SessionId", "Nickname"),
    "Connections": ("ConnectionId", None),
    "Current": ("Name", None),
}
# Global secondary indexes: table -> {index name: (partition key, sort key)}; every attribute projected.
TABLE_INDEXES: dict[str, dict[str, tuple[str, str]]] = {
    "Scoreboard": {RANKING_INDEX: ("SessionId", "RankKey")},
    "Connections": {"BySession": ("SessionId", "ConnectionId")},
}


@dataclass
class AwsStack:
    """Names and ids of one environment's resources, as a deployed stack publishes them in SSM."""

    env: str
    region: str
    tables: dict[str, str]  # the content of SSM /<env>/tables
    user_pool_id: str
    client_id: str
    identity_pool_id: str
    parameters: dict[str, str] = field(default_factory=dict)  # SSM name -> value

    def session_client(self, service: str):
        return boto3.client(service, region_name=self.region)

    def function_environment(self) -> dict[str, str]:
        """The environment the template gives the Lambda functions (see Globals in template.yaml)."""
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "ENV": self.env,
            "SESSIONS_TABLE": self.tables["Sessions"],
            "SEATS_TABLE": self.tables["Seats"],
            "SCOREBOARD_TABLE": self.tables["Scoreboard"],
            "CONNECTIONS_TABLE": self.tables["Connections"],
            "CURRENT_TABLE": self.tables["Current"],
            "DEAD_LETTER_QUEUE_URL": self.tables["DeadLetterQueue"],
            "WEBSOCKET_ENDPOINT": self.parameters[f"/{self.env}/websocketurl"].replace("wss://", "https://"),
            "IDLE_TIMEOUT_SECONDS": "60",
            "USER_POOL_ID": self.user_pool_id,
            "USER_POOL_CLIENT_ID": self.client_id,
        }


def _table_definition(name: str, logical: str) -> dict:
    hash_key, range_key = TABLE_KEYS[logical]
    attributes = {hash_key, *([range_key] if range_key else [])}
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    definition: dict = {"TableName": name, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST"}
    indexes = []
    for index, (ihash, irange) in TABLE_INDEXES.get(logical, {}).items():
        attributes |= {ihash, irange}
        indexes.append({
            "IndexName": index,
            "KeySchema": [{"AttributeName": ihash, "KeyType": "HASH"}, {"AttributeName": irange, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        })
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    definition["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)]
    return definition


def _dummy_function(region: str, name: str) -> str:
    iam = boto3.client("iam", region_name=region)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    boto3.client("lambda", region_name=region).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": code.getvalue()})
    return name


def create_stack(env: str = "test", region: str = REGION, shards: int = 1) -> AwsStack:
    """Create every resource of AWS.md for `env` on moto (call inside `mock_aws`) and publish them in SSM."""
    prefix = f"spaceinvaders-{env}"
    tables = {logical: f"{prefix}-{logical}" for logical in TABLE_KEYS}
    dynamodb = boto3.client("dynamodb", region_name=region)
    for logical, name in tables.items():
        dynamodb.create_table(**_table_definition(name, logical))

    stream = f"{prefix}-status"
    boto3.client("kinesis", region_name=region).create_stream(StreamName=stream, ShardCount=shards)
    bucket = f"{prefix}-archive"
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=bucket) if region == "us-east-1" else s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    dead_letters = boto3.client("sqs", region_name=region).create_queue(QueueName=f"{prefix}-dead-letters")

    idp = boto3.client("cognito-idp", region_name=region)
    pool = idp.create_user_pool(
        PoolName=f"{prefix}-users",
        UsernameConfiguration={"CaseSensitive": False},
        Policies={"PasswordPolicy": {"MinimumLength": 6, "RequireUppercase": False, "RequireLowercase": False,
                                     "RequireNumbers": False, "RequireSymbols": False}},
        AutoVerifiedAttributes=["email"],
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    )["UserPool"]
    for group in ("Gamer", "Manager"):
        idp.create_group(UserPoolId=pool["Id"], GroupName=group)
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=f"{prefix}-game", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    identity_pool = boto3.client("cognito-identity", region_name=region).create_identity_pool(
        IdentityPoolName=f"{prefix}_identities".replace("-", "_"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}",
                                   "ClientId": client["ClientId"]}],
    )["IdentityPoolId"]

    tables.update({
        "Stream": stream,
        "ArchiveBucket": bucket,
        "DeadLetterQueue": dead_letters["QueueUrl"],
        "StartFunction": _dummy_function(region, f"{prefix}-start"),
    })
    parameters = {
        f"/{env}/userpoolid": pool["Id"],
        f"/{env}/userpoolurl": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}",
        f"/{env}/clientid": client["ClientId"],
        f"/{env}/identitypoolid": identity_pool,
        f"/{env}/region": region,
        f"/{env}/auth": "cognito",
        f"/{env}/websocketurl": f"wss://example.execute-api.{region}.amazonaws.com/{env}",
        f"/{env}/tables": json.dumps(tables),
        f"/{env}/session": "null",
    }
    ssm = boto3.client("ssm", region_name=region)
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return AwsStack(env, region, tables, pool["Id"], client["ClientId"], identity_pool, parameters)
