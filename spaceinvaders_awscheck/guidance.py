"""Where to look when a step fails: the settings, log groups and commands of the stack that each step
depends on (names as the template makes them: docs/aws.md, "Logs")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guide:
    env: str
    region: str = "<region>"
    stream: str = "spaceinvaders-<env>-status"

    def log(self, function: str) -> str:
        return f"/aws/lambda/spaceinvaders-{self.env}-{function}"

    @property
    def access_log(self) -> str:
        return f"the API's access log group /aws/apigateway/spaceinvaders-{self.env}-access (status, error message per request)"

    def config(self) -> list[str]:
        return [
            "the URL: the stack's ApiUrl output, https://<api-id>.execute-api.<region>.amazonaws.com/<env>/v1",
            f"the stage {self.env} and the mock integration of GET /v1/config (template.yaml); redeploy after a change",
            self.access_log,
        ]

    def stack(self) -> list[str]:
        return [
            "your AWS credentials (aws configure, AWS_PROFILE or --profile) and the region (--region)",
            f"SSM /{self.env}/tables (aws ssm get-parameter --name /{self.env}/tables): --env names the stack's Env",
            "your rights: the calls of docs/aws.md, 'The manager's calls and role' (an administrator's, or ManagerRole)",
        ]

    def sign_up(self) -> list[str]:
        return [
            "the app client of /config: ExplicitAuthFlows ALLOW_USER_SRP_AUTH, sign-up allowed (AllowAdminCreateUserOnly false)",
            "the pool's password policy (the check's password has 28 characters of every kind)",
            f"the pre sign-up trigger (stack parameter AutoConfirmSignUps true) and its log group {self.log('cognito-triggers')}",
        ]

    def sign_in(self) -> list[str]:
        return [
            "the app client's ExplicitAuthFlows: ALLOW_USER_SRP_AUTH and ALLOW_REFRESH_TOKEN_AUTH",
            f"the pool's pre token generation trigger (it puts Gamer in every token) and {self.log('cognito-triggers')}",
            f"the pool's key set: https://cognito-idp.{self.region}.amazonaws.com/<pool id>/.well-known/jwks.json",
        ]

    def session(self) -> list[str]:
        return [
            ("your rights on the Sessions and Current tables, SSM /<env>/session and the StartFunction "
            "(docs/aws.md, 'The manager's calls and role')"),
            f"the session in the manager console: spaceinvaders-manager --aws --env {self.env}",
        ]

    def allocate(self) -> list[str]:
        return [
            "403: the API's Cognito authorizer (it must name this stack's user pool)",
            f"4xx/5xx: the seat function's log group {self.log('seats')} (it reads the Current and Sessions tables)",
            self.access_log,
        ]

    def push(self) -> list[str]:
        return [
            f"the $connect authorizer (401/403 on the upgrade): {self.log('websocket-authorizer')}",
            (f"the Connections table (spaceinvaders-{self.env}-Connections: an item with this SessionId) and the "
            f"WebSocket function's log group {self.log('websocket')}"),
            "the start function's execute-api:ManageConnections right and its WEBSOCKET_ENDPOINT",
            "/config's websocketurl: the WebSocket API's stage",
        ]

    def post(self) -> list[str]:
        return [
            ("403: /updatestatus's mapping template (the named claims cognito:username and cognito:groups) and Gamer "
            f"in the token (the pre token generation trigger, {self.log('cognito-triggers')})"),
            "422: the request model UpdateStatus; 503: the stream and the integration role's kinesis:PutRecord",
            self.access_log,
        ]

    def board(self) -> list[str]:
        return [
            (f"the Kinesis event source mapping of the scoreboard function: aws lambda list-event-source-mappings "
            f"--event-source-arn $(aws kinesis describe-stream-summary --stream-name {self.stream} --query "
            "StreamDescriptionSummary.StreamARN --output text) (State Enabled, LastProcessingResult OK)"),
            (f"the scoreboard function's log group {self.log('scoreboard')}; the dead-letter queue "
            f"spaceinvaders-{self.env}-dead-letters (records it could not apply)"),
            ("/scoreboard's integration (DynamoDB Query on the Ranking index) in the access log; your clock: the start "
            "is written from it, and a post that reaches Kinesis over 1 s before the start does not count"),
        ]

    def archive(self, bucket: str, session_id: str) -> list[str]:
        return [
            (f"the delivery stream's errors in /aws/kinesisfirehose/spaceinvaders-{self.env}-archive, and "
            f"s3://{bucket}/errors/"),
            f"the archive's transform {self.log('archive-transform')} (it keeps records of real sessions only)",
            f"later: aws s3 ls s3://{bucket}/sessions/{session_id}/",
        ]

    def account(self, pool_id: str, username: str) -> list[str]:
        return [(f"remove it yourself: aws cognito-idp admin-delete-user --user-pool-id {pool_id} --username {username} "
                f"--region {self.region}")]
