"""Pure parts: the content hash, backup names, retention policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fake_dropbox import content_hash as reference_hash

from bookedbiz.backup.content_hash import (
    DropboxContentHasher,
    bytes_content_hash,
    file_content_hash,
)
from bookedbiz.backup.naming import (
    custom_name,
    nightly_name,
    normalize_folder,
    parse_nightly,
)
from bookedbiz.backup.retention import plan_retention
from bookedbiz.errors import ConfigError

MIB4 = 4 * 1024 * 1024


@pytest.mark.parametrize("length", [0, 1, 2, 4096, MIB4 - 1, MIB4, MIB4 + 1, 2 * MIB4])
def test_content_hash_matches_reference_at_block_boundaries(length: int) -> None:
    data = b"A" * length
    assert bytes_content_hash(data) == reference_hash(data)


def test_content_hash_known_vectors() -> None:
    # Published vectors (rclone dbhash tests): empty input and 4 MiB of 'A'.
    assert bytes_content_hash(b"") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    digest = bytes_content_hash(b"A" * MIB4)
    assert digest.startswith("d4d63bac5b86") and digest.endswith("befa3")


def test_incremental_feeding_in_odd_sizes_and_files(tmp_path) -> None:
    data = bytes(range(256)) * 40000 + b"tail"
    hasher = DropboxContentHasher()
    for start in range(0, len(data), 1_000_003):
        hasher.update(data[start:start + 1_000_003])
    file = tmp_path / "f.bin"
    file.write_bytes(data)
    assert hasher.hexdigest() == reference_hash(data) == file_content_hash(file)


def test_nightly_names_are_utc_and_parsed() -> None:
    at = datetime(2026, 11, 23, 2, 5, 0, tzinfo=UTC)
    assert nightly_name(at) == "bookedbiz-20261123T020500Z.db"
    assert parse_nightly("bookedbiz-20261123T020500Z.db") == at
    for other in ("pre_migration_backup.db", "database_backup_20260101_010101.db",
                  "bookedbiz-20261340T020500Z.db", "bookedbiz-20261123T020500Z.db.partial"):
        assert parse_nightly(other) is None


def test_custom_names_are_validated_and_kept_apart() -> None:
    assert custom_name("pre_migration") == "pre_migration.db"
    assert custom_name("before-upgrade.db") == "before-upgrade.db"
    for bad in ("../etc", "a/b", "", "bookedbiz-20261123T020500Z", ".hidden"):
        with pytest.raises(ConfigError):
            custom_name(bad)


def test_folder_paths_are_normalised() -> None:
    assert normalize_folder("backups") == "/backups"
    assert normalize_folder("/backups/") == "/backups"
    assert normalize_folder("") == normalize_folder("/") == ""
    with pytest.raises(ConfigError):
        normalize_folder("/backups/../x")


def _nightlies(days: int) -> list[tuple[str, datetime]]:
    start = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    return [(nightly_name(start + timedelta(days=i)), start + timedelta(days=i))
            for i in range(days)]


def test_retention_keeps_daily_weekly_monthly() -> None:
    backups = _nightlies(120)
    plan = plan_retention(backups, keep_daily=7, keep_weekly=4, keep_monthly=3)
    kept_times = sorted(parse_nightly(n) for n in plan.keep)
    newest = backups[-1][1]
    # the 7 newest days are all kept
    assert all(newest - timedelta(days=i) in kept_times for i in range(7))
    # one per month for the three newest months (newest backup of each month)
    assert datetime(2026, 3, 31, 2, 0, tzinfo=UTC) in kept_times
    assert datetime(2026, 2, 28, 2, 0, tzinfo=UTC) in kept_times
    assert len(plan.keep) + len(plan.delete) == 120
    assert len(plan.keep) <= 7 + 4 + 3
    assert datetime(2026, 1, 15, 2, 0, tzinfo=UTC) not in kept_times


def test_retention_protects_given_names_and_ignores_string_order() -> None:
    backups = _nightlies(10)
    oldest = backups[0][0]
    plan = plan_retention(backups, keep_daily=2, keep_weekly=0, keep_monthly=0,
                          protected=[oldest])
    assert oldest in plan.keep
    assert set(plan.keep) == {oldest, backups[-1][0], backups[-2][0]}
    assert "newest verified" in plan.reasons[oldest]


def test_range_hash_from_block_digests(tmp_path) -> None:
    from bookedbiz.backup.content_hash import file_hasher, range_content_hash

    data = bytes(range(256)) * (3 * MIB4 // 256) + b"x" * 1000
    file = tmp_path / "f.bin"
    file.write_bytes(data)
    blocks = file_hasher(file).blocks
    assert len(blocks) == 4
    assert range_content_hash(blocks, MIB4, MIB4) == reference_hash(data[MIB4:2 * MIB4])
    assert range_content_hash(blocks, 2 * MIB4, len(data) - 2 * MIB4) == reference_hash(
        data[2 * MIB4:])
    assert range_content_hash(blocks, 100, MIB4) is None
