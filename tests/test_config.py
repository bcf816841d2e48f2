"""Settings: defaults, environment, TOML file, validation errors and derived values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.config import Settings, config_file, load_settings, parse_dns_server, parse_listen
from gateway.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AIRLOCK_* variable from the machine, and a cwd without an airlock.toml."""
    for name in list(os.environ):
        if name.upper().startswith("AIRLOCK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# parse_listen -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:8080", ("::1", 8080)),
        ("[2001:db8::5]:443", ("2001:db8::5", 443)),
    ],
)
def test_parse_listen_valid(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    "value", ["", "8080", ":8080", "host:", "host:http", "host:65536", "host:-1", "host"]
)
def test_parse_listen_invalid(value: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(value)


# Defaults and sources ------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings()
    assert settings.profile == "dev"
    assert settings.proxy_listen == "127.0.0.1:8080"
    assert settings.api_listen == "127.0.0.1:8081"
    assert settings.opa_url is None
    assert settings.opa_timeout_ms == 500
    assert settings.home == Path(".airlock")
    assert settings.gateway_id  # the host name, never empty


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK_PROFILE", "prod")
    monkeypatch.setenv("AIRLOCK_OPA_TIMEOUT_MS", "750")
    monkeypatch.setenv("AIRLOCK_PROXY_LISTEN", "[::1]:9090")
    monkeypatch.setenv("AIRLOCK_GATEWAY_ID", "gw-7")
    settings = load_settings()
    assert settings.profile == "prod"
    assert settings.opa_timeout_ms == 750
    assert settings.proxy_address() == ("::1", 9090)
    assert settings.gateway_id == "gw-7"


def test_toml_file_from_airlock_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    toml = write_toml(
        tmp_path / "conf" / "custom.toml",
        'profile = "prod"\nopa_timeout_ms = 900\nspool_max_bytes = 123456\n',
    )
    monkeypatch.setenv("AIRLOCK_CONFIG", str(toml))
    settings = load_settings()
    assert settings.profile == "prod"
    assert settings.opa_timeout_ms == 900
    assert settings.spool_max_bytes == 123456


def test_environment_wins_over_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = write_toml(tmp_path / "a.toml", 'profile = "prod"\nopa_timeout_ms = 900\n')
    monkeypatch.setenv("AIRLOCK_CONFIG", str(toml))
    monkeypatch.setenv("AIRLOCK_OPA_TIMEOUT_MS", "700")
    settings = load_settings()
    assert settings.opa_timeout_ms == 700
    assert settings.profile == "prod"  # still from the file


def test_overrides_win_over_environment_and_none_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRLOCK_OPA_TIMEOUT_MS", "700")
    monkeypatch.setenv("AIRLOCK_PROFILE", "prod")
    settings = load_settings(opa_timeout_ms=42, profile=None)
    assert settings.opa_timeout_ms == 42
    assert settings.profile == "prod"  # None override does not replace the env value


def test_default_toml_in_cwd_is_read(clean_env: Path) -> None:
    write_toml(clean_env / "airlock.toml", 'gateway_id = "from-cwd"\n')
    assert config_file() == Path("airlock.toml")
    assert load_settings().gateway_id == "from-cwd"


def test_no_config_file_when_none_exists() -> None:
    assert config_file() is None


def test_airlock_config_beats_cwd_file(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    write_toml(clean_env / "airlock.toml", 'gateway_id = "from-cwd"\n')
    explicit = write_toml(clean_env / "explicit.toml", 'gateway_id = "explicit"\n')
    monkeypatch.setenv("AIRLOCK_CONFIG", str(explicit))
    assert load_settings().gateway_id == "explicit"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError):
        settings.profile = "prod"  # type: ignore[misc]


# Errors name the key and the value --------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "key"),
    [
        ("AIRLOCK_PROFILE", "staging", "profile"),
        ("AIRLOCK_OPA_TIMEOUT_MS", "5", "opa_timeout_ms"),
        ("AIRLOCK_OPA_TIMEOUT_MS", "fast", "opa_timeout_ms"),
        ("AIRLOCK_PROXY_LISTEN", "nowhere", "proxy_listen"),
        ("AIRLOCK_API_LISTEN", "127.0.0.1:99999", "api_listen"),
        ("AIRLOCK_POLICY_POLL_SECONDS", "0", "policy_poll_seconds"),
        ("AIRLOCK_SPOOL_SEGMENT_BYTES", "4096", "spool_segment_bytes"),
    ],
)
def test_bad_env_value_names_key_and_value(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, key: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert f"{key}=" in message
    assert repr(value) in message
    assert info.value.code == "config_error"


def test_bad_override_names_key_and_value() -> None:
    with pytest.raises(ConfigError, match=r"opa_listen='8181'"):
        load_settings(opa_listen="8181")


def test_unknown_toml_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = write_toml(tmp_path / "bad.toml", "bogus_setting = 1\n")
    monkeypatch.setenv("AIRLOCK_CONFIG", str(toml))
    with pytest.raises(ConfigError, match=r"bogus_setting=1"):
        load_settings()


def test_bad_toml_value_names_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = write_toml(tmp_path / "bad.toml", 'profile = "qa"\n')
    monkeypatch.setenv("AIRLOCK_CONFIG", str(toml))
    with pytest.raises(ConfigError, match=r"profile='qa'"):
        load_settings()


# Derived values ---------------------------------------------------------------


def test_derived_paths_hang_off_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "state")
    home = (tmp_path / "state").resolve()
    assert settings.home_dir == home
    assert settings.ca_dir == home / "ca"
    assert settings.ca_cert_path == home / "ca" / "mitmproxy-ca-cert.pem"
    assert settings.spool_dir == home / "spool"
    assert settings.chdb_dir == home / "chdb"
    assert settings.operator_key_path == home / "operator.key"
    assert settings.control_db_url == f"sqlite:///{home / 'control.db'}"


