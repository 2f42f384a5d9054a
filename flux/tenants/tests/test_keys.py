from flux.tenants.keys import generate_key, hash_key, looks_like_key, visible_prefix


def test_generated_keys_carry_their_kind_and_differ() -> None:
    first, second = generate_key("ingest"), generate_key("ingest")
    assert first.startswith("flx_ingest_")
    assert len(first) == len("flx_ingest_") + 40
    assert first != second


def test_hash_is_sha256_hex_and_stable() -> None:
    key = generate_key("read")
    assert hash_key(key) == hash_key(key)
    assert len(hash_key(key)) == 64
    assert hash_key(key) != hash_key(generate_key("read"))


def test_visible_prefix_shows_kind_and_six_random_characters() -> None:
    key = generate_key("admin")
    assert visible_prefix(key) == key[: len("flx_admin_") + 6]


def test_looks_like_key_rejects_foreign_tokens() -> None:
    assert looks_like_key(generate_key("ingest"))
    assert not looks_like_key("Bearer")
    assert not looks_like_key("sk_live_1234567890abcdef")
    assert not looks_like_key("flx_" + "é" * 20)
