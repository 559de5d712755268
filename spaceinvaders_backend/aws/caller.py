"""Who calls: the claims that API Gateway's Cognito authorizer (REST) or our Lambda authorizer (WebSocket)
passed on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.errors import ApiError

GAMER_GROUPS = frozenset({"Gamer", "Players"})
MANAGER_GROUPS = frozenset({"Manager", "Managers"})


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as authorizers pass it: a list, "Gamer,Manager" or "[Gamer Manager]"."""
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple)):
        return frozenset(str(v) for v in value)
    return frozenset(g for g in re.split(r"[\s,\[\]]+", str(value)) if g)


@dataclass(frozen=True)
class Caller:
    username: str
    groups: frozenset[str]

    @classmethod
    def from_claims(cls, claims: dict[str, Any] | None) -> Caller:
        username = (claims or {}).get("cognito:username")
        if not username:
            raise ApiError(401, "Unauthorized", "The request carries no signed-in user.")
        return cls(str(username), parse_groups(claims.get("cognito:groups")))

    def require(self, groups: frozenset[str], name: str) -> None:
        if not self.groups & groups:
            raise ApiError(403, "Forbidden", f"This needs the {name} group.")

    def require_self(self, username: str) -> None:
        """The name in a body must be the caller's, in any case: the user pool is case-insensitive, so
        `alice` signed in to the account `Alice` is the same user (seats and boards are keyed by the
        token's `cognito:username`, never by what the body spells)."""
        if not same_user(username, self.username):
            raise ApiError(403, "Forbidden", "Username must be your own.")


def same_user(a: str, b: str) -> bool:
    """Usernames as the pool compares them (`UsernameConfiguration.CaseSensitive: false`)."""
    return a.casefold() == b.casefold()
