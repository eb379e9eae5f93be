"""The USSD webhook end to end: whole sessions, navigation, resume, retries, outages, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine
from rq import Queue
from sqlalchemy import func, select

from hotline.contacts import service as contacts
from hotline.core.models import Contact, Reporter, Tip, UssdStateBackup
from hotline.core.privacy import decrypt_contact, engagement_key, reporter_key
from hotline.tips.reference import normalise
from tests.conftest import TEST_PHONE, Phone, ussd_form
from workers.sweeper import sweep_unqueued_tips, sweep_ussd_state_backups

KAKAMEGA = 37


def tips(ext) -> list[Tip]:
    with ext.session_scope() as session:
        return list(session.scalars(select(Tip).order_by(Tip.id)))


def ref_of(screen: str) -> str:
    return re.search(r"\d{3}(?:-\d{3})+", screen).group(0)


def report_kakamega(phone: Phone, place: str = "Near * market") -> str:
    """Dial and send an urgent forced-labour tip from Kakamega, consenting to a call back."""
    phone.dial()
    return phone.send("1", "1", "kak", place, "99", "1", "2", "1", "1")


def test_whole_tip_in_english_is_saved_before_the_end_screen(ext, phone):
    end = report_kakamega(phone)

    assert end.startswith("END In danger? Call 999 or 112 NOW.")
    [tip] = tips(ext)
    assert normalise(ref_of(end)) == tip.reference
    assert (tip.kind, tip.county_code, tip.place, tip.description) == (
        "forced_labour",
        KAKAMEGA,
        "Near * market",
        None,
    )
    assert (tip.danger, tip.children, tip.urgent, tip.channel, tip.language) == (
        "yes",
        "no",
        True,
        "ussd",
        "en",
    )
    assert tip.reporter_key == reporter_key(TEST_PHONE, ext.config.phone_hash_key)
    assert decrypt_contact(tip.callback_contact, ext.config.contact_key) == TEST_PHONE
    stored = " ".join(str(getattr(tip, c.name)) for c in Tip.__table__.columns)
    assert TEST_PHONE not in stored and TEST_PHONE[1:] not in stored and "711000001" not in stored


def test_the_routing_job_is_enqueued_for_the_new_tip(ext, phone):
    report_kakamega(phone)
    [tip] = tips(ext)
    queue = Queue("tips", connection=ext.redis)
    assert queue.job_ids == [f"route-tip-{tip.id}"]
    job = queue.fetch_job(f"route-tip-{tip.id}")
    assert (job.func_name, job.args) == ("workers.routing.route_tip", (tip.id,))
    assert tip.routing_started_at is None  # until a worker takes it


def test_whole_tip_in_kiswahili_and_the_language_is_remembered(ext, client):
    phone = Phone(client, number="+254722000002")
    phone.dial()
    menu = phone.send("6", "2")
    assert "1. Ripoti ulanguzi wa watu (bila jina)" in menu
    end = phone.send("1", "98", "9", "99", "Mtaa wa Majengo", "Mtoto amepotea tangu jana", "3", "1", "2")
    confirm = end
    assert "Tuma ripoti hii?" in confirm and "Mtu aliyepotea" in confirm
    end = phone.send("1")
    assert end.startswith("END Ripoti imetumwa. Namba ya kumbukumbu: ")
    [tip] = tips(ext)
    assert (tip.kind, tip.county_code, tip.children, tip.callback_contact, tip.language) == (
        "missing_person",
        None,
        "yes",
        None,
        "sw",
    )
    with ext.session_scope() as session:
        assert session.get(Reporter, tip.reporter_key).language == "sw"
    assert "Ripoti ulanguzi wa watu (bila jina)" in phone.dial()


def test_back_home_and_more(phone):
    phone.dial()
    first_page = phone.send("1")
    assert "1. Forced labour" in first_page and "98 More" in first_page
    second_page = phone.send("98")
    assert "5. Child labour" in second_page and "1. Forced labour" not in second_page
    assert phone.send("0") == first_page
    assert "1. Report trafficking (anonymous)" in phone.send("00")
    assert phone.send("0").startswith("CON Not a choice. Try again.\n1. Report")


def test_more_past_the_last_page_says_so_and_numbers_run_across_pages(phone):
    phone.dial()
    phone.send("1", "98", "98", "98")
    assert "13. Other" in phone.last and "98 More" not in phone.last
    assert phone.send("98").startswith("CON No more choices.")
    assert "County?" in phone.send("13")


def test_counties_by_first_letters(phone):
    phone.dial()
    phone.send("1", "1")
    narrowed = phone.send("ka")
    assert "1. Kajiado\n2. Kakamega\n" in narrowed
    assert "1. Baringo" in phone.send("0")  # back to the full list
    assert "Where exactly?" in phone.send("Nairobi")
    assert phone.send("0").startswith("CON County?")
    assert phone.send("zz").startswith("CON No match. Try again.")


def test_a_retried_request_gets_the_same_screen_and_changes_nothing(ext, phone):
    phone.dial()
    phone.send("1", "1", "kak", "Shamba", "99", "2", "2", "2")
    screen = phone.send("1")
    assert phone.post("*".join(phone.inputs)) == screen
    assert phone.post("*".join(phone.inputs)) == screen
    assert len(tips(ext)) == 1
    assert phone.post("*".join(phone.inputs[:-1])) != screen  # an older text is not a retry of this one


def test_resume_an_unfinished_report_in_a_new_session(ext, phone):
    phone.dial()
    phone.send("1", "2", "mom", "Bamburi road")
    assert "What happened?" in phone.last  # the network drops the session here
    offer = phone.dial()
    assert offer.startswith("CON You did not finish last time.")
    assert "What happened?" in phone.send("1")
    phone.send("Girls kept in a house", "3", "3", "2")
    assert "Sexual exploitation, Mombasa: Bamburi road" in phone.last
    phone.send("1")
    [tip] = tips(ext)
    assert (tip.kind, tip.county_code, tip.place, tip.description) == (
        "sexual_exploitation",
        1,
        "Bamburi road",
        "Girls kept in a house",
    )
    assert phone.dial().startswith("CON 1. Report")  # sent: nothing left to resume


def test_resume_start_again_discards_the_draft(ext, phone):
    phone.dial()
    phone.send("1", "2")
    ttl = ext.redis.ttl(f"ussd:reporter:{reporter_key(TEST_PHONE, ext.config.phone_hash_key)}")
    assert 0 < ttl <= 15 * 60
    phone.dial()
    assert phone.send("2").startswith("CON What is happening?")  # a new report, from its start
    assert phone.send("0").startswith("CON 1. Report")  # its way back is the menu, not the offer
    assert phone.dial().startswith("CON 1. Report")


def test_start_again_then_dropping_offers_the_new_report_not_the_old_one(phone):
    phone.dial()
    phone.send("1", "2", "Lurambi")  # forced labour, then a county, a place
    phone.dial()
    phone.send("2", "3")  # start again: a fake job this time, then drop
    assert phone.dial().startswith("CON You did not finish last time.")
    assert phone.send("1").startswith("CON County?")  # where the new report stopped
    assert "Fake job or agency" in phone.send("0")


def test_menu_pressed_on_purpose_is_not_an_unfinished_report(phone):
    phone.dial()
    phone.send("1", "2", "Lurambi")
    assert phone.send("00").startswith("CON 1. Report")
    assert phone.dial().startswith("CON 1. Report")  # nothing offered: they left it on purpose


def test_back_to_the_menu_from_the_first_question_is_not_an_unfinished_report(phone):
    phone.dial()
    phone.send("1", "1")
    phone.send("0")  # back to the kinds
    assert phone.send("0").startswith("CON 1. Report")
    assert phone.dial().startswith("CON 1. Report")


def test_a_dropped_session_is_an_unfinished_report(phone):
    phone.dial()
    phone.send("1", "1")  # a kind chosen, then the line drops on the county question
    assert phone.dial().startswith("CON You did not finish last time.")


def test_choosing_report_and_dropping_before_any_answer_leaves_nothing_to_resume(phone):
    phone.dial()
    phone.send("1")
    assert phone.dial().startswith("CON 1. Report")


def test_back_after_resume_walks_the_original_path(phone):
    phone.dial()
    phone.send("1", "2", "mom")
    phone.dial()
    phone.send("1")
    assert phone.send("0").startswith("CON County?")
    assert phone.send("0").startswith("CON What is happening?")


def test_star_typed_inside_free_text_is_kept(ext, phone):
    phone.dial()
    phone.send("1", "3", "nai", "Plot 5*B, *Eastleigh*", "He said *call me* later", "2", "2", "2", "1")
    [tip] = tips(ext)
    assert tip.place == "Plot 5*B, *Eastleigh*"
    assert tip.description == "He said *call me* later"


def test_cancel_sends_nothing(ext, phone):
    phone.dial()
    end = phone.send("1", "1", "99", "Somewhere", "99", "2", "2", "2", "2")
    assert end.startswith("END Cancelled. Nothing was sent.")
    assert tips(ext) == []
    assert phone.dial().startswith("CON 1. Report")


def test_help_screen(phone):
    phone.dial()
    help_screen = phone.send("4")
    for number in ("999", "112", "116", "1195", "0800 722 203"):
        assert number in help_screen
    assert phone.send("0").startswith("CON 1. Report")


def test_redis_outage_in_the_middle_of_a_session(ext, phone, redis_server, app):
    phone.dial()
    phone.send("1", "1")
    redis_server.stop()
    try:
        # No state: the session is rebuilt by replaying `text`, and the tip is still saved.
        assert "Where exactly?" in phone.send("kak")
        end = phone.send("Lurambi market", "99", "2", "2", "2", "1")
        assert end.startswith("END Report sent. Reference: ")
        [tip] = tips(ext)
        assert tip.place == "Lurambi market" and tip.county_code == KAKAMEGA
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and health.json["redis"].startswith("error")
    finally:
        redis_server.start()
    with app.app_context():
        assert sweep_unqueued_tips(older_than_seconds=0) == 1
        assert sweep_unqueued_tips(older_than_seconds=0) == 0  # its job is in Redis now
    assert Queue("tips", connection=ext.redis).job_ids == [f"route-tip-{tip.id}"]


def test_a_tip_whose_routing_job_redis_did_not_take_is_marked_and_routed_once_by_the_sweeper(
    ext, phone, redis_server, app
):
    report_kakamega(phone)  # the routing job of this process is prepared (hotline.prepared_jobs)
    phone.dial()
    phone.send("1", "1", "kak", "Lurambi", "99", "2", "2", "2")
    redis_server.stop()
    try:
        assert phone.send("1").startswith("END Report sent. Reference: ")
    finally:
        redis_server.start()
    first, second = tips(ext)
    assert first.routing_queue_failed_at is None and second.routing_queue_failed_at is not None
    queue = Queue("tips", connection=ext.redis)
    with app.app_context():  # (the restarted Redis is empty: the first tip's job went with it)
        assert sweep_unqueued_tips(older_than_seconds=3600) == 1  # due at once: it is marked
        assert sweep_unqueued_tips(older_than_seconds=3600) == 0  # its job is in Redis now
    assert queue.job_ids == [f"route-tip-{second.id}"]


def test_a_star_inside_the_place_stays_in_it_while_redis_is_down(ext, phone, redis_server):
    phone.dial()
    phone.send("1", "1", "kak")
    redis_server.stop()
    try:
        assert "What happened?" in phone.send("Shauri Moyo market * stall 5")
        assert "Is someone in danger" in phone.send("Men took their IDs")
        phone.send("2", "2", "2", "1")
    finally:
        redis_server.start()
    [tip] = tips(ext)
    assert (tip.place, tip.description) == ("Shauri Moyo market * stall 5", "Men took their IDs")
    assert tip.danger == "no"


def test_a_star_inside_what_happened_stays_in_it_while_redis_is_down(ext, phone, redis_server):
    phone.dial()
    phone.send("1", "1", "kak", "Lurambi")
    redis_server.stop()
    try:
        assert "Is someone in danger" in phone.send("He said * call me later")
        phone.send("3", "1", "2", "1")
    finally:
        redis_server.start()
    [tip] = tips(ext)
    assert (tip.place, tip.description, tip.children) == ("Lurambi", "He said * call me later", "yes")


def test_a_report_dropped_while_redis_is_down_is_offered_for_resume_while_it_is_still_down(
    ext, phone, redis_server
):
    phone.dial()
    redis_server.stop()
    try:
        phone.send("1", "2", "mom", "Bamburi * Mtopanga road")
        assert "What happened?" in phone.last  # the network drops the session here
        assert phone.dial().startswith("CON You did not finish last time.")
        assert "What happened?" in phone.send("1")
        phone.send("Girls kept * locked in", "3", "3", "2", "1")
    finally:
        redis_server.start()
    [tip] = tips(ext)
    assert (tip.place, tip.description) == ("Bamburi * Mtopanga road", "Girls kept * locked in")


def test_a_report_dropped_while_redis_was_down_is_offered_for_resume_after_it_restarts(
    make_app, ext, phone, redis_server
):
    phone.dial()
    redis_server.stop()  # Redis restarts empty: the draft is only in the database
    try:
        phone.send("1", "2", "mom")
    finally:
        redis_server.start()
    phone.client = make_app().test_client()  # a process whose breaker has not seen the outage
    assert phone.dial().startswith("CON You did not finish last time.")
    assert "Where exactly?" in phone.send("1")
    phone.send("Bamburi road", "99", "2", "2", "2", "1")
    [tip] = tips(ext)
    assert (tip.kind, tip.county_code, tip.place) == ("sexual_exploitation", 1, "Bamburi road")
    assert phone.dial().startswith("CON 1. Report")  # sent: nothing left to resume


def test_a_database_failure_ends_politely_and_loses_nothing(make_app, tmp_path, ext):
    broken = make_app(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db")
    phone = Phone(broken.test_client())
    phone.dial()
    end = phone.send("1", "5", "99", "Quarry", "99", "2", "1", "2", "1")
    assert end.startswith("END Sorry, something went wrong. Your answers are kept")
    phone.client = make_app().test_client()
    assert phone.dial().startswith("CON You did not finish last time.")
    assert "Send this report?" in phone.send("1")
    phone.send("1")
    [tip] = tips(ext)
    assert (tip.kind, tip.place, tip.children) == ("child_labour", "Quarry", "yes")


def test_free_text_outside_gsm7_is_shown_safely(phone):
    phone.dial()
    confirm = phone.send("1", "1", "99", "Café “Ñairobi” 😀 shop", "99", "2", "2", "2")
    screen = confirm[4:]
    assert "Caf" in screen and "😀" not in screen and "“" not in screen
    assert len(screen) <= 160


def test_a_new_session_with_text_already_typed_is_replayed(ext, client):
    # A lost state (or a shortcut dial like *384*1234*4#) arrives with inputs already in `text`.
    body = client.post("/ussd", data=ussd_form(text="4")).get_data(as_text=True)
    assert body.startswith("CON Free help lines:")
    body = client.post("/ussd", data=ussd_form(text="1*1*kak")).get_data(as_text=True)
    assert body.startswith("CON Where exactly?")


def test_malformed_requests_get_a_clear_4xx_with_end(client):
    cases = [
        ({"sessionId": ""}, "missing field sessionId"),
        ({"phoneNumber": ""}, "missing field phoneNumber"),
        ({"phoneNumber": "not-a-number"}, "phoneNumber is not a phone number"),
        ({"text": "1*" * 5000}, "text too long"),
        ({"sessionId": "x" * 500}, "sessionId too long"),
    ]
    for overrides, reason in cases:
        response = client.post("/ussd", data=ussd_form(**overrides))
        assert response.status_code == 400, overrides
        assert response.get_data(as_text=True) == f"END Bad request: {reason}."
    form = ussd_form()
    del form["phoneNumber"]
    assert client.post("/ussd", data=form).status_code == 400


def test_bytes_that_are_not_utf8_end_politely(ext, client):
    raw = b"sessionId=abc&phoneNumber=%2B254711000001&serviceCode=x&networkCode=63902&text="
    first = client.post("/ussd", data=raw, content_type="application/x-www-form-urlencoded")
    assert first.status_code == 200
    response = client.post(
        "/ussd", data=raw + b"1*1*99*\xff\xfe%FF", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("CON What happened?")  # the bad bytes became the place


def test_huge_body_is_refused_with_end(client):
    response = client.post("/ussd", data=ussd_form(text="9" * 100_000))
    assert response.status_code == 413
    assert response.get_data(as_text=True).startswith("END ")


def test_webhook_token(make_app):
    client = make_app(webhook_token="s3cret").test_client()
    assert client.post("/ussd", data=ussd_form()).status_code == 403
    assert client.post("/ussd?token=wrong", data=ussd_form()).get_data(as_text=True).startswith("END ")
    assert client.post("/ussd?token=wrong", data=ussd_form()).status_code == 403
    assert client.post("/ussd?token=s3cret", data=ussd_form()).status_code == 200
    assert client.post("/ussd/events", data={"sessionId": "a", "status": "Success"}).status_code == 403


def test_only_one_tip_per_session_even_if_submitted_twice(ext, client):
    phone = Phone(client)
    report_kakamega(phone, place="Shamba la chai")
    ext.redis.flushdb()  # the state is gone: AT's retry is replayed and submits again
    phone.post("*".join(phone.inputs))
    with ext.session_scope() as session:
        assert session.scalar(select(func.count(Tip.id))) == 1


def test_a_wrong_reference_asks_again_and_back_leaves_the_question(phone):
    phone.dial()
    phone.send("3")
    assert phone.send("123456789").startswith("CON Reference not found. Check it and try again.")
    assert phone.send("0").startswith("CON 1. Report trafficking")


def safety_contact(ext, number=TEST_PHONE) -> Contact | None:
    with ext.session_scope() as session:
        found = contacts.find(session, number)
        if found is not None:
            session.expunge(found)
        return found


def test_safety_tips_join_with_a_county_then_leave_in_english(ext, phone):
    phone.dial()
    offer = phone.send("5")
    assert offer.startswith("CON Get safety tips by SMS") and "1. Join" in offer and "0 Back" in offer
    assert "traffick" not in offer.lower()
    assert phone.send("1").startswith("CON Your county? Choose, or type its name:")
    end = phone.send("kak")
    assert end.startswith("END Done. You will get safety tips by SMS.")
    joined = safety_contact(ext)
    assert (joined.consent_source, joined.language, joined.county_code) == ("ussd", "en", KAKAMEGA)
    assert joined.engagement_key == engagement_key(TEST_PHONE, ext.config.phone_hash_key)

    phone.dial()
    state = phone.send("5")
    assert state.startswith("CON You get safety tips by SMS.\n1. Stop them")
    assert phone.send("1").startswith("END Done. No more safety tips by SMS.")
    left = safety_contact(ext)
    assert left.opt_out_source == "ussd" and not contacts.is_subscribed(left)
    assert phone.dial() and phone.send("5").startswith("CON Get safety tips by SMS")


def test_safety_tips_join_without_a_county_and_leave_in_kiswahili(ext, client):
    phone = Phone(client, number="+254722000005")
    phone.dial()
    phone.send("6", "2")
    assert phone.send("5").startswith("CON Pata vidokezo vya usalama kwa SMS")
    assert "99 Ruka" in phone.send("1")
    assert phone.send("99").startswith("END Tayari. Utapokea vidokezo vya usalama kwa SMS.")
    joined = safety_contact(ext, "+254722000005")
    assert (joined.consent_source, joined.language, joined.county_code) == ("ussd", "sw", None)
    phone.dial()
    assert phone.send("5").startswith("CON Unapokea vidokezo vya usalama kwa SMS.\n1. Acha")
    assert phone.send("1").startswith("END Tayari. Hutapokea tena vidokezo")
    assert safety_contact(ext, "+254722000005").opt_out_source == "ussd"


def test_rejoining_by_ussd_after_stop_records_new_consent_and_keeps_the_county(ext, phone):
    with ext.session_scope() as session:
        hash_key = ext.config.phone_hash_key
        contacts.subscribe(
            session, TEST_PHONE, source="Demo forum", language="en", phone_hash_key=hash_key, county_code=1
        )
        contacts.opt_out(session, TEST_PHONE, source="sms", phone_hash_key=hash_key)
    phone.dial()
    assert phone.send("5", "1", "99").startswith("END Done.")
    back = safety_contact(ext)
    assert contacts.is_subscribed(back) and (back.consent_source, back.county_code) == ("ussd", 1)


def test_back_from_the_safety_tips_screens(phone):
    phone.dial()
    phone.send("5", "1")
    assert phone.send("0").startswith("CON Get safety tips by SMS")
    assert phone.send("0").startswith("CON 1. Report")


def test_states_kept_in_the_database_are_purged_after_the_resume_window(app, ext, phone, redis_server):
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False) as clock:
        phone.dial()
        redis_server.stop()
        try:
            phone.send("1", "2", "mom")
        finally:
            redis_server.start()
        with ext.session_scope() as session:
            [row] = session.scalars(select(UssdStateBackup)).all()
        assert row.reporter_key == reporter_key(TEST_PHONE, ext.config.phone_hash_key)
        assert "711000001" not in row.record  # no phone number, in any form
        with app.app_context():
            clock.shift(14 * 60)
            assert sweep_ussd_state_backups() == 0
            clock.shift(2 * 60)
            assert sweep_ussd_state_backups() == 1
