"""The service commands' interface: defaults and refusals (the commands themselves run in other tests)."""

from __future__ import annotations

from click.testing import CliRunner

from app.cli import main as cli


def test_serve_defaults_to_loopback_8000():
    out = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "127.0.0.1" in out and "8000" in out and "--host" in out and "--port" in out


def test_worker_needs_a_broker(monkeypatch):
    from app.config import get_settings

    monkeypatch.delenv("PWSIM_BROKER_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "PWSIM_BROKER_URL" in result.output


def test_verify_rejects_unreadable_manifest(tmp_path):
    data, manifest, key = tmp_path / "d.csv", tmp_path / "m.json", tmp_path / "k.pem"
    data.write_text("a\n1\n")
    manifest.write_text("not json")
    key.write_text("x")
    result = CliRunner().invoke(cli, ["verify", str(data), str(manifest), "--public-key", str(key)])
    assert result.exit_code == 2 and "cannot read" in result.output
