"""Resolve credentials with the official Python credentials SDK's default chain.

Usage: python credentials_check.py EMULATOR_URL

The environment (HOME with its ~/.aliyun/config.json, ALIBABA_CLOUD_* variables) is the
test's, the same kvsync is given. The script runs `DefaultCredentialsProvider` of
`alibabacloud_credentials` once and prints one JSON object: the SDK's provider name, the
key id's last four characters and whether a security token came with it. It never prints a
key id, a secret or a token.

The SDK hardcodes `https://sts.aliyuncs.com` (or `sts.<region>.aliyuncs.com`) for STS and
`http://100.100.100.200` for the ECS metadata service. To keep every request on
127.0.0.1, `Tea.core.TeaCore.do_action` (and its async twin) are wrapped so that each
request goes to the emulator over plain HTTP: only the protocol, host and port are
rewritten; the query, the signature, the headers and the parsing of the answer are the
SDK's own.
"""

import json
import sys
from urllib.parse import urlparse

from Tea.core import TeaCore

EMULATOR = urlparse(sys.argv[1])

_do_action = TeaCore.do_action
_async_do_action = TeaCore.async_do_action


def _to_emulator(request):
    # Protocol, host and port only: the signed query is left exactly as the SDK built it.
    request.protocol = "http"
    request.headers["host"] = EMULATOR.hostname
    request.port = EMULATOR.port


def do_action(request, runtime_option=None):
    _to_emulator(request)
    return _do_action(request, runtime_option)


async def async_do_action(request, runtime_option=None):
    _to_emulator(request)
    return await _async_do_action(request, runtime_option)


TeaCore.do_action = staticmethod(do_action)
TeaCore.async_do_action = staticmethod(async_do_action)

# Imported after the wrap; the SDK reads the environment when it is imported.
from alibabacloud_credentials.provider import DefaultCredentialsProvider  # noqa: E402


def main():
    credentials = DefaultCredentialsProvider().get_credentials()
    key_id = credentials.get_access_key_id()
    token = credentials.get_security_token()
    print(
        json.dumps(
            {
                "provider": credentials.get_provider_name(),
                "key_hint": "\u2026" + key_id[-4:],
                "temporary": bool(token),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
