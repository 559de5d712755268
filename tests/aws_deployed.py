"""The emulated stack as an operator reaches a deployed one (for `spaceinvaders-aws-check`): the REST API
over HTTP on 127.0.0.1 (`aws_http`), the WebSocket API on 127.0.0.1 (`aws_websocket`), Cognito's triggers
and `DeleteUser` (`aws_cognito`), and in the background what AWS runs by itself: the Kinesis event source
mapping feeding the scoreboard function (`aws_world.StreamPump`) and the archive's delivery stream
(`aws_firehose`), every `period` seconds. Each part may be left off or replaced, to plant a fault.

    with DeployedStack(world, delivery) as stack:
        stack.base_url        # the ApiUrl output's equivalent
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Self

from aws_cognito import CognitoTriggers, SelfDeletion
from aws_firehose import DeliveryStream
from aws_gateway import RestApi
from aws_http import HttpStage
from aws_world import MotoWorld


class DeployedStack:
    def __init__(self, world: MotoWorld, delivery: DeliveryStream, *, api: RestApi | None = None,
                 stream_mapping: bool = True, pre_sign_up: bool = True, pre_token_generation: bool = True,
                 period: float = 0.05) -> None:
        self.world = world
        self.delivery = delivery
        self._api = api  # a planted API; the world's by default
        self.stream_mapping = stream_mapping
        self.triggers = CognitoTriggers(pre_sign_up=pre_sign_up, pre_token_generation=pre_token_generation)
        self.period = period
        self.errors: list[BaseException] = []  # what the background work raised (a test asserts none)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._background, name="aws-background", daemon=True)
        self._exit = ExitStack()

    @property
    def base_url(self) -> str:
        return self.stage.base_url

    def __enter__(self) -> Self:
        self.world.websocket()  # /config names it from now on (the world's API is rebuilt once)
        self.stage = self._exit.enter_context(HttpStage(lambda: self._api or self.world.api, self.world.env))
        self._exit.enter_context(self.triggers)
        self._exit.enter_context(SelfDeletion())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self._exit.close()

    def _background(self) -> None:
        while not self._stop.wait(self.period):
            try:
                if self.stream_mapping:
                    self.world.pump.pump()
                self.delivery.deliver()
            except Exception as error:  # noqa: BLE001 - kept for the test to see, the loop goes on
                self.errors.append(error)
