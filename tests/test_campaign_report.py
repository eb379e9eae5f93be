"""The campaign reach-and-effect report: every figure of a small campaign built row by row, the
effect window, a campaign never started, the three renderings and the CLI."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from campaigns import render, report
from campaigns.report_cli import report_command
from hotline.core import engagement
from hotline.core.models import Campaign, CampaignRecipient, Contact

START = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 08:00 in Nairobi
NOW = datetime(2026, 6, 20, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> datetime:
    return START + timedelta(days=days, hours=hours)


def contact(session, n: int, county_code=None, **extra) -> Contact:
    row = Contact(
        phone=f"+2547000000{n:02d}",
        engagement_key=f"key-{n}",
        county_code=county_code,
        language="en",
        consent_source="test",
        consented_at=at(-30),
        salt=n,
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def recipient(session, campaign, who, variant=None, **extra) -> CampaignRecipient:
    held_out = variant is None
    row = CampaignRecipient(
        campaign_id=campaign.id,
        contact_id=who.id,
        held_out=held_out,
        variant=variant,
        language="en",
        county_code=who.county_code,
        state=extra.pop("state", "held_out" if held_out else "queued"),
        **extra,
    )
    session.add(row)
    return row


def sent(status, network="63902", hours=0.5, **extra) -> dict:
    return dict(
        state="sent",
        at_status_code=101,
        cost=Decimal("0.8"),
        sent_at=at(hours=hours),
        delivery_status=status,
        network_code=network,
        **extra,
    )


@pytest.fixture
def campaign_id(ext):
    """Ten contacts: eight treated (variants A and B, every state), two held out, and their signals."""
    with ext.session_scope() as session:
        campaign = Campaign(
            name="june",
            state="done",
            seed=1,
            holdout_share=0.2,
            started_at=START,
            finished_at=at(1),
            attribution_days=14,
        )
        other = Campaign(name="other", state="done", seed=2, started_at=START)
        session.add_all([campaign, other])
        session.flush()
        c = {
            n: contact(session, n, county)
            for n, county in [
                (1, 47),
                (2, 47),
                (3, 1),
                (4, None),
                (5, 1),
                (6, 1),
                (7, 1),
                (8, None),
                (9, 47),
                (10, 1),
            ]
        }
        c[5].opted_out_at, c[5].opt_out_source = at(2), "sms"
        c[10].opted_out_at, c[10].opt_out_source = at(3), "sms"
        recipient(session, campaign, c[1], "A", **sent("Success"))
        # 22:30 UTC is 01:30 the next day in Nairobi
        recipient(
            session,
            campaign,
            c[2],
            "A",
            **sent("Failed", "63903", hours=17.5, failure_reason="DeliveryFailure"),
        )
        recipient(session, campaign, c[3], "A", state="failed", at_status_code=405)
        recipient(session, campaign, c[4], "A")
        recipient(session, campaign, c[5], "B", **sent("Success", hours=1))
        recipient(session, campaign, c[6], "B", **sent("Buffered", hours=2))
        recipient(session, campaign, c[7], "B", state="suppressed")
        recipient(session, campaign, c[8], "B", state="cancelled")
        recipient(session, campaign, c[9])
        recipient(session, campaign, c[10])
        recipient(session, other, c[9], "A", **sent("Success"))  # another campaign: ignored
        # Engagement by engagement key and moment (stored by Nairobi day). A STOP (key-5, day 2) is an
        # opt-out, not engagement: it is never recorded as one.
        for key, moment, signal in [
            ("key-1", at(hours=5), "dialled"),
            ("key-1", at(2), "dialled"),
            ("key-2", at(-1), "dialled"),  # before the start
            ("key-9", at(4), "dialled"),
            ("stranger", at(4), "dialled"),  # not a contact
            ("key-1", at(1), "tip"),
            ("key-7", at(15), "tip"),  # after the window
            ("key-3", at(hours=7), "agency_check"),
            ("key-4", at(2), "sms"),
        ]:
            engagement.record(session, key, signal, moment)
        return campaign.id


def build(ext, campaign_id, **kwargs):
    with ext.session_scope() as session:
        return report.build(session, campaign_id, now=NOW, **kwargs)


def test_delivery_figures(ext, campaign_id):
    r = build(ext, campaign_id)
    t = r.totals
    assert (t.audience, t.held_out, t.treated) == (10, 2, 8)
    assert (t.sent, t.delivered, t.failed, t.awaiting_report) == (4, 2, 2, 1)
    assert (t.not_sent_yet, t.suppressed, t.cancelled) == (1, 1, 1)
    assert t.cost == Decimal("3.2") and r.reach == 2
    assert r.failed_by_reason == {"405 InsufficientBalance": 1, "DeliveryFailure": 1}
    assert r.failed_by_network == {"Airtel Kenya": 1, "unknown": 1}
    assert (r.name, r.state, r.status, r.started_at) == ("june", "done", "final", START)


def test_breakdowns(ext, campaign_id):
    r = build(ext, campaign_id)
    held_out = report.HELD_OUT_ROW
    county = {s.key: s.funnel for s in r.by_county}
    assert list(county) == ["Mombasa", "Nairobi City", "unknown", held_out]
    assert (county["Mombasa"].audience, county["Mombasa"].held_out, county["Mombasa"].sent) == (4, 0, 2)
    assert (county["Nairobi City"].delivered, county["Nairobi City"].failed) == (1, 1)
    assert (county["unknown"].not_sent_yet, county["unknown"].cancelled) == (1, 1)
    assert (county[held_out].audience, county[held_out].held_out, county[held_out].treated) == (2, 2, 0)
    variant = {s.key: s.funnel for s in r.by_variant}
    assert list(variant) == ["A", "B", held_out]
    assert (variant["A"].treated, variant["A"].sent, variant["A"].delivered, variant["A"].failed) == (
        4,
        2,
        1,
        2,
    )
    assert (variant["B"].awaiting_report, variant["B"].suppressed, variant["B"].cancelled) == (1, 1, 1)
    assert variant["A"].held_out == 0 and variant[held_out].held_out == 2
    day = {s.key: s.funnel for s in r.by_day}
    assert list(day) == ["2026-06-01", "2026-06-02", "not sent", held_out]  # Nairobi dates, not UTC ones
    assert (day["2026-06-01"].sent, day["2026-06-01"].delivered, day["2026-06-01"].awaiting_report) == (
        3,
        2,
        1,
    )
    assert (day["2026-06-02"].sent, day["2026-06-02"].failed) == (1, 1)
    assert (day["not sent"].treated, day["not sent"].failed, day["not sent"].suppressed) == (4, 1, 1)
    network = {s.key: s.funnel for s in r.by_network}
    assert list(network) == ["Safaricom", "Airtel Kenya", "unknown", held_out]
    assert (network["Safaricom"].sent, network["Airtel Kenya"].failed) == (3, 1)
    assert [s.is_holdout for s in r.by_network] == [False, False, False, True]


def test_every_breakdown_adds_up_to_the_totals(ext, campaign_id):
    """The issue's 17/0 against 18/1: every table's rows sum to the totals, field by field."""
    with ext.session_scope() as session:
        draft = Campaign(name="draft", seed=3)  # never started: nobody sent, no send day
        session.add(draft)
        session.flush()
        recipient(session, draft, contact(session, 11, 47), "A")
        recipient(session, draft, contact(session, 12, None))
        draft_id = draft.id
    for built in (build(ext, campaign_id), build(ext, campaign_id, window_days=1), build(ext, draft_id)):
        for name in ("by_county", "by_network", "by_variant", "by_day"):
            slices = getattr(built, name)
            assert sum(s.is_holdout for s in slices) == 1, name
            for field in render.FUNNEL:
                total = getattr(built.totals, field)
                assert sum(getattr(s.funnel, field) for s in slices) == total, (built.name, name, field)
        t = built.totals
        assert t.audience == t.held_out + t.treated
        assert t.treated == sum(
            getattr(t, f)
            for f in ("delivered", "failed", "awaiting_report", "not_sent_yet", "suppressed", "cancelled")
            + ("uncertain", "skipped")
        )
        assert sum(built.failed_by_reason.values()) == sum(built.failed_by_network.values()) == t.failed
    text = render.table(build(ext, campaign_id))
    totals_rows = re.findall(r"^total +10 +2 +8 +4 +2 +2 +3\.20$", text, re.MULTILINE)
    assert len(totals_rows) == 4  # one per breakdown, equal to the totals


def test_effect_counts_signals_in_the_window_only(ext, campaign_id):
    r = build(ext, campaign_id)
    counts = {s: (e.treated_x, e.treated_n, e.held_out_x, e.held_out_n) for s, e in r.effects.items()}
    assert counts == {
        "dialled": (1, 8, 1, 2),  # key-1 (twice: one contact), key-9; key-2 dialled before the start
        "tip": (1, 8, 0, 2),  # key-7's tip came after the window
        "agency_check": (1, 8, 0, 2),
        "sms": (1, 8, 0, 2),  # key-5's STOP is an opt-out, not engagement
        "any": (3, 8, 1, 2),
    }
    assert r.effects["any"].difference == pytest.approx(3 / 8 - 1 / 2)
    assert r.effects["any"].measurable and not r.effects["any"].significant
    assert r.effects["any"].too_few and r.effects["any"].verdict == "too few held out to say"
    assert (r.opt_outs.treated_x, r.opt_outs.held_out_x) == (1, 1)
    by_variant = {v: (e["any"].treated_x, e["any"].treated_n) for v, e in r.effects_by_variant.items()}
    assert by_variant == {"A": (3, 4), "B": (0, 4)}
    assert r.effects_by_variant["B"]["any"].held_out_x == 1


def test_window_days_narrows_the_window(ext, campaign_id):
    r = build(ext, campaign_id, window_days=1)
    assert r.window.days == 1 and r.window.end == at(1)
    assert r.window.first_day == r.window.last_day == START.date()
    assert (r.effects["any"].treated_x, r.effects["any"].held_out_x) == (2, 0)  # key-1's dial, key-3's check
    assert (r.opt_outs.treated_x, r.opt_outs.held_out_x) == (0, 0)


def test_open_window(ext, campaign_id):
    with ext.session_scope() as session:
        r = report.build(session, campaign_id, now=at(3))
    assert r.status == "window open" and r.window.open


def test_campaign_never_started(ext):
    with ext.session_scope() as session:
        draft = Campaign(name="draft", seed=3)
        session.add(draft)
        session.flush()
        recipient(session, draft, contact(session, 1, 47), "A")
        recipient(session, draft, contact(session, 2, 47))
        draft_id = draft.id
    r = build(ext, draft_id)
    assert r.status == "not started" and r.started_at is None and r.window.end is None
    assert (r.totals.sent, r.totals.delivered, r.reach, r.totals.cost) == (0, 0, 0, 0)
    assert (r.totals.treated, r.totals.held_out, r.totals.not_sent_yet) == (1, 1, 1)
    assert not any(e.measurable for e in r.effects.values()) and not r.opt_outs.measurable
    assert [s.key for s in r.by_day] == ["not sent", report.HELD_OUT_ROW]
    assert "not started" in render.table(r) and "<svg" in render.html(r)
    rows = list(csv.reader(io.StringIO(render.csv_text(r))))
    assert ["summary", "", "measurement", "not started"] in rows and ["totals", "", "sent", "0"] in rows


def test_unknown_campaign(ext):
    with ext.session_scope() as session, pytest.raises(LookupError):
        report.build(session, 999)


def test_table(ext, campaign_id):
    text = render.table(build(ext, campaign_id))
    assert "june" in text and "unique reach: 2" in text
    assert "Mombasa" in text and "2026-06-02" in text and "405 InsufficientBalance" in text
    assert "dialled the hotline" in text and "variant A" in text
    assert "held out (no message)" in text and "too few held out to say" in text
    assert "2026-06-01 to 2026-06-14 (whole days, Nairobi): closed, figures final" in text
    # any engagement: 3/8 against 1/2, and variant A's 3/4 against 1/2
    assert "-12.5 [-59.5, 39.1] points" in text and "+25.0 [-35.5, 70.4] points" in text


def test_the_csv_has_one_tidy_row_per_figure_with_its_exact_value(ext, campaign_id):
    [header, *rows] = csv.reader(io.StringIO(render.csv_text(build(ext, campaign_id))))
    assert header == ["section", "key", "metric", "value"]
    assert rows[:26] == [
        ["summary", "", "campaign", f"june (id {campaign_id})"],
        ["summary", "", "state", "done"],
        ["summary", "", "measurement", "final"],
        ["summary", "", "started", "2026-06-01 08:00 EAT"],
        ["summary", "", "finished", "2026-06-02 08:00 EAT"],
        [
            "summary",
            "",
            "attribution window",
            "14 days, 2026-06-01 to 2026-06-14 (whole days, Nairobi): closed, figures final",
        ],
        ["summary", "", "holdout share", "20%"],
        ["summary", "", "generated", "2026-06-20 03:00 EAT"],
        *[["totals", "", metric, value] for metric, value in [
            ("audience", "10"), ("held_out", "2"), ("treated", "8"), ("sent", "4"), ("delivered", "2"),
            ("failed", "2"), ("awaiting_report", "1"), ("not_sent_yet", "1"), ("suppressed", "1"),
            ("cancelled", "1"), ("uncertain", "0"), ("skipped", "0"), ("cost", "3.2000"), ("reach", "2"),
        ]],
        ["failed_by_reason", "405 InsufficientBalance", "failed", "1"],
        ["failed_by_reason", "DeliveryFailure", "failed", "1"],
        ["failed_by_network", "Airtel Kenya", "failed", "1"],
        ["failed_by_network", "unknown", "failed", "1"],
    ]
    funnels: dict[tuple[str, str], dict[str, str]] = {}
    effects: dict[tuple[str, str], dict[str, str]] = {}
    assert rows[-1] == ["window", "", "closed", "True"]
    for section, key, metric, value in rows[26:-1]:
        table = effects if section.startswith("effect") else funnels
        table.setdefault((section, key), {})[metric] = value
    assert len(rows) == 26 + 13 * len(funnels) + 14 * len(effects) + 1
    assert all(list(metrics) == render.FUNNEL for metrics in funnels.values())
    # audience, held out, treated, sent, delivered, failed, awaiting report, not sent yet, suppressed,
    # cancelled, uncertain, skipped, cost: per slice, in this order
    assert {slice_: ", ".join(metrics.values()) for slice_, metrics in funnels.items()} == {
        ("network", "Safaricom"): "3, 0, 3, 3, 2, 0, 1, 0, 0, 0, 0, 0, 2.4000",
        ("network", "Airtel Kenya"): "1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0.8000",
        ("network", "unknown"): "4, 0, 4, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0",
        ("network", "held out (no message)"): "2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0",
        ("county", "Mombasa"): "4, 0, 4, 2, 1, 1, 1, 0, 1, 0, 0, 0, 1.6000",
        ("county", "Nairobi City"): "2, 0, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1.6000",
        ("county", "unknown"): "2, 0, 2, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0",
        ("county", "held out (no message)"): "2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0",
        ("variant", "A"): "4, 0, 4, 2, 1, 2, 0, 1, 0, 0, 0, 0, 1.6000",
        ("variant", "B"): "4, 0, 4, 2, 1, 0, 1, 0, 1, 1, 0, 0, 1.6000",
        ("variant", "held out (no message)"): "2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0",
        ("day", "2026-06-01"): "3, 0, 3, 3, 2, 0, 1, 0, 0, 0, 0, 0, 2.4000",
        ("day", "2026-06-02"): "1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0.8000",
        ("day", "not sent"): "4, 0, 4, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0",
        ("day", "held out (no message)"): "2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0",
    }
    assert all(list(metrics) == render.EFFECT_FIELDS for metrics in effects.values())
    counts = {k: tuple(int(e[m]) for m in ("treated_x", "treated_n", "held_out_x", "held_out_n"))
              for k, e in effects.items()}
    assert counts == {
        ("effect", "dialled"): (1, 8, 1, 2),
        ("effect", "tip"): (1, 8, 0, 2),
        ("effect", "agency_check"): (1, 8, 0, 2),
        ("effect", "sms"): (1, 8, 0, 2),
        ("effect", "any"): (3, 8, 1, 2),
        ("effect", "opted_out"): (1, 8, 1, 2),
        ("effect_variant_A", "dialled"): (1, 4, 1, 2),
        ("effect_variant_A", "tip"): (1, 4, 0, 2),
        ("effect_variant_A", "agency_check"): (1, 4, 0, 2),
        ("effect_variant_A", "sms"): (1, 4, 0, 2),
        ("effect_variant_A", "any"): (3, 4, 1, 2),
        ("effect_variant_B", "dialled"): (0, 4, 1, 2),
        ("effect_variant_B", "tip"): (0, 4, 0, 2),
        ("effect_variant_B", "agency_check"): (0, 4, 0, 2),
        ("effect_variant_B", "sms"): (0, 4, 0, 2),
        ("effect_variant_B", "any"): (0, 4, 1, 2),
    }
    any_signal = effects[("effect", "any")]
    rate_names = ("treated_rate", "held_out_rate", "difference", "ci_low", "ci_high")
    rates = [float(any_signal[m]) for m in rate_names]
    # Newcombe's hybrid score interval, as statsmodels' confint_proportions_2indep(3, 8, 1, 2, "newcomb")
    assert rates == pytest.approx([0.375, 0.5, -0.125, -0.5952372670452748, 0.3910720509070428])
    flags = [any_signal[m] for m in ("significant", "measurable", "too_few", "note", "verdict")]
    assert flags == ["False", "True", "True", "", "too few held out to say"]


def test_html_is_self_contained_and_escaped(ext, campaign_id):
    with ext.session_scope() as session:
        session.get(Campaign, campaign_id).name = "<b>june</b>"
    page = render.html(build(ext, campaign_id))
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 4
    assert "&lt;b&gt;june&lt;/b&gt;" in page and "<b>june</b>" not in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert 'name="viewport"' in page


def test_cli_formats(app, ext, campaign_id, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    result = runner.invoke(report_command, ["june"])
    assert result.exit_code == 0, result.output
    assert "unique reach: 2" in result.output
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(report_command, [str(campaign_id), "--format", "csv", "--window-days", "1"])
    assert result.exit_code == 0 and result.output == render.csv_text(build(ext, campaign_id, window_days=1))
    # HTML goes to the instance folder's reports/ (made if missing), wherever the command is run from.
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(report_command, ["june", "--format", "html"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "instance" / "reports" / "campaign-june-report.html"
    assert result.output == f"wrote the html report to {page}\n"
    assert "<svg" in page.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == [tmp_path / "instance"]
    out = tmp_path / "r.csv"
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(report_command, ["june", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0 and result.output == f"wrote the csv report to {out}\n"
    assert out.read_text(encoding="utf-8") == render.csv_text(build(ext, campaign_id))
    result = runner.invoke(report_command, ["june", "--format", "html", "--output", "r.html"])
    assert result.exit_code == 0 and result.output == f"wrote the html report to {tmp_path / 'r.html'}\n"
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cli_output_that_cannot_be_written_is_a_clear_error(app, campaign_id, tmp_path):
    out = tmp_path / "no-such-folder" / "r.html"
    result = app.test_cli_runner().invoke(report_command, ["june", "--format", "html", "--output", str(out)])
    assert result.exit_code == 1
    assert f"Error: cannot write {out}: No such file or directory" in result.output
    assert "Traceback" not in result.output


def test_cli_unknown_campaign(app, campaign_id):
    result = app.test_cli_runner().invoke(report_command, ["nope"])
    assert result.exit_code != 0 and "no campaign named 'nope'" in result.output


def test_signals_count_by_whole_nairobi_days_of_the_window(ext, campaign_id):
    with ext.session_scope() as session:
        engagement.record(session, "key-4", "dialled", at(hours=-4))  # 04:00 on the first day: counts
        engagement.record(session, "key-6", "dialled", at(14, hours=-2))  # 06:00 on day 15: after the window
    r = build(ext, campaign_id)
    assert (r.window.first_day.isoformat(), r.window.last_day.isoformat()) == ("2026-06-01", "2026-06-14")
    assert r.effects["dialled"].treated_x == 2  # key-1 and key-4
    assert "2026-06-01 to 2026-06-14" in render.table(r)
