"""Schemathesis hooks of scripts/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Every generated request comes from a client address of its own (`CF-Connecting-IP`), as
distinct clients reach the worker through Cloudflare's edge. The worker limits sign-ups,
passkey options and failed sign-ins per address; from one address the fuzzer's hundreds of
sign-ups would be answered 429 after the first ten, and the rest of each operation's examples
would never reach its handler. The limits themselves are tested in tests/api/attacks.rs.
"""

import itertools

import schemathesis

_clients = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    n = next(_clients)
    case.headers["CF-Connecting-IP"] = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
