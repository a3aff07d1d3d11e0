"""`match_features`: stored incrementally by date. A new matchweek writes only its rows and the
fixtures'; a corrected result rewrites from its date on; earlier rows keep their values and their
computed_at; a backfill to an earlier date never replaces final rows; the stored values are the
point-in-time features (checked against build_features). On SQLite, PostgreSQL and TimescaleDB."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from football_pipeline.modelling import data, feature_store, features
from football_pipeline.warehouse import migrate, schema
from football_pipeline_tests.modelling.test_features import synthetic

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _at(frame: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    hidden = data.split_as_of(frame.assign(result=None, status="played"), as_of)
    return hidden, features.build_features(hidden)


def _sync(engine, frame, as_of, hours):
    shown, feats = _at(frame, as_of)
    return feature_store.sync(engine, shown, feats, as_of, now=T0 + dt.timedelta(hours=hours)), feats


@pytest.fixture
def store(warehouse):
    migrate.upgrade(warehouse)
    return warehouse


def _dates(frame):
    return sorted(pd.to_datetime(frame["match_date"]).dt.date.unique())


def test_a_new_matchweek_writes_only_its_rows_and_the_fixtures(store):
    frame = synthetic(seed=3).dropna(subset=["home_goals"])
    days = _dates(frame)
    first, feats = _sync(store, frame, days[20], 0)
    assert first.recomputed_from == days[0] and first.kept == 0
    assert first.final_written == int((pd.to_datetime(frame["match_date"]) < pd.Timestamp(days[20])).sum())
    assert first.provisional_written == len(frame) - first.final_written

    # The stored values are build_features' (NaN as null), fixtures flagged provisional.
    stored = feature_store.read(store)
    assert len(stored) == len(frame)
    ids = frame["match_id"].to_numpy()
    np.testing.assert_allclose(stored.loc[ids, feats.columns].to_numpy(dtype=float), feats.to_numpy(dtype=float),
                               rtol=1e-12, equal_nan=True)
    assert (stored["final"] == (stored["match_date"] < pd.Timestamp(days[20]))).all()

    second, _ = _sync(store, frame, days[21], 1)  # one more matchday played
    week = int((pd.to_datetime(frame["match_date"]) == pd.Timestamp(days[20])).sum())
    assert second.recomputed_from == days[20] and second.final_written == week
    assert second.kept == first.final_written and not second.backfill
    after = feature_store.read(store)
    old = after["match_date"] < pd.Timestamp(days[20])
    assert (after.loc[old, "computed_at"].map(pd.Timestamp) == pd.Timestamp(T0)).all()
    assert (after.loc[~old, "computed_at"].map(pd.Timestamp) == pd.Timestamp(T0 + dt.timedelta(hours=1))).all()

    same, _ = _sync(store, frame, days[21], 2)  # nothing new: no final row rewritten
    assert same.recomputed_from is None and same.final_written == 0 and same.kept == len(after[after["final"]])


def test_a_corrected_result_rewrites_from_its_date_and_keeps_earlier_rows(store):
    frame = synthetic(seed=4).dropna(subset=["home_goals"])
    days = _dates(frame)
    _sync(store, frame, days[-1], 0)
    before = feature_store.read(store)
    corrected = frame.copy()
    row = corrected.index[(pd.to_datetime(corrected["match_date"]) == pd.Timestamp(days[12]))][0]
    corrected.loc[row, "home_goals"] += 3
    result, feats = _sync(store, corrected, days[-1], 1)
    assert result.recomputed_from == days[12]
    after = feature_store.read(store)
    early = after["match_date"] < pd.Timestamp(days[12])
    pd.testing.assert_frame_equal(after[early], before[early])
    # Later features moved with the correction, and they are the corrected history's features.
    later = corrected.loc[pd.to_datetime(corrected["match_date"]) > pd.Timestamp(days[12]), "match_id"].to_numpy()
    assert not np.allclose(after.loc[later, "elo_diff"], before.loc[later, "elo_diff"])
    np.testing.assert_allclose(after.loc[corrected["match_id"].to_numpy(), feats.columns].to_numpy(dtype=float),
                               feats.to_numpy(dtype=float), rtol=1e-12, equal_nan=True)


def test_removed_matches_leave_the_table_and_a_new_feature_version_rewrites_all(store, monkeypatch):
    frame = synthetic(seed=5).dropna(subset=["home_goals"])
    days = _dates(frame)
    _sync(store, frame, days[-1], 0)
    gone = frame.index[pd.to_datetime(frame["match_date"]) == pd.Timestamp(days[25])][:1]
    result, _ = _sync(store, frame.drop(index=gone), days[-1], 1)
    assert result.deleted == 1 and result.recomputed_from == days[25]
    assert frame.loc[gone[0], "match_id"] not in feature_store.read(store).index

    monkeypatch.setattr(feature_store, "feature_version", lambda: "changed-code")
    again, _ = _sync(store, frame.drop(index=gone), days[-1], 2)
    assert again.recomputed_from == days[0] and again.kept == 0


def test_a_backfill_to_an_earlier_date_keeps_final_rows_and_the_fixtures(store):
    frame = synthetic(seed=6).dropna(subset=["home_goals"])
    days = _dates(frame)
    _sync(store, frame, days[25], 0)
    before = feature_store.read(store)
    result, _ = _sync(store, frame, days[10], 1)
    assert result.backfill and result.final_written == 0 and result.provisional_written == 0
    pd.testing.assert_frame_equal(feature_store.read(store), before)


def test_a_backfill_that_finds_a_corrected_result_leaves_no_stale_later_rows(store):
    frame = synthetic(seed=8).dropna(subset=["home_goals"])
    days = _dates(frame)
    _sync(store, frame, days[25], 0)
    corrected = frame.copy()
    row = corrected.index[(pd.to_datetime(corrected["match_date"]) == pd.Timestamp(days[5]))][0]
    corrected.loc[row, "away_goals"] += 2
    backfill, _ = _sync(store, corrected, days[10], 1)
    assert backfill.backfill and backfill.recomputed_from == days[5]
    later = int(((pd.to_datetime(frame["match_date"]) >= pd.Timestamp(days[10]))
                 & (pd.to_datetime(frame["match_date"]) < pd.Timestamp(days[25]))).sum())
    assert backfill.invalidated == later
    # The next forward sync rewrites them on the corrected history.
    forward, feats = _sync(store, corrected, days[25], 2)
    assert forward.recomputed_from == days[10] and forward.final_written == later
    stored = feature_store.read(store)
    np.testing.assert_allclose(stored.loc[corrected["match_id"].to_numpy(), feats.columns].to_numpy(dtype=float),
                               feats.to_numpy(dtype=float), rtol=1e-12, equal_nan=True)


def test_the_sync_is_one_transaction(store, monkeypatch):
    frame = synthetic(seed=7).dropna(subset=["home_goals"])
    days = _dates(frame)
    _sync(store, frame, days[15], 0)
    before = feature_store.read(store)
    real = feature_store._values
    calls = {"n": 0}

    def broken(*args):  # a row that cannot be written, after the deletes and a few inserts
        calls["n"] += 1
        return real(*args) if calls["n"] < 7 else {"elo_diff": object()}

    monkeypatch.setattr(feature_store, "_values", broken)
    monkeypatch.setattr(feature_store, "CHUNK", 2)
    with pytest.raises(sa.exc.StatementError):
        _sync(store, frame, days[-1], 1)
    pd.testing.assert_frame_equal(feature_store.read(store), before)
    with store.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.match_features)).scalar() == len(before)
