"""The report's inline SVG charts: they parse, escape every label, carry no style attribute, and put
the zero line, points and intervals where the numbers say."""

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from campaigns import charts
from campaigns.effect import difference, unmeasured

RISE = difference(600, 10_000, 100, 2_500)  # 6% against 4%: a rise
NONE = difference(400, 10_000, 100, 2_500)  # 4% against 4%: no measurable effect
FALL = difference(300, 10_000, 100, 2_500)  # 3% against 4%: a fall
FEW = difference(17, 18, 0, 1)  # the one held-out person


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def no_style_anywhere(root: ET.Element) -> bool:
    return all("style" not in element.attrib for element in root.iter()) and root.find(".//style") is None


def test_forest_plot_parses_with_a_title_and_no_inline_style():
    root = parse(charts.forest_plot([("any of these", RISE)], title="Effect of june"))
    assert root.tag == "svg" and root.get("role") == "img"
    assert root.find("title").text == "Effect of june"
    assert no_style_anywhere(root)


def test_labels_are_escaped():
    svg = charts.forest_plot([("<script>alert(1)</script>", RISE), ('"quoted" & <b>', FEW)], title="<i>t</i>")
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    root = parse(svg)
    labels = [t.text for t in root.iter("text") if t.get("class") == "label"]
    assert labels == ["<script>alert(1)</script>", '"quoted" & <b>']
    assert root.find("title").text == "<i>t</i>"


def test_zero_line_points_and_intervals_where_the_numbers_say():
    rows = [("rise", RISE), ("none", NONE), ("fall", FALL)]
    root = parse(charts.forest_plot(rows))
    span = float(root.get("data-span"))
    zero = root.find(".//line[@class='zero']")
    zero_x = float(zero.get("x1"))
    assert zero_x == float(zero.get("x2")) == charts.LABEL_W + charts.HALF_W
    groups = root.findall(".//g")
    assert [g.get("class") for g in groups] == ["effect rise", "effect none", "effect fall"]
    ys = []
    for g, (_, effect) in zip(groups, rows, strict=True):
        point = g.find("circle")
        ci = g.find("line[@class='ci']")
        expected = {
            "cx": zero_x + charts.HALF_W * effect.difference / span,
            "x1": zero_x + charts.HALF_W * effect.ci_low / span,
            "x2": zero_x + charts.HALF_W * effect.ci_high / span,
        }
        assert float(point.get("cx")) == pytest.approx(expected["cx"], abs=0.06)
        assert float(ci.get("x1")) == pytest.approx(expected["x1"], abs=0.06)
        assert float(ci.get("x2")) == pytest.approx(expected["x2"], abs=0.06)
        ys.append(float(point.get("cy")))
    assert ys == sorted(ys) and len(set(ys)) == 3  # one row each, top to bottom
    # The rise sits right of zero with its whole interval, the fall left, no effect straddles it.
    rise, none, fall = (float(g.find("circle").get("cx")) for g in groups)
    assert fall < zero_x < rise
    none_ci = groups[1].find("line[@class='ci']")
    assert float(none_ci.get("x1")) < zero_x < float(none_ci.get("x2"))
    # The axis reaches the widest interval end, rounded up to 1, 2 or 5 × 10^k.
    widest = max(max(abs(e.ci_low), abs(e.ci_high)) for _, e in rows)
    assert widest <= span and span in (0.02, 0.05, 0.1)


def test_too_few_and_unmeasured_rows_are_text_only():
    rows = [("few", FEW), ("not started", unmeasured(10, 2, "not started")), ("rise", RISE)]
    root = parse(charts.forest_plot(rows))
    assert len(root.findall(".//circle")) == 1  # only the rise is drawn
    texts = [t.text for t in root.iter("text") if t.get("class") == "too-few"]
    assert texts == ["too few held out to say", "not started"]


def test_a_plot_with_nothing_drawable_still_parses():
    root = parse(charts.forest_plot([("few", FEW)]))
    assert root.find(".//circle") is None and root.find(".//line[@class='zero']") is not None
    assert parse(charts.forest_plot([])).find("title") is not None


def test_bars_scale_to_the_largest_value_and_escape():
    svg = charts.bars(
        "Funnel <x>", [("sent", 100, "treated"), ("<delivered>", 50, "delivered"), ("none", 0, "?")]
    )
    root = parse(svg)
    assert no_style_anywhere(root) and root.find("title").text == "Funnel <x>"
    widths = [int(r.get("width")) for r in root.iter("rect")]
    assert widths == [300, 150, 0]
    assert [r.get("class") for r in root.iter("rect")] == ["bar treated", "bar delivered", "bar other"]
    assert "<delivered>" not in svg
