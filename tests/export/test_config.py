"""Sink settings: TOML tables, validation naming the key, secrets from env or file only."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.export.config import ExportSettings, SinkSettings
from gateway.supervisor import child_env

TOML = """
[export]
settle_ms = 1500

[[export.sinks]]
name = "siem"
format = "cef"
transport = "syslog-tls"
address = "siem.internal:6514"
ca_file = "/etc/airlock/siem-ca.pem"
kinds = ["http-request", "secret-finding"]
min_severity = "warning"

[[export.sinks]]
name = "splunk"
format = "hec"
transport = "hec"
url = "https://splunk.internal:8088/services/collector/event"
secret_env = "SPLUNK_HEC_TOKEN"
batch_events = 200
"""


def write(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "airlock.toml"
    path.write_text(text)
    monkeypatch.setenv("AIRLOCK_CONFIG", str(path))


def test_sinks_load_from_toml_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, TOML, monkeypatch)
    export = load_settings().export
    assert export.settle_ms == 1500
    assert [s.name for s in export.sinks] == ["siem", "splunk"]
    siem = export.sink("siem")
    assert siem.host_port == ("siem.internal", 6514)
    assert siem.kinds == ("http-request", "secret-finding")
    assert export.sink("splunk").batch_events == 200


def test_children_get_the_same_sinks_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, TOML, monkeypatch)
    settings = load_settings()
    env = child_env(settings)
    monkeypatch.delenv("AIRLOCK_CONFIG")
    monkeypatch.setenv("AIRLOCK_EXPORT", env["AIRLOCK_EXPORT"])
    assert load_settings().export == settings.export


@pytest.mark.parametrize(
    ("sink", "message"),
    [
        ({"transport": "syslog-tcp"}, "needs address"),
        ({"transport": "syslog-tcp", "address": "nohost"}, "HOST:PORT"),
        ({"transport": "hec", "url": "https://h/x"}, "needs secret_env or secret_file"),
        ({"transport": "webhook", "url": "ftp://h/x", "secret_env": "K"}, "http:// or https://"),
        ({"transport": "file", "path": "/x", "kinds": ["no-such-kind"]}, "unknown event kinds"),
        ({"transport": "file", "path": "/x", "client_cert": "/c.pem"}, "go together"),
        ({"transport": "file", "path": "/x", "name": "Bad Name"}, "name"),
        ({"transport": "carrier-pigeon"}, "transport"),
    ],
)
def test_bad_sink_names_the_key(sink: dict[str, object], message: str) -> None:
    table = {"name": "s", "format": "cef"} | sink
    with pytest.raises(ConfigError, match="invalid setting export.sinks.0") as caught:
        load_settings(export={"sinks": [table]})
    assert message in str(caught.value)


def test_duplicate_sink_names_are_refused() -> None:
    sink = {"name": "a", "format": "cef", "transport": "file", "path": "/x"}
    with pytest.raises(ConfigError, match="duplicate sink names"):
        load_settings(export={"sinks": [sink, sink]})


def test_unknown_sink_is_an_error_listing_the_known_ones() -> None:
    export = ExportSettings(
        sinks=(SinkSettings(name="a", format="cef", transport="file", path=Path("/x")),)
    )
    with pytest.raises(ConfigError, match=r"no export sink named 'b' \(a\)"):
        export.sink("b")


def test_secret_from_env_or_file_never_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = secrets.token_hex(16)
    monkeypatch.setenv("HEC_TOKEN_FOR_TEST", token)
    from_env = SinkSettings(
        name="e", format="hec", transport="hec", url="https://h/x", secret_env="HEC_TOKEN_FOR_TEST"
    )
    secret = from_env.secret()
    assert secret is not None and secret.get_secret_value() == token
    assert token not in repr(from_env) and token not in repr(secret)
    (tmp_path / "key").write_text(token + "\n")
    from_file = SinkSettings(
        name="f", format="cef", transport="webhook", url="https://h/x", secret_file=tmp_path / "key"
    )
    assert from_file.secret() == secret
    monkeypatch.delenv("HEC_TOKEN_FOR_TEST")
    with pytest.raises(ConfigError, match="HEC_TOKEN_FOR_TEST unset"):
        from_env.secret()


def test_enabled_sinks_are_checked_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    hec = {"name": "h", "format": "hec", "transport": "hec", "url": "https://h/x"}
    off = SinkSettings.model_validate(hec | {"secret_env": "NO_SUCH_TOKEN_VAR", "enabled": False})
    assert ExportSettings(sinks=(off,)).enabled() == []  # a disabled sink is not checked
    on = off.model_copy(update={"enabled": True})
    with pytest.raises(ConfigError, match="sink h: environment variable NO_SUCH_TOKEN_VAR unset"):
        ExportSettings(sinks=(on,)).enabled()
    tls = SinkSettings(
        name="t",
        format="cef",
        transport="syslog-tls",
        address="h:6514",
        ca_file=tmp_path / "no.pem",
    )
    with pytest.raises(ConfigError, match="sink t: no such file"):
        ExportSettings(sinks=(tls,)).enabled()
