"""Settings belong to an app: each app reads its own config, whichever app was made last."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from volunteer_app import timeutil
from volunteer_app.config import Defaults
from volunteer_app.settings import configured, setting

from .conftest import make_test_app


def test_each_app_reads_its_own_config(tmp_path):
    urumqi = make_test_app(tmp_path / "a", None, STATION_TZ="Asia/Urumqi", NO_SHOW_LIMIT=7)
    make_test_app(tmp_path / "b", None, STATION_TZ="Asia/Shanghai", NO_SHOW_LIMIT=2)  # made last
    with urumqi.app_context():
        assert setting("NO_SHOW_LIMIT") == 7
        assert timeutil.station_tz() == ZoneInfo("Asia/Urumqi")


def test_outside_an_app_the_defaults_unless_a_block_names_a_config(tmp_path):
    app = make_test_app(tmp_path, None, STATION_TZ="Asia/Urumqi", NO_SHOW_LIMIT=7)
    assert setting("NO_SHOW_LIMIT") == Defaults.NO_SHOW_LIMIT
    assert timeutil.station_tz() == ZoneInfo(Defaults.STATION_TZ)
    with configured(app.config):
        assert setting("NO_SHOW_LIMIT") == 7 and timeutil.station_tz() == ZoneInfo("Asia/Urumqi")
    assert setting("NO_SHOW_LIMIT") == Defaults.NO_SHOW_LIMIT
