"""Kenya's 47 counties as SVG shapes for the console's maps (`county_map` in
`templates/console/map.html`): the boundaries shipped in `data/kenya_counties.geojson` (OpenStreetMap,
see `data/README.md`), read once and projected to a small viewBox, and the shading of a value per county.

The projection is equirectangular with the longitudes shrunk by the cosine of the country's middle
latitude (Kenya straddles the equator: the correction is small, the shapes stay true enough for a
choropleth). Coordinates are rounded to whole viewBox units (about 1.1 km, the data's own simplification)
and written as relative moves, so the 47 paths weigh about 11 kB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "kenya_counties.geojson"
ATTRIBUTION = "Boundaries © OpenStreetMap contributors (ODbL)"
WIDTH = 800  # viewBox units across the country; the height follows its shape
MARGIN = 2  # units of room around the country, so the outer strokes are not cut off
SHADES = 5  # classes of the sequential scale (console.css: .shade-1 … .shade-5; .shade-0 is none)

Point = tuple[float, float]
Ring = list[Point]


@dataclass(frozen=True)
class CountyShape:
    """One county on the map: constitutional code, name, SVG path data and where a label would go."""

    code: int
    name: str
    d: str
    label: Point


@dataclass(frozen=True)
class Outline:
    """The 47 counties in one viewBox of `width` × `height` units."""

    width: int
    height: int
    counties: tuple[CountyShape, ...]

    @property
    def view_box(self) -> str:
        """The SVG `viewBox` attribute."""
        return f"0 0 {self.width} {self.height}"


@dataclass(frozen=True)
class Shading:
    """Values per county as classes of a sequential scale: `shade[code]` is 0 (none or nothing) to
    SHADES, `text[code]` the value as shown, `legend` each class used with the range it covers."""

    shade: dict[int, int]
    text: dict[int, str]
    legend: tuple[tuple[int, str], ...]


@cache
def outline() -> Outline:
    """The counties, projected and rounded (read from the file once per process)."""
    features = json.loads(DATA.read_text(encoding="utf-8"))["features"]
    shapes = {int(f["properties"]["code"]): (f["properties"]["name"], _polygons(f["geometry"]))
              for f in features}
    points = [p for _name, polygons in shapes.values()
              for polygon in polygons for ring in polygon for p in ring]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    shrink = math.cos(math.radians((north + south) / 2))
    scale = (WIDTH - 2 * MARGIN) / ((east - west) * shrink)
    height = math.ceil((north - south) * scale) + 2 * MARGIN

    def project(point: Point) -> tuple[int, int]:
        lon, lat = point
        return round(MARGIN + (lon - west) * shrink * scale), round(MARGIN + (north - lat) * scale)

    counties = []
    for code, (name, polygons) in sorted(shapes.items()):
        projected = [[[project(p) for p in ring] for ring in polygon] for polygon in polygons]
        counties.append(CountyShape(code, name, path_data(projected), label_point(projected)))
    return Outline(WIDTH, height, tuple(counties))


def _polygons(geometry: dict) -> list[list[Ring]]:
    """A Polygon's or MultiPolygon's polygons, each its outer ring then its holes."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"a county's geometry is a {geometry['type']}, not a (Multi)Polygon")


def path_data(polygons: list[list[list[tuple[int, int]]]]) -> str:
    """SVG path data for rounded polygons: each ring a subpath (an absolute move, then relative lines,
    closed), repeated points dropped. Holes are rings too: the map fills with `fill-rule: evenodd`."""
    parts = []
    for polygon in polygons:
        for ring in polygon:
            points = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]
            if len(points) > 1 and points[-1] == points[0]:
                points.pop()  # the closing point: `z` draws that side
            if len(points) < 3:
                continue  # a ring rounded away to a dot or a line
            (x, y), steps = points[0], []
            for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
                steps += (x1 - x0, y1 - y0)
            parts.append(f"M{x} {y}l{_numbers(steps)}z")
    return "".join(parts)


def _numbers(values: list[int]) -> str:
    """Numbers as SVG's shortest list: a minus sign separates as well as a space does."""
    out = []
    for n, value in enumerate(values):
        if n and value >= 0:
            out.append(" ")
        out.append(str(value))
    return "".join(out)


def label_point(polygons: list[list[list[tuple[int, int]]]]) -> Point:
    """A point inside the county's largest polygon: its centroid, or where the centroid's horizontal
    line crosses the polygon's widest stretch when the centroid falls outside (a crescent)."""
    polygon = max(polygons, key=lambda rings: abs(_area(rings[0])))
    cx, cy = _centroid(polygon[0])
    if _inside((cx, cy), polygon):
        return round(cx, 1), round(cy, 1)
    crossings = sorted(
        x0 + (cy - y0) * (x1 - x0) / (y1 - y0)
        for ring in polygon
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
        if (y0 <= cy) != (y1 <= cy)
    )
    spans = list(zip(crossings[::2], crossings[1::2], strict=False))
    left, right = max(spans, key=lambda span: span[1] - span[0])
    return round((left + right) / 2, 1), round(cy, 1)


def _area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def _centroid(ring) -> Point:
    area = _area(ring)
    if not area:
        return ring[0]
    pairs = list(zip(ring, ring[1:] + ring[:1], strict=True))
    cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairs) / (6 * area)
    cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairs) / (6 * area)
    return cx, cy


def _inside(point: Point, polygon) -> bool:
    """Even-odd rule over the outer ring and the holes."""
    x, y = point
    inside = False
    for ring in polygon:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 <= y) != (y1 <= y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                inside = not inside
    return inside


def shading(values: Mapping[int, float | None], fmt: str = "{:,}", shades: int = SHADES) -> Shading:
    """Classes of a sequential scale for `values` by county code: the positive values split at their
    quantiles into at most `shades` classes (1 the lightest, `shades` the darkest), zero and missing
    values in class 0.
    `fmt` formats a value for the titles and the legend (`"{:.1%}"` for a rate)."""
    positive = sorted(v for v in values.values() if v is not None and v > 0)
    # Upper bound of each class: the value at the end of its quantile, repeats merged.
    bounds = sorted({positive[math.ceil(len(positive) * (i + 1) / shades) - 1] for i in range(shades)}
                    ) if positive else []
    # Fewer classes than shades (few distinct values) spread over the scale: two are its ends.
    levels = [1 + round(i * (shades - 1) / (len(bounds) - 1)) for i in range(len(bounds))
              ] if len(bounds) > 1 else [math.ceil(shades / 2)]
    shade, text, members = {}, {}, {}
    for county in outline().counties:
        value = values.get(county.code)
        text[county.code] = "no data" if value is None else fmt.format(value)
        level = 0 if value is None or value <= 0 else levels[next(
            (i for i, bound in enumerate(bounds) if value <= bound), len(bounds) - 1)]
        shade[county.code] = level
        members.setdefault(level, []).append(value)
    legend = []
    for level in sorted(members):
        if level == 0:
            zero, missing = fmt.format(0), "no data"
            known = [v is not None for v in members[0]]
            legend.append((0, zero if all(known) else missing if not any(known) else f"{zero} or {missing}"))
            continue
        low, high = min(members[level]), max(members[level])
        legend.append((level, fmt.format(low) if low == high else f"{fmt.format(low)}–{fmt.format(high)}"))
    return Shading(shade, text, tuple(legend))
