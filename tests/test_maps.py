"""The county map: hotline.core.maps (shapes, projection, shading) and the `county_map` macro's two modes,
read back as SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template_string

from hotline.core import counties, maps

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"[Mlz]|-?\d+(?:\.\d+)?")
MACRO = '{% from "console/map.html" import county_map %}'


def rings(d: str) -> list[list[tuple[float, float]]]:
    """The absolute points of each subpath of path data made of `M x y l dx dy … z` only."""
    tokens = NUMBER.findall(d)
    assert "".join(tokens).replace("-", "").replace(".", "").isalnum()  # nothing else in the path
    found, n = [], 0
    while n < len(tokens):
        assert tokens[n] == "M", d[:40]
        x, y = float(tokens[n + 1]), float(tokens[n + 2])
        assert tokens[n + 3] == "l"
        ring, n = [(x, y)], n + 4
        while tokens[n] != "z":
            x, y = x + float(tokens[n]), y + float(tokens[n + 1])
            ring.append((x, y))
            n += 2
        found.append(ring)
        n += 1
    return found


def test_the_47_counties_have_paths_inside_the_viewbox_and_a_label_point_inside_their_shape():
    outline = maps.outline()
    assert [c.code for c in outline.counties] == list(range(1, 48))
    assert {c.code: c.name for c in outline.counties} == {c.code: c.name for c in counties.all_counties()}
    assert outline.view_box == f"0 0 {outline.width} {outline.height}"
    assert 1.0 < outline.height / outline.width < 1.35  # Kenya is a little taller than wide
    for county in outline.counties:
        shape = rings(county.d)
        assert shape and all(len(ring) >= 3 for ring in shape), county.name
        for x, y in (p for ring in shape for p in ring):
            assert 0 <= x <= outline.width and 0 <= y <= outline.height, county.name
        assert maps._inside(county.label, shape), county.name


def test_the_counties_sit_where_they_are_on_a_map():
    where = {c.name: c.label for c in maps.outline().counties}
    assert where["Turkana"][1] < where["Nairobi City"][1] < where["Mombasa"][1]  # north to south
    assert where["Kakamega"][0] < where["Nairobi City"][0] < where["Garissa"][0] < where["Mandera"][0]


def test_the_paths_of_all_47_weigh_well_under_30_kb():
    assert sum(len(c.d) for c in maps.outline().counties) < 15_000


def test_multipolygons_and_holes_become_one_subpath_per_ring():
    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    island = [[20, 0], [22, 0], [21, 2], [20, 0]]
    geometry = {"type": "MultiPolygon", "coordinates": [[square, hole], [island]]}
    polygons = [[[tuple(p) for p in ring] for ring in polygon] for polygon in maps._polygons(geometry)]
    d = maps.path_data(polygons)
    assert d == "M0 0l10 0 0 10-10 0zM4 4l2 0 0 2-2 0zM20 0l2 0-1 2z"
    assert not maps._inside((5, 5), polygons[0])  # in the hole
    assert maps._inside(maps.label_point(polygons), polygons[0])  # the square's centroid is in its hole
    with pytest.raises(ValueError, match="LineString"):
        maps._polygons({"type": "LineString", "coordinates": []})


def test_a_rounded_ring_without_area_is_left_out_and_repeated_points_are_dropped():
    assert maps.path_data([[[(0, 0), (1, 0), (0, 0)]]]) == ""
    assert maps.path_data([[[(0, 0), (3, 0), (3, 0), (3, 4), (0, 0)]]]) == "M0 0l3 0 0 4z"


def test_a_crescent_gets_its_label_inside_not_at_its_centroid():
    crescent = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 8), (8, 8), (8, 2), (0, 2)]
    assert not maps._inside(maps._centroid(crescent), [crescent])
    assert maps._inside(maps.label_point([[crescent]]), [crescent])


def test_shading_splits_the_positive_values_at_their_quantiles_and_keeps_none_apart():
    shading = maps.shading({47: 1200, 1: 300, 37: 55, 3: 12, 5: 7, 22: 0, 4: None})
    assert [shading.shade[c] for c in (5, 3, 37, 1, 47)] == [1, 2, 3, 4, 5]
    assert shading.shade[22] == shading.shade[4] == shading.shade[2] == 0
    assert shading.text[47] == "1,200" and shading.text[22] == "0" and shading.text[2] == "no data"
    assert shading.legend == ((0, "0 or no data"), (1, "7"), (2, "12"), (3, "55"), (4, "300"), (5, "1,200"))


def test_shading_of_many_values_gives_five_classes_of_rates():
    shading = maps.shading({code: code / 1000 for code in range(1, 48)}, fmt="{:.1%}")
    assert [level for level, _ in shading.legend] == [1, 2, 3, 4, 5]
    assert shading.legend[0] == (1, "0.1%–1.0%") and shading.legend[-1] == (5, "3.9%–4.7%")
    assert shading.shade[1] == 1 and shading.shade[47] == 5
    assert maps.shading({}).legend == ((0, "no data"),)
    assert maps.shading({c: 3 for c in range(1, 48)}).legend == ((3, "3"),)
    assert maps.shading({1: 5, 2: 9}).legend == ((0, "no data"), (1, "5"), (5, "9"))


def render(app, call: str) -> str:
    with app.test_request_context():
        return render_template_string(MACRO + "{{ " + call + " }}")


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(html[html.index("<svg"):html.index("</svg>") + 6])


def test_the_selectable_map_has_a_focusable_checkbox_path_per_county(app):
    html = render(app, "county_map(selected=[37, '47'], label='Counties to send to')")
    svg = svg_of(html)
    assert svg.get("data-county-map") == "counties" and svg.get("aria-label") == "Counties to send to"
    assert svg.get("viewBox") == maps.outline().view_box
    paths = svg.findall(f"{SVG}path")
    assert [int(p.get("data-county")) for p in paths] == list(range(1, 48))
    assert all(p.get("tabindex") == "0" and p.get("role") == "checkbox" for p in paths)
    assert {p.get("data-county") for p in paths if p.get("class") == "selected"} == {"37", "47"}
    assert {p.get("data-county") for p in paths if p.get("aria-checked") == "true"} == {"37", "47"}
    assert paths[36].find(f"{SVG}title").text == "Kakamega"
    assert "style=" not in html
    assert "Boundaries © OpenStreetMap contributors (ODbL)" in html
    assert len(html.encode()) < 20_000


def test_the_shaded_map_has_classes_titles_links_a_legend_and_the_attribution(app):
    html = render(app, "county_map(values={47: 1200, 37: 55, 1: 0}, unit='reached',"
                       " links={47: '/console/?county=47'}, label='Reach by county')")
    svg = svg_of(html)
    link = svg.find(f"{SVG}a")
    assert link.get("href") == "/console/?county=47"
    assert link.find(f"{SVG}title").text == "Nairobi City: 1,200 reached"
    assert link.find(f"{SVG}path").get("class") == "shade-5"
    paths = {p.get("data-county"): p for p in svg.iter(f"{SVG}path")}
    assert len(paths) == 47
    assert paths["37"].get("class") == "shade-1" and paths["37"].get("role") == "img"  # 2 classes: the ends
    assert paths["37"].find(f"{SVG}title").text == "Kakamega: 55 reached"
    assert paths["1"].find(f"{SVG}title").text == "Mombasa: 0 reached"
    assert paths["2"].find(f"{SVG}title").text == "Kwale: no data"
    assert paths["2"].get("class") == "shade-0" and "tabindex" not in paths["2"].attrib
    legend = re.findall(r'<li><span class="swatch (shade-\d)"></span>([^<]+)</li>', html)
    assert legend == [("shade-0", "0 or no data"), ("shade-1", "55"), ("shade-5", "1,200")]
    assert "Boundaries © OpenStreetMap contributors (ODbL)" in html
    assert "style=" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert len(html.encode()) < 30_000
