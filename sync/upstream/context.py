"""What every sending part of the forwarder shares for one run: the upstream's configuration,
where the events come from, the transport, and the recorder of what happened."""

from __future__ import annotations

from dataclasses import dataclass

from sync.upstream.config import UpstreamConfig
from sync.upstream.profiles import Profile
from sync.upstream.records import Recorder
from sync.upstream.source import Source
from sync.upstream.transport import Transport


@dataclass
class ForwardContext:
    config: UpstreamConfig
    source: Source
    transport: Transport
    recorder: Recorder

    @property
    def profile(self) -> Profile:
        return self.config.profile
