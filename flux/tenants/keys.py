"""API key format and hashing: pure functions, no database.

A key looks like `flx_ingest_3fK9…` (prefix `flx_`, the kind, 40 random base62 characters, about 238
bits). Keys are random and long, so a plain SHA-256 is a safe one-way store and makes lookup a single
indexed equality; a slow password hash would only add latency to every ingest request.
"""

import hashlib
import hmac
import secrets
import string

KEY_PREFIX = "flx_"
RANDOM_PART_LENGTH = 40
VISIBLE_RANDOM_CHARS = 6
_ALPHABET = string.ascii_letters + string.digits


def generate_key(kind: str) -> str:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(RANDOM_PART_LENGTH))
    return f"{KEY_PREFIX}{kind}_{random_part}"


def derived_key(kind: str, secret: str, context: str) -> str:
    """A key computed from a server secret and a context (HMAC-SHA512), the same every time it is asked for.

    For keys the server must be able to hand out again while storing only their hash (SDK provisioning).
    """
    number = int.from_bytes(hmac.new(secret.encode(), context.encode(), hashlib.sha512).digest(), "big")
    characters = []
    for _ in range(RANDOM_PART_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[index])
    return f"{KEY_PREFIX}{kind}_{''.join(characters)}"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def visible_prefix(raw_key: str) -> str:
    """The part of a key that is safe to show in lists: prefix, kind and a few random characters."""
    head, _, random_part = raw_key.rpartition("_")
    return f"{head}_{random_part[:VISIBLE_RANDOM_CHARS]}"


def looks_like_key(candidate: str) -> bool:
    return candidate.startswith(KEY_PREFIX) and 16 <= len(candidate) <= 128 and candidate.isascii()
