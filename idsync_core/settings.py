"""Settings: ``idsync.toml`` plus ``IDSYNC_*`` environment variables.

The file is found at ``--config``, else ``$IDSYNC_CONFIG``, else ``idsync.toml`` in the user
config directory. Every value can come from the environment instead, nested with ``__``:
``IDSYNC_PSA__PRIVATE_KEY`` sets ``private_key`` in ``[psa]``; the environment wins, so secrets
can stay out of the file. Connector tables (``[psa]``, ``[providers.NAME]``) are kept as plain
mappings here and validated by their connector's own pydantic model
(:func:`idsync_core.plugins.validate_settings`), where secrets become ``SecretStr``.

Connector authors use :data:`BaseUrl` for every base URL they accept: plain ``http://`` is only
allowed for loopback hosts, so credentials never cross a network in clear text while a simulator
on 127.0.0.1 still works.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from idsync_core.durations import parse_duration
from idsync_core.errors import ConfigurationError

APP_NAME = "idsync"


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL, e.g. https://api.example.com")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("plain http:// is only allowed for 127.0.0.1/localhost; use https://")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; use the credential settings")
    return url.rstrip("/")


BaseUrl = Annotated[str, AfterValidator(_check_base_url)]
"""A base URL setting: https, or http on a loopback host only. Trailing slashes are removed."""


class ConnectorSettings(BaseModel):
    """Base for a connector's settings model: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DecreasePolicy(enum.StrEnum):
    NEXT_PERIOD = "next_period"
    TODAY = "today"


class AutoPost(enum.StrEnum):
    """What an unattended ``sync --yes`` posts on its own; the rest waits for a person in the
    review queue (``idsync approve``, the web console's ``/review``)."""

    ALL = "all"
    INCREASES = "increases"
    """Seats added post at once; a decrease (a credit to the customer) waits for approval."""
    NONE = "none"


def _duration(value: object) -> object:
    """``"15m"`` (or a number of seconds) for a duration setting."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite file")


class SyncSettings(BaseModel):
    """How changes are dated and posted."""

    model_config = ConfigDict(extra="forbid")
    decrease_effective: DecreasePolicy = Field(
        default=DecreasePolicy.NEXT_PERIOD,
        description="next_period: decreases start on the first day of the agreement's next "
        "billing period (no prorated credits); today: they start today",
    )
    concurrency: int = Field(default=4, ge=1, le=32)
    unknown_outcome_wait: Duration = Field(
        default=timedelta(minutes=15),
        description="how long a posting whose answer was lost (a timeout, a dropped "
        "connection) is waited for before it counts as not applied and is posted again under "
        "the same key: a write can land long after the client gave up. At least twice the "
        "longest request timeout of the connections (checked when a run starts)",
    )
    auto_post: AutoPost = Field(
        default=AutoPost.ALL,
        description="what `sync --yes` posts on its own: all | increases | none; the rest "
        "waits in the review queue for `idsync approve` or the web console",
    )


class WebSettings(BaseModel):
    """``idsync web``: the console's sessions and how it is reached."""

    model_config = ConfigDict(extra="forbid")
    behind_proxy: bool = Field(
        default=False,
        description="a reverse proxy terminates TLS in front of the console: trust its "
        "X-Forwarded-For / X-Forwarded-Proto headers (from trusted_proxies only) and mark the "
        "session cookie Secure",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="addresses whose forwarded headers are believed (behind_proxy only)",
    )
    session_idle: Duration = Field(
        default=timedelta(minutes=30),
        description="a session unused for this long is over (log in again)",
    )


class OnboardingSettings(BaseModel):
    """What ``idsync suggest`` may read besides names."""

    model_config = ConfigDict(extra="forbid")
    account_id_fields: dict[str, str] = Field(
        default_factory=dict,
        description="per provider connection, the name of the PSA company custom field (UDF "
        "in Autotask) that holds that provider's account id, e.g. {ingram = \"Ingram ID\"}",
    )


class NotifyEvent(enum.StrEnum):
    """What makes a run send its notification (``[notify] on``)."""

    FAILURE = "failure"
    """A link failed (a posting refused, a read failed), or the run could not run or stopped."""
    UNKNOWN = "unknown"
    """A posting's outcome is not known yet: its link waits."""
    DRIFT = "drift"
    """A PSA line was changed by hand since IDSync last left it."""
    REVENUE_FOUND = "revenue_found"
    """Seat resources on linked subscriptions that are not linked (not billed)."""
    SUMMARY = "summary"
    """Every run, whatever happened."""


class NotifySettings(BaseModel):
    """Where a run's notification goes, and which runs send one."""

    model_config = ConfigDict(extra="forbid")
    urls: list[SecretStr] = Field(
        default_factory=list,
        description="apprise URLs (mailto://, msteams://, slack://, json://, ...); they carry "
        "tokens and passwords, so they are secrets: never printed or logged whole, and best "
        "set in the environment (IDSYNC_NOTIFY__URLS='[\"...\"]')")
    on: list[NotifyEvent] = Field(
        default_factory=lambda: [NotifyEvent.FAILURE, NotifyEvent.UNKNOWN],
        description="which runs send their notification: failure, unknown, drift, "
        "revenue_found, summary (every run)")


class IdsyncSettings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="IDSYNC_", env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    psa: dict[str, Any] = Field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    store: StoreSettings = Field(default_factory=StoreSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    onboarding: OnboardingSettings = Field(default_factory=OnboardingSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's content arrives as init kwargs; the environment must win over it.
        return (env_settings, init_settings)


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "idsync.toml"


def default_store_url() -> str:
    data_dir = platformdirs.user_data_path(APP_NAME)
    return f"sqlite:///{data_dir / 'idsync.db'}"


def resolve_config_path(explicit: Path | None) -> tuple[Path, bool]:
    """The config file to read and whether the operator named it (then it must exist)."""
    if explicit is not None:
        return explicit, True
    from_env = os.environ.get("IDSYNC_CONFIG")
    if from_env:
        return Path(from_env), True
    return default_config_path(), False


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}",
                                 hint="fix the line named above") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def load_settings(config: Path | None = None) -> tuple[IdsyncSettings, Path]:
    """Read the configuration; a named file must exist, the default one may be absent."""
    path, named = resolve_config_path(config)
    data: dict[str, Any] = {}
    if path.exists():
        data = read_toml(path)
    elif named:
        raise ConfigurationError(
            f"config file {path} does not exist",
            hint="create it (see the README's Configuration section) or fix --config/IDSYNC_CONFIG",
        )
    try:
        return IdsyncSettings(**data), path
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigurationError(
            f"invalid settings in {path}:\n  " + "\n  ".join(problems)) from None
