from datetime import UTC, datetime, timedelta, timezone

from hotline.core.time import NAIROBI, as_utc


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
