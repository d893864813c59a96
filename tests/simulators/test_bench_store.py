"""bench_store runs the real pipeline on a scratch database: every heartbeat it measures must have
been stored and answered (snu 0 with the unit's hbi), new and retransmitted alike."""

from __future__ import annotations

from simulators.bench_store import main


def test_it_stores_answers_and_measures_every_heartbeat(_pg_server_url: str, capsys):
    figures = main(
        ["--batches", "3", "--batch", "10", "--rounds", "2", "--duplicates", "--pg", _pg_server_url]
    )
    assert set(figures) == {"handle", "decode", "wall", "postgres"}
    assert all(len(values) == 2 and all(v >= 0 for v in values) for values in figures.values())
    out = capsys.readouterr().out
    assert "2 rounds of 3 batches of 10 heartbeats, each sent twice" in out
    assert "CPU:   store (handle - decode)" in out
