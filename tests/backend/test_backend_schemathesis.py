"""The OpenAPI document against the server that serves it: schemathesis's default checks, bounded.

Every operation gets a few generated requests, valid ones and invalid ones, with a gamer's token on the
players' paths and a manager's on the manager's: every answer must be one the document lists, in the
shape and media type it gives, and never a 5xx.
"""
from __future__ import annotations

import pytest
import schemathesis
from backend_support import Api
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

EXAMPLES = 25  # per operation and generation mode: the whole run stays within ~20 s
# Invalid requests are rejected by the default statuses, or as too large when they are (the status
# post's 1 KiB bound makes a 413 the first refusal of a long invalid body).
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]}}})


@pytest.fixture(scope="module")
def tokens(local_server_module):
    api = Api(local_server_module.base_url)
    boss = api.manager(local_server_module)
    boss.open_session()
    player = api.gamer()
    player.seat()
    yield {"Gamer": player.token, "Manager": boss.token}
    api.close()


def _calls(cases, headers: dict[str, str] | None):
    """A Hypothesis test sending each generated case with `headers`, checking each answer."""
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def check(case) -> None:
        case.call_and_validate(headers=headers)
    return check


def test_the_document_and_the_server_agree(local_server_module, tokens):
    schema = schemathesis.openapi.from_url(f"{local_server_module.base_url}/openapi.json", config=CONFIG)
    failures: dict[str, str] = {}
    tried: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        headers = None
        if operation.definition.raw.get("security") is not None:
            headers = {"Authorization": tokens["Manager" if operation.path.startswith("/manager/") else "Gamer"]}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _calls(operation.as_strategy(generation_mode=mode), headers)()
            except Unsatisfiable:  # nothing to make invalid: a path with no parameters and no body
                assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query
            except Exception as exc:  # noqa: BLE001 - collected, so that one run reports every operation
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
        tried.add(operation.label)
    # Every operation of the document was generated for (schemathesis leaves out the document itself).
    document = schema.raw_schema["paths"]
    assert tried == {f"{m.upper()} {p}" for p, ops in document.items() for m in ops} - {"GET /openapi.json"}
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
