"""Benign structures that look random but must never be redacted, built at run time."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid

from tests.redaction.corpus import ALNUM, HEX, pick


def lockfile(rng: random.Random, n: int = 50) -> str:
    parts = []
    for i in range(n):
        name = pick(rng, "abcdefghijklmnop", 8)
        sri = base64.b64encode(hashlib.sha512(rng.randbytes(16)).digest()).decode()
        parts.append(
            f'    "node_modules/{name}": {{\n      "version": "1.{i}.0",\n'
            f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-1.{i}.0.tgz",\n'
            f'      "integrity": "sha512-{sri}",\n      "license": "MIT"\n    }},\n'
        )
    return '{\n  "lockfileVersion": 3,\n  "packages": {\n' + "".join(parts) + "  }\n}\n"


def requirements(rng: random.Random, n: int = 30) -> str:
    return "".join(
        f"pkg{i}=={i}.0.1 \\\n    --hash=sha256:{pick(rng, HEX, 64)} \\\n"
        f"    --hash=sha256:{pick(rng, HEX, 64)}\n"
        for i in range(n)
    )


def go_sum(rng: random.Random, n: int = 30) -> str:
    def h1() -> str:
        return base64.b64encode(rng.randbytes(32)).decode()

    return "".join(
        f"github.com/org{i}/mod v1.{i}.0 h1:{h1()}\n"
        f"github.com/org{i}/mod v1.{i}.0/go.mod h1:{h1()}\n"
        for i in range(n)
    )


def git_log(rng: random.Random, n: int = 20) -> str:
    return "".join(
        f"commit {pick(rng, HEX, 40)}\nAuthor: Dev <dev@example.com>\nDate:   Mon Jan 1\n\n"
        f"    Fix token refresh and key rotation (tree {pick(rng, HEX, 64)})\n\n"
        for _ in range(n)
    )


def docker(rng: random.Random, n: int = 20) -> str:
    return "".join(
        f"FROM python:3.12-slim@sha256:{pick(rng, HEX, 64)}\n"
        f"image: ghcr.io/org/app@sha256:{pick(rng, HEX, 64)}\n"
        for _ in range(n)
    )


def uuids(rng: random.Random, n: int = 40) -> str:
    return "".join(
        f'{{"id": "{uuid.UUID(bytes=rng.randbytes(16))}", "key": "k{i}"}}\n' for i in range(n)
    )


def ssh_keys(rng: random.Random, n: int = 10) -> str:
    lines = []
    for i in range(n):
        ed = base64.b64encode(
            b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + rng.randbytes(32)
        ).decode()
        rsa = base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + rng.randbytes(390)).decode()
        lines.append(f"ssh-ed25519 {ed} user{i}@host\nssh-rsa {rsa} deploy@ci\n")
    return "".join(lines)


def pgp_block(rng: random.Random) -> str:
    body = base64.b64encode(rng.randbytes(1200)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    label = "PGP PUBLIC KEY BLOCK"
    return f"-----BEGIN {label}-----\n\n{lines}\n=abcd\n-----END {label}-----\n"


def data_uri(rng: random.Random) -> str:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000)).decode()
    return f'<img alt="logo" src="data:image/png;base64,{png}">\n'


def minified_js(rng: random.Random) -> str:
    names = [pick(rng, "abcdefghijklmnopqrstuvwxyz", 1) for _ in range(20)]
    a, b, c = names[:3]
    return (
        f"!function({a},{b}){{var {c}={{password:{a}.password,token:{b}.token,apiKey:{a}.apiKey}};"
        f"return {c}.key={b}.key||null,{c}.secret=void 0,{a}.auth={b}.authorization}}"
        f'(window,{{token:"",key:"id"}});var t="{pick(rng, ALNUM, 12)}";'
        "function n(e){return e.split('').map(function(x){return x.charCodeAt(0)})}\n"
    )


def random_blob(rng: random.Random) -> str:
    data = base64.b64encode(rng.randbytes(6000)).decode()
    return "\n".join(data[i : i + 76] for i in range(0, len(data), 76)) + "\n"


LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. The password policy requires "
    "rotation; the token service issues keys and secrets are stored in the vault. Authorization "
    "is granted per task. Key: value pairs are described below.\n"
)

GENERATORS = {
    "lockfile": lockfile,
    "requirements": requirements,
    "go_sum": go_sum,
    "git_log": git_log,
    "docker": docker,
    "uuids": uuids,
    "ssh_keys": ssh_keys,
    "pgp_block": pgp_block,
    "data_uri": data_uri,
    "minified_js": minified_js,
    "random_blob": random_blob,
    "lorem": lambda rng: LOREM * 5,
}
