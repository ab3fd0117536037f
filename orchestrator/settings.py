"""Every setting, read from the environment (or a ``.env`` file) and validated at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Seconds = Annotated[float, Field(gt=0, le=3600)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 8011

    market_data_url: AnyHttpUrl = AnyHttpUrl("http://market-data:8012")
    strategy_url: AnyHttpUrl = AnyHttpUrl("http://strategy:8013")
    portfolio_url: AnyHttpUrl = AnyHttpUrl("http://portfolio:8014")
    metrics_url: AnyHttpUrl = AnyHttpUrl("http://metrics:8015")
    test_data_url: AnyHttpUrl = AnyHttpUrl("http://test-data-fetcher:8016")

    market_data_timeout_s: Seconds = 10.0
    strategy_timeout_s: Seconds = 10.0
    portfolio_timeout_s: Seconds = 15.0
    metrics_timeout_s: Seconds = 10.0
    backtest_deadline_s: Seconds = 30.0
    health_timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.5

    risk_free_rate_annual: Annotated[float, Field(ge=-1, le=1)] = 0.0

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("http://localhost:3000", "http://localhost:5173")

    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    sse_heartbeat_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    connection_pool_size: Annotated[int, Field(ge=1, le=10_000)] = 100

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    def url(self, service: str) -> str:
        """The base URL of a service, without a trailing slash, ready for ``+ "/path"``."""
        return str(getattr(self, f"{service}_url")).rstrip("/")


class SettingsError(Exception):
    """Settings that cannot work, explained one line per problem."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = [
            f"  {'.'.join(map(str, item['loc'])).upper()}: {item['msg']} (got {item.get('input')!r})"
            for item in error.errors(include_url=False)
        ]
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
