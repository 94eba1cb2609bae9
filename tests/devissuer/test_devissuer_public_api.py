"""The dev issuer's public face: `codexlogin.devissuer.__all__` is a deliberate, pinned list.

Other projects may use the dev issuer as their test issuer; a name that enters or leaves this list
is an API change, so it must be made here on purpose.
"""

from __future__ import annotations

import codexlogin.devissuer

PUBLIC_NAMES = [
    "AUTH_CLAIMS",
    "DevIssuer",
    "Faults",
    "GRANT_DEVICE_CODE",
    "GRANT_REFRESH",
    "GRANT_TOKEN_EXCHANGE",
    "ID_TOKEN_TYPE",
    "MISSING_ENTITLEMENT_DESCRIPTION",
    "ONBOARDING_STATE_SUFFIX",
    "ORG_OWNER_NEEDS_SETUP",
    "Request",
    "browse",
    "is_loopback_redirect",
    "serve_dev_issuer",
]


def test_all_is_the_pinned_list():
    assert sorted(codexlogin.devissuer.__all__) == PUBLIC_NAMES


def test_every_exported_name_is_there():
    namespace: dict[str, object] = {}
    exec("from codexlogin.devissuer import *", namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == PUBLIC_NAMES
