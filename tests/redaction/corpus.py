"""Labelled corpus built at test run time. No realistic token is written literally here:
prefixes are split so repository scanners and push protection never see a whole token."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Sample:
    detector: str
    text: bytes
    start: int
    end: int


def pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.randbytes(nbytes)).decode()


def _jwt(rng: random.Random) -> str:
    def enc(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = enc({"alg": "HS256", "typ": "JWT"})
    body = enc({"sub": pick(rng, ALNUM, 10), "iat": rng.randrange(10**9, 2 * 10**9)})
    return f"{head}.{body}.{pick(rng, B64URL, 43)}"


def _pem(rng: random.Random, kind: str) -> str:
    body = _b64(rng, 600)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    label = f"{kind}PRIVATE KEY"
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"


def _password(rng: random.Random) -> str:
    return (
        pick(rng, ALNUM, rng.randrange(6, 14)) + rng.choice("!~*$-._") + pick(rng, string.digits, 2)
    )


TOKENS: dict[str, Callable[[random.Random], str]] = {
    "aws_access_key_id": lambda r: (
        r.choice(["AK", "AS"]) + "IA" + pick(r, string.ascii_uppercase + string.digits, 16)
    ),
    "github_pat": lambda r: r.choice(
        [
            "gh" + "p_" + pick(r, ALNUM, 36),
            "github" + "_pat_11" + pick(r, ALNUM, 20) + "_" + pick(r, ALNUM, 59),
        ]
    ),
    "github_token": lambda r: "gh" + r.choice("ousr") + "_" + pick(r, ALNUM, 36),
    "gitlab_token": lambda r: (
        "gl" + r.choice(["pat", "dt", "rt", "ptt"]) + "-" + pick(r, B64URL, 20)
    ),
    "slack_token": lambda r: (
        "xo"
        + "x"
        + r.choice("bap")
        + "-"
        + pick(r, string.digits, 12)
        + "-"
        + pick(r, string.digits, 13)
        + "-"
        + pick(r, ALNUM, 24)
    ),
    "slack_webhook": lambda r: (
        "https://hooks."
        + "slack.com/services/T"
        + pick(r, string.ascii_uppercase, 8)
        + "/B"
        + pick(r, string.ascii_uppercase, 10)
        + "/"
        + pick(r, ALNUM, 24)
    ),
    "stripe_key": lambda r: (
        r.choice(["sk", "rk"])
        + "_"
        + r.choice(["live", "test"])
        + "_"
        + pick(r, ALNUM, r.choice([24, 99]))
    ),
    "openai_api_key": lambda r: r.choice(
        [
            "sk-" + "proj-" + pick(r, B64URL, 156),
            "sk-" + pick(r, ALNUM, 20) + "T3Blbk" + "FJ" + pick(r, ALNUM, 20),
        ]
    ),
    "anthropic_api_key": lambda r: "sk-" + "ant-api03-" + pick(r, B64URL, 93) + "AA",
    "google_api_key": lambda r: "AI" + "za" + pick(r, B64URL, 35),
    "sendgrid_api_key": lambda r: "S" + "G." + pick(r, B64URL, 22) + "." + pick(r, B64URL, 43),
    "npm_token": lambda r: "np" + "m_" + pick(r, ALNUM, 36),
    "pypi_token": lambda r: "py" + "pi-AgEIcHlwaS5vcmc" + pick(r, B64URL, 150),
    "huggingface_token": lambda r: "h" + "f_" + pick(r, string.ascii_letters, 34),
    "shopify_token": lambda r: "shp" + r.choice(["at", "ss", "ca", "pa"]) + "_" + pick(r, HEX, 32),
    "jwt": _jwt,
}

_CONTEXTS = (
    '{{"credentials": {{"value": "{s}", "scope": "repo"}}}}',
    "export SERVICE_CRED={s}\n",
    "Authorization: Bearer {s}\r\nAccept: */*\r\n",
    "deploy:\n  env:\n    VALUE: {s}\n",
    "curl -s https://api.example.com/v1/items?value={s}&page=2\n",
    "cfg.set('{s}')  # rotate monthly\n",
    "- name: value\n  data: '{s}'\n",
)


def _wrap(detector: str, secret: str, template: str, filler: str) -> Sample:
    text = filler + template.format(s=secret) + filler
    start = text.index(secret)
    raw = text.encode()
    bstart = len(text[:start].encode())
    return Sample(detector, raw, bstart, bstart + len(secret.encode()))


def _contextual(rng: random.Random, detector: str) -> tuple[str, str]:
    """(template, secret) for detectors that need surrounding context."""
    if detector == "aws_secret_access_key":
        tpl = rng.choice(
            [
                "AWS_SECRET_ACCESS_KEY={s}\n",
                '{{"SecretAccessKey": "{s}"}}',
                "aws_secret_access_key = {s}\n",
            ]
        )
        return tpl, pick(rng, B64, 40)
    if detector == "twilio_key":
        tpl = rng.choice(["TWILIO_API_KEY={s}\n", '{{"twilio": {{"sid": "{s}"}}}}'])
        return tpl, rng.choice(["SK", "AC"]) + pick(rng, HEX, 32)
    if detector == "azure_connection_string":
        tpl = (
            "DefaultEndpointsProtocol=https;AccountName=acct;"
            "AccountKey={s};EndpointSuffix=core.windows.net"
        )
        return tpl, _b64(rng, 64)
    if detector == "private_key":
        kind = rng.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
        pem = _pem(rng, kind)
        if rng.random() < 0.5:
            return "{s}\n", pem
        return '{{"private_key": "{s}"}}', json.dumps(pem)[1:-1]
    if detector == "url_credentials":
        scheme = rng.choice(["postgres", "mysql", "redis", "https", "mongodb+srv", "amqp"])
        return f"DATABASE_URL={scheme}://svc_user:{{s}}@db.internal:5432/app\n", _password(rng)
    if detector == "keyword_secret":
        tpl = rng.choice(
            [
                '{{"password": "{s}"}}',
                "DB_PASSWORD={s}\n",
                "password: {s}\n",
                "SECRET_KEY = '{s}'\n",
                '"api_key": "{s}"',
                "client_secret={s}&grant=x",
            ]
        )
        secret = _password(rng) if "ass" in tpl else pick(rng, ALNUM, 32)
        return tpl, secret
    if detector == "authorization_header":
        return "Authorization: Bearer {s}\r\n", pick(rng, ALNUM + "._~", 40)
    raise KeyError(detector)


CONTEXT_DETECTORS = (
    "aws_secret_access_key",
    "twilio_key",
    "azure_connection_string",
    "private_key",
    "url_credentials",
    "keyword_secret",
    "authorization_header",
)
ALL_DETECTORS = (*TOKENS, *CONTEXT_DETECTORS)


def samples(detector: str, n: int, seed: int = 7) -> list[Sample]:
    rng = random.Random(f"{detector}:{seed}")
    out = []
    for _ in range(n):
        filler = rng.choice(["", "log line: ok\n", "Lorem ipsum dolor sit amet. "])
        if detector in TOKENS:
            out.append(_wrap(detector, TOKENS[detector](rng), rng.choice(_CONTEXTS), filler))
        else:
            template, secret = _contextual(rng, detector)
            out.append(_wrap(detector, secret, template, filler))
    return out
