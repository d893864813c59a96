"""bench_restart starts the real ``lifeline ingest`` and waits for it to answer one of the start's
own heartbeats: every start it reports must have been receiving (answered), then killed."""

from __future__ import annotations

from simulators.bench_restart import main


def test_it_times_each_start_to_its_first_answer(_pg_server_url: str, mqtt_url: str, capsys):
    figures = main(["--starts", "2", "--pg", _pg_server_url, "--mqtt", mqtt_url])
    assert set(figures) == {"wall", "cpu"}
    assert all(len(values) == 2 and all(v > 0 for v in values) for values in figures.values())
    out = capsys.readouterr().out
    assert "2 starts of lifeline ingest" in out
    assert "CPU of the ingest process" in out
