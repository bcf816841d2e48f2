"""Curated provider formats. Each rule is a regex plus the literal anchors it always contains.

Formats follow the providers' published token layouts (and detect-secrets' plugins, whose JWT
check is reused). Boundaries forbid token characters on either side so a longer random string
that merely contains a prefix does not match.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.jwt import JwtTokenDetector

from gateway.redaction.detector import Anchor
from gateway.redaction.entropy import mixed_alnum
from gateway.redaction.finding import RANK_STRUCTURE
from gateway.redaction.regex_detector import RegexRule

_L = rb"(?<![A-Za-z0-9_-])"
_R = rb"(?![A-Za-z0-9_-])"


def _a(*literals: str, nocase: bool = False) -> tuple[Anchor, ...]:
    return tuple(Anchor(lit.encode(), nocase) for lit in literals)


def _rx(source: bytes, flags: int = 0) -> re.Pattern[bytes]:
    return re.compile(source, flags)


def _jwt_valid(secret: bytes) -> bool:
    return JwtTokenDetector.is_formally_valid(secret.decode("ascii", "replace"))


def _upper_lower_digit(secret: bytes) -> bool:
    tail = secret.split(b"-", 1)[-1]
    return mixed_alnum(tail)


def _no_placeholder(secret: bytes) -> bool:
    return not secret.startswith((b"$", b"{", b"%", b"<", b"*")) and secret != b"password"


_GITLAB = ("glpat", "gldt", "glrt", "glptt", "glsoat", "glcbt", "glft", "glimt", "gloas", "glagent")

PROVIDER_RULES: tuple[RegexRule, ...] = (
    RegexRule(
        "aws_access_key_id",
        _a("AKIA", "ASIA", "ABIA", "ACCA"),
        _rx(rb"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        after=24,
    ),
    RegexRule(
        "aws_secret_access_key",
        _a(
            "secret_access_key",
            "secret_accesskey",
            "secretaccess_key",
            "secretaccesskey",
            nocase=True,
        ),
        _rx(
            rb"(?i:secret_?access_?key)[\"']?\s*(?::|=|:=|=>)\s*[\"']?"
            rb"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        after=120,
        groups=(1,),
    ),
    RegexRule(
        "github_pat",
        _a("ghp_", "github_pat_"),
        _rx(_L + rb"(?:ghp_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _R),
        after=300,
    ),
    RegexRule(
        "github_token",
        _a("gho_", "ghu_", "ghs_", "ghr_"),
        _rx(_L + rb"gh[ousr]_[A-Za-z0-9]{36,251}" + _R),
        after=300,
    ),
    RegexRule(
        "gitlab_token",
        _a(*(f"{p}-" for p in _GITLAB), "GR1348941"),
        _rx(
            _L + rb"(?:(?:" + "|".join(_GITLAB).encode() + rb")-|GR1348941)"
            rb"[A-Za-z0-9_-]{20,200}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?" + _R
        ),
        after=300,
    ),
    RegexRule(
        "slack_token",
        _a("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxe-"),
        _rx(_L + rb"xox[baprse]-(?=[A-Za-z0-9-]{20})[A-Za-z0-9-]{20,250}" + _R),
        after=260,
    ),
    RegexRule(
        "slack_webhook",
        _a("hooks.slack.com/"),
        _rx(rb"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,200}"),
        before=8,
        after=260,
    ),
    RegexRule(
        "stripe_key",
        _a("sk_live_", "rk_live_", "sk_test_", "rk_test_"),
        _rx(_L + rb"[sr]k_(?:live|test)_[A-Za-z0-9]{24,247}" + _R),
        after=260,
    ),
    RegexRule(
        "openai_api_key",
        _a("sk-"),
        _rx(
            _L + rb"sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?"
            rb"(?:[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{40,250})" + _R
        ),
        after=300,
        validate=_upper_lower_digit,
    ),
    RegexRule(
        "anthropic_api_key",
        _a("sk-ant-"),
        _rx(_L + rb"sk-ant-(?:api|admin|oat|sid)[0-9]{2}-[A-Za-z0-9_-]{80,200}" + _R),
        after=260,
    ),
    RegexRule(
        "google_api_key",
        _a("AIza"),
        _rx(_L + rb"AIza[0-9A-Za-z_-]{35}" + _R),
        after=40,
    ),
    RegexRule(
        "sendgrid_api_key",
        _a("SG."),
        _rx(_L + rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _R),
        after=72,
    ),
    RegexRule(
        "twilio_key",
        _a("twilio", nocase=True),
        _rx(rb"(?<![A-Za-z0-9])(?:SK|AC)[0-9a-f]{32}(?![A-Za-z0-9])"),
        before=64,
        after=300,
    ),
    RegexRule(
        "npm_token",
        _a("npm_"),
        _rx(_L + rb"npm_[A-Za-z0-9]{36}" + _R),
        after=44,
    ),
    RegexRule(
        "pypi_token",
        _a("pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"),
        _rx(rb"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,1000}" + _R),
        after=1100,
    ),
    RegexRule(
        "huggingface_token",
        _a("hf_"),
        _rx(_L + rb"hf_[A-Za-z0-9]{34,40}" + _R),
        after=48,
        validate=_upper_lower_digit,
    ),
    RegexRule(
        "shopify_token",
        _a("shpat_", "shpss_", "shpca_", "shppa_"),
        _rx(_L + rb"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}" + _R),
        after=40,
    ),
    RegexRule(
        "azure_connection_string",
        _a("AccountKey=", "SharedAccessKey="),
        _rx(rb"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,200}={0,2})"),
        after=240,
        groups=(1,),
    ),
)

STRUCTURE_RULES: tuple[RegexRule, ...] = (
    RegexRule(
        "jwt",
        _a("eyJ"),
        _rx(_L + rb"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*" + _R),
        after=8192,
        rank=RANK_STRUCTURE,
        validate=_jwt_valid,
    ),
    RegexRule(
        "private_key",
        _a("-----BEGIN "),
        _rx(
            rb"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
            rb"(?:(.{1,8000}?)(?=-----END \1-----)|([A-Za-z0-9+/=\s\\:,.-]{16,8000}))",
            re.DOTALL,
        ),
        after=8200,
        groups=(2, 3),
        rank=RANK_STRUCTURE,
    ),
    RegexRule(
        "url_credentials",
        _a("://"),
        _rx(rb"://[^\s/?#@:\"'<>\\]*:([^\s/?#@\"'<>\\]{1,256})@"),
        after=600,
        groups=(1,),
        rank=RANK_STRUCTURE,
        validate=_no_placeholder,
    ),
)