def test_relative_home_resolves_against_cwd(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.home_dir == (clean_env / ".airlock").resolve()
    assert settings.home_dir.is_absolute()


def test_home_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings(home=Path("~/airlock-home"))
    assert settings.home_dir == (tmp_path / "airlock-home").resolve()


def test_database_url_overrides_sqlite() -> None:
    url = "postgresql+psycopg://airlock@db.example/airlock"
    assert load_settings(database_url=url).control_db_url == url


def test_effective_opa_url_from_opa_listen() -> None:
    settings = load_settings(opa_listen="127.0.0.2:9181")
    assert settings.effective_opa_url == "http://127.0.0.2:9181"


def test_effective_opa_url_prefers_opa_url_without_trailing_slash() -> None:
    settings = load_settings(opa_url="http://opa.internal:8181/", opa_listen="127.0.0.2:9181")
    assert settings.effective_opa_url == "http://opa.internal:8181"


def test_api_url_from_api_listen() -> None:
    assert load_settings(api_listen="0.0.0.0:9000").api_url == "http://0.0.0.0:9000"


def test_effective_opa_url_brackets_ipv6_listen() -> None:
    settings = load_settings(opa_listen="[::1]:8181", api_listen="[::1]:8081")
    assert settings.effective_opa_url == "http://[::1]:8181"
    assert settings.api_url == "http://[::1]:8081"


def test_settings_class_rejects_unknown_init_keys() -> None:
    with pytest.raises(ValueError):
        Settings(not_a_setting=1)  # type: ignore[call-arg]


def test_transparent_and_dns_listeners_are_off_by_default_and_checked(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert (settings.transparent_listen, settings.dns_listen) == ("", "")
    on = load_settings(home=tmp_path, transparent_listen="0.0.0.0:8082", dns_listen="[::]:53")
    assert (on.transparent_listen, on.dns_listen) == ("0.0.0.0:8082", "[::]:53")
    with pytest.raises(ConfigError, match=r"dns_listen='8053'"):
        load_settings(home=tmp_path, dns_listen="8053")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[2001:db8::53]:5300", ("2001:db8::53", 5300)),
        ("[::1]", ("::1", 53)),
    ],
)
def test_parse_dns_server(value: str, expected: tuple[str, int]) -> None:
    assert parse_dns_server(value) == expected


def test_dns_servers_from_env_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK_DNS_SERVERS", '["127.0.0.1:5353", "[::1]"]')
    assert load_settings().dns_servers == ["127.0.0.1:5353", "[::1]"]
    monkeypatch.setenv("AIRLOCK_DNS_SERVERS", '["dns.example:53"]')
    with pytest.raises(ConfigError, match=r"dns_servers"):
        load_settings()
    with pytest.raises(ConfigError, match=r"dns_servers"):
        load_settings(dns_servers=["127.0.0.1:0"])
