"""Remote store settings: arguments over environment over the config file; bad settings are
clear errors."""

import pytest

from clusterpolisee.store import OxigraphStore, StoreError, configured_endpoint, open_store
from clusterpolisee.store.remote import RemoteConfig, RemoteStore


@pytest.fixture
def clean_env(monkeypatch):
    for var in [*RemoteConfig.ENV.values(), "CLUSTERPOLISEE_STORE_CONFIG"]:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_file_then_environment_then_argument(clean_env, tmp_path):
    ini = tmp_path / "store.ini"
    ini.write_text(
        "[remote]\nendpoint = http://file.example/sparql\nuser = fileuser\n"
        "password = filepw\nmax_rows = 500\ntimeout = 7.5\n"
    )
    clean_env.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(ini))
    cfg = RemoteConfig.load()
    assert (cfg.endpoint, cfg.user, cfg.password, cfg.max_rows, cfg.timeout) == (
        "http://file.example/sparql",
        "fileuser",
        "filepw",
        500,
        7.5,
    )
    clean_env.setenv("CLUSTERPOLISEE_USER", "envuser")
    clean_env.setenv("CLUSTERPOLISEE_ENDPOINT", "http://env.example/sparql")
    cfg = RemoteConfig.load()
    assert (cfg.endpoint, cfg.user, cfg.password) == (
        "http://env.example/sparql",
        "envuser",
        "filepw",
    )
    assert RemoteConfig.load("http://arg.example/sparql").endpoint == "http://arg.example/sparql"


def test_bad_settings_are_clear_errors(clean_env, tmp_path):
    with pytest.raises(StoreError, match="no SPARQL endpoint"):
        RemoteConfig.load()
    clean_env.setenv("CLUSTERPOLISEE_MAX_ROWS", "many")
    with pytest.raises(StoreError, match="bad store setting"):
        RemoteConfig.load("http://x.example/sparql")
    with pytest.raises(StoreError, match="cannot read the store configuration file"):
        RemoteConfig.load("http://x.example/sparql", str(tmp_path / "missing.ini"))


def test_the_config_file_endpoint_selects_the_remote_store(clean_env, tmp_path):
    assert configured_endpoint() is None
    assert isinstance(open_store(str(tmp_path / "embedded")), OxigraphStore)
    ini = tmp_path / "store.ini"
    ini.write_text("[remote]\nendpoint = http://file.example/sparql\nuser = u\n")
    clean_env.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(ini))
    assert configured_endpoint() == "http://file.example/sparql"
    store = open_store(str(tmp_path / "unused"))  # contacts nothing yet
    assert isinstance(store, RemoteStore) and store.describe() == "http://file.example/sparql"
    assert not (tmp_path / "unused").exists()
    clean_env.setenv("CLUSTERPOLISEE_ENDPOINT", "http://env.example/sparql")  # env wins
    assert configured_endpoint() == "http://env.example/sparql"
    assert open_store(str(tmp_path / "unused")).describe() == "http://env.example/sparql"


def test_a_config_file_without_an_endpoint_leaves_the_embedded_store(clean_env, tmp_path):
    ini = tmp_path / "store.ini"
    ini.write_text("[remote]\nuser = u\n")
    clean_env.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(ini))
    assert configured_endpoint() is None
    clean_env.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(tmp_path / "missing.ini"))
    with pytest.raises(
        StoreError, match="^cannot read the store configuration file .*missing.ini$"
    ):
        configured_endpoint()
    ini.write_text("endpoint = http://no-section.example/sparql\n")
    clean_env.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(ini))
    with pytest.raises(
        StoreError, match="^the store configuration file .* is not a valid INI file "
    ):
        configured_endpoint()


def test_a_password_with_a_percent_sign_is_read_as_written(clean_env, tmp_path, monkeypatch):
    """ConfigParser's interpolation raised on '%' and its traceback printed the password."""
    ini = tmp_path / "store.ini"
    ini.write_text("[remote]\nendpoint = http://127.0.0.1:9/sparql\npassword = pa%ss%word\n")
    monkeypatch.setenv("CLUSTERPOLISEE_STORE_CONFIG", str(ini))
    assert configured_endpoint() == "http://127.0.0.1:9/sparql"
    assert RemoteConfig.load().password == "pa%ss%word"
    ini.write_text("[remote]\nendpoint = http://x\npassword s3cret-line\n")
    with pytest.raises(StoreError) as caught:
        configured_endpoint()
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).endswith("is not a valid INI file (ParsingError); see README, 'Store'")


@pytest.mark.parametrize("key", ["endpoint", "update_endpoint", "gsp_endpoint"])
def test_a_user_and_password_in_an_endpoint_url_are_refused(clean_env, key):
    """requests took them as Basic auth, and every message printed the URL with them."""
    clean_env.setenv("CLUSTERPOLISEE_ENDPOINT", "http://127.0.0.1:9/sparql")
    clean_env.setenv(RemoteConfig.ENV[key], "http://kg:s3cret@127.0.0.1:9/sparql")
    with pytest.raises(StoreError) as caught:
        RemoteConfig.load()
    assert str(caught.value) == (
        f"{RemoteConfig.ENV[key]} holds a user name or password in its URL: give them as "
        "CLUSTERPOLISEE_USER and CLUSTERPOLISEE_PASSWORD instead"
    )
