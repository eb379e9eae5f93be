from datetime import UTC, date, datetime, timedelta, timezone

import time_machine

from hotline.core.time import NAIROBI, as_utc, duration, kenya_time, kenya_today


def test_as_utc_marks_naive_times_as_utc_and_leaves_aware_times_and_none_alone():
    nairobi = timezone(timedelta(hours=3))
    assert as_utc(datetime(2026, 1, 2, 3, 4)) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert as_utc(datetime(2026, 1, 2, 3, 4)).tzinfo is UTC
    aware = datetime(2026, 1, 2, 3, 4, tzinfo=nairobi)
    assert as_utc(aware) is aware
    assert as_utc(None) is None


def test_nairobi_is_utc_plus_three_all_year():
    for month in (1, 7):
        moment = datetime(2026, month, 1, 12, tzinfo=UTC)
        assert moment.astimezone(NAIROBI).utcoffset() == timedelta(hours=3)
        assert moment.astimezone(NAIROBI).tzname() == "EAT"


def test_kenya_today_turns_at_midnight_in_nairobi_not_at_midnight_utc():
    with time_machine.travel(datetime(2026, 11, 28, 20, 59, tzinfo=UTC), tick=False):
        assert kenya_today() == date(2026, 11, 28)
    with time_machine.travel(datetime(2026, 11, 28, 21, 0, tzinfo=UTC), tick=False):
        assert kenya_today() == date(2026, 11, 29)


def test_kenya_time_shows_a_stored_time_in_eat_naive_ones_read_as_utc():
    moment = datetime(2026, 11, 28, 22, 5, 7)  # as SQLite gives it back: naive, UTC
    assert kenya_time(moment) == "2026-11-29 01:05"
    assert kenya_time(moment.replace(tzinfo=UTC), seconds=True) == "2026-11-29 01:05:07"
    assert kenya_time(None) == "-" and kenya_time(None, missing="never") == "never"


def test_durations_read_short_rounded_down_for_an_age_and_up_for_a_time_to_come():
    assert [duration(s) for s in (0, 59.9, 61, 3599, 3600, 2 * 86400 - 60, 2 * 86400 + 3600)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h", "47 h 59 min", "2 d 1 h"]
    assert duration(-125) == "2 min"  # overdue by
    assert [duration(s, round_up=True, days_after_hours=24) for s in (0.2, 61, 3601, 86400, 90000)] == [
        "1 s", "2 min", "1 h 1 min", "1 d", "1 d 1 h"]
