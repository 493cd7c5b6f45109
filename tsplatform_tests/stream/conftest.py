"""Every stream test gets its own data folder through TSPLATFORM_DATA_DIR, as the CLI would."""

import pytest

from tsplatform.settings import data_paths


@pytest.fixture
def stream_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(tmp_path / "data"))
    folder = data_paths().stream
    folder.mkdir(parents=True)
    return folder
