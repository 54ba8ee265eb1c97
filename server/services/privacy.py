"""The deployment's PHI detector configuration, built once from settings."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from server.domain.phi import DetectorConfig
from server.domain.screening import screen
from server.settings import get_settings


@lru_cache(maxsize=1)
def detector_config() -> DetectorConfig:
    return DetectorConfig(identifier_patterns=get_settings().phi_patterns)


def screen_text(fields: Mapping[str, str], decision: str) -> dict[str, str]:
    return screen(fields, decision, detector_config())
