"""Procedural street-scene layouts: Cityscapes labelIds and instanceIds maps of one random scene.

Everything is drawn in fractions of the image size, so a seed gives the same scene at any resolution
up to rasterisation. Far objects are drawn first so near ones occlude them; objects may cross the
image border and are cut there, as in real frames.
"""
from __future__ import annotations

import cv2
import numpy as np
from cityscapesscripts.helpers.labels import name2label

ID = {name: label.id for name, label in name2label.items()}
HAS_INSTANCES = {label.id for label in name2label.values() if label.hasInstances and label.id >= 0}


class Canvas:
    """Label and instance maps plus a per-region colour offset, painted shape by shape."""

    def __init__(self, height: int, width: int, rng: np.random.Generator) -> None:
        self.h, self.w, self.rng = height, width, rng
        self.label = np.zeros((height, width), np.uint8)
        self.instance = np.zeros((height, width), np.uint16)
        self.tint = np.zeros((height, width, 3), np.float32)
        self.instance_count: dict[int, int] = {}

    def new_region(self, name: str, spread: float) -> tuple[int, int, tuple]:
        """Return (labelId, instanceId, colour offset) for one new object or stuff region."""
        label_id = ID[name]
        instance_id = label_id
        if label_id in HAS_INSTANCES:
            count = self.instance_count.get(label_id, 0)
            self.instance_count[label_id] = count + 1
            instance_id = label_id * 1000 + count  # the Cityscapes instanceIds encoding
        tint = tuple(
            float(v) for v in self.rng.normal(0.0, spread, 3) + self.rng.normal(0.0, spread)
        )
        return label_id, instance_id, tint

    def polygons(self, region: tuple, polys: list) -> None:
        """Fill polygons given in image fractions [(x, y), ...] with `region` (from new_region)."""
        label_id, instance_id, tint = region
        pts = [
            np.round(np.asarray(p, np.float64) * (self.w, self.h)).astype(np.int32) for p in polys
        ]
        cv2.fillPoly(self.label, pts, label_id)
        cv2.fillPoly(self.instance, pts, instance_id)
        cv2.fillPoly(self.tint, pts, tint)

    def ellipses(self, region: tuple, ellipses: list) -> None:
        """Fill ellipses (cx, cy, rx, ry) given in image fractions with `region` (from
        new_region)."""
        label_id, instance_id, tint = region
        for cx, cy, rx, ry in ellipses:
            center = (int(round(cx * self.w)), int(round(cy * self.h)))
            axes = (max(1, int(round(rx * self.w))), max(1, int(round(ry * self.h))))
            for target, value in (
                (self.label, label_id),
                (self.instance, instance_id),
                (self.tint, tint),
            ):
                cv2.ellipse(target, center, axes, 0, 0, 360, value, -1)


def box(x0: float, y0: float, x1: float, y1: float) -> list:
    """Return the rectangle polygon with corners (x0, y0) and (x1, y1)."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def draw_background(c: Canvas, horizon: float) -> float:
    """Paint sky, buildings, walls, fences, trees, terrain, sidewalk and road; return the vanishing
    point x."""
    r = c.rng
    c.polygons(c.new_region("sky", 6), [box(-1, -1, 2, 2)])
    x = -r.uniform(0, 0.1)
    while x < 1:  # a row of facades with occasional gaps of sky
        w = r.uniform(0.08, 0.25)
        if r.random() > 0.15:
            c.polygons(
                c.new_region("building", 22),
                [box(x, r.uniform(0.0, horizon - 0.1), x + w, horizon + 0.02)],
            )
        x += w
    for _ in range(r.integers(1, 5)):  # tree crowns over the facades
        cx, cy = r.uniform(-0.05, 1.05), horizon - r.uniform(0.0, 0.12)
        c.ellipses(
            c.new_region("vegetation", 12), [(cx, cy, r.uniform(0.03, 0.1), r.uniform(0.06, 0.16))]
        )
    vx = r.uniform(0.35, 0.65)
    c.polygons(c.new_region("terrain", 12), [box(-1, horizon, 2, 2)])
    side, road = r.uniform(0.8, 1.3), r.uniform(0.35, 0.6)
    c.polygons(c.new_region("sidewalk", 10),
               [[(vx - 0.06, horizon), (vx + 0.06, horizon), (vx + side, 1.0), (vx - side, 1.0)]])
    c.polygons(c.new_region("road", 6),
               [[(vx - 0.02, horizon), (vx + 0.02, horizon), (vx + road, 1.0), (vx - road, 1.0)]])
    for name in ("wall", "fence"):
        if r.random() < 0.6:
            x0, top = r.uniform(-0.1, 0.8), horizon - r.uniform(0.04, 0.12)
            bottom = horizon + r.uniform(0.0, 0.03)
            c.polygons(c.new_region(name, 10), [box(x0, top, x0 + r.uniform(0.1, 0.35), bottom)])
    return vx


def draw_pole(c: Canvas, x: float, base: float, depth: float) -> None:
    """Paint a pole standing at (x, base), sometimes carrying a traffic sign or light."""
    r = c.rng
    height, width = depth * 0.55, max(0.004, depth * 0.014)
    top = base - height
    c.polygons(c.new_region("pole", 8), [box(x - width, top, x + width, base)])
    kind = r.random()
    if kind < 0.5:
        s = depth * 0.05
        if r.random() < 0.5:
            c.polygons(c.new_region("traffic sign", 15), [box(x - s, top - s, x + s, top + s)])
        else:
            c.ellipses(c.new_region("traffic sign", 15), [(x, top, s, s * 2)])
    elif kind < 0.85:
        s = depth * 0.025
        c.polygons(
            c.new_region("traffic light", 8), [box(x - s, top - 3.5 * s, x + s, top + 3.5 * s)]
        )


# (width, height, body fraction of height) relative to depth; 0.9 = no separate cabin
VEHICLE_SHAPES = {
    "car": (0.30, 0.22, 0.5),
    "truck": (0.34, 0.42, 0.75),
    "bus": (0.5, 0.45, 0.9),
    "train": (1.1, 0.5, 0.9),
}


def draw_vehicle(c: Canvas, name: str, x: float, base: float, depth: float) -> None:
    """Paint the body, cabin and wheels of a car, truck, bus or train whose wheels touch `base`."""
    width, height, body = VEHICLE_SHAPES[name]
    w, h = width * depth, height * depth
    body_top = base - h * body
    region = c.new_region(name, 12)
    polys = [box(x, body_top, x + w, base - 0.03 * depth)]
    if body < 0.85:
        cabin = [
            (x + 0.2 * w, base - h),
            (x + 0.75 * w, base - h),
            (x + 0.9 * w, body_top),
            (x + 0.1 * w, body_top),
        ]
        polys.append(cabin)
    c.polygons(region, polys)
    wheel = 0.05 * depth
    c.ellipses(
        region,
        [
            (x + 0.18 * w, base - wheel, wheel, 2 * wheel),
            (x + 0.82 * w, base - wheel, wheel, 2 * wheel),
        ],
    )


def draw_person(c: Canvas, name: str, x: float, base: float, depth: float) -> None:
    """Paint a standing person or rider (legs, torso, head) whose feet touch `base`."""
    h = 0.4 * depth
    w = h * 0.28
    region = c.new_region(name, 15)
    torso = box(x - w / 2, base - 0.85 * h, x + w / 2, base - 0.45 * h)
    legs = [
        box(x - w / 2, base - 0.45 * h, x - w / 10, base),
        box(x + w / 10, base - 0.45 * h, x + w / 2, base),
    ]
    c.polygons(region, [torso, *legs])
    c.ellipses(region, [(x, base - 0.92 * h, w / 3, 0.08 * h)])


def draw_two_wheeler(
    c: Canvas, name: str, x: float, base: float, depth: float, ridden: bool
) -> None:
    """Paint a bicycle or motorcycle (wheels and frame), with a rider on it when `ridden`."""
    radius = 0.045 * depth * (1.3 if name == "motorcycle" else 1.0)
    gap = radius * 2.4
    region = c.new_region(name, 10)
    c.ellipses(
        region,
        [
            (x, base - 2 * radius, radius, 2 * radius),
            (x + gap, base - 2 * radius, radius, 2 * radius),
        ],
    )
    thick = 1.0 if name == "motorcycle" else 0.5
    frame = box(
        x - 0.2 * radius, base - (2.1 + thick) * radius, x + gap + 0.2 * radius, base - 1.6 * radius
    )
    c.polygons(region, [frame])
    if ridden:
        draw_person(c, "rider", x + gap / 2, base - 2.4 * radius, depth * 0.75)


def draw_objects(c: Canvas, horizon: float, vx: float) -> None:
    """Paint poles, vehicles, persons and two-wheelers from far to near."""
    r = c.rng
    things = [("pole", r.uniform(0.1, 0.4) * r.choice([-1, 1])) for _ in range(r.integers(2, 6))]
    things += [(str(r.choice(["car", "car", "car", "truck", "bus", "train"])), r.uniform(-0.4, 0.3))
               for _ in range(r.integers(1, 6))]
    things += [
        (
            str(r.choice(["person", "person", "bicycle", "motorcycle"])),
            r.uniform(0.05, 0.4) * r.choice([-1, 1]),
        )
        for _ in range(r.integers(1, 7))
    ]
    depths = r.uniform(0.2, 1.15, len(things))
    for (kind, offset), depth in sorted(zip(things, depths), key=lambda t: t[1]):
        base = horizon + depth * (1.0 - horizon)
        x = vx + offset * depth * 2.0
        if kind == "pole":
            draw_pole(c, x, base, depth)
        elif kind in VEHICLE_SHAPES:
            draw_vehicle(c, kind, x, base, depth)
        elif kind == "person":
            draw_person(c, "person", x, base, depth)
        else:
            draw_two_wheeler(c, kind, x, base, depth, ridden=r.random() < 0.7)


def draw_void(c: Canvas) -> None:
    """Sometimes paint ego vehicle, rectification border, unlabeled and static regions (all
    ignored)."""
    r = c.rng
    if r.random() < 0.3:
        c.ellipses(
            c.new_region("ego vehicle", 4),
            [(0.5, 1.05, r.uniform(0.5, 0.8), r.uniform(0.08, 0.15))],
        )
    if r.random() < 0.2:
        c.polygons(
            c.new_region("rectification border", 0), [box(-0.1, -0.1, r.uniform(0.005, 0.02), 1.1)]
        )
    if r.random() < 0.3:
        cx, cy = r.uniform(0, 1), r.uniform(0.3, 0.9)
        c.ellipses(
            c.new_region("unlabeled", 20), [(cx, cy, r.uniform(0.02, 0.08), r.uniform(0.03, 0.1))]
        )
    if r.random() < 0.3:
        x, y = r.uniform(0, 0.95), r.uniform(0.4, 0.8)
        c.polygons(
            c.new_region("static", 20),
            [box(x, y, x + r.uniform(0.01, 0.05), y + r.uniform(0.02, 0.08))],
        )


def make_scene(height: int, width: int, rng: np.random.Generator) -> Canvas:
    """Return a Canvas holding the labelIds, instanceIds and colour offsets of one random street
    scene."""
    c = Canvas(height, width, rng)
    horizon = rng.uniform(0.38, 0.5)
    vx = draw_background(c, horizon)
    draw_objects(c, horizon, vx)
    draw_void(c)
    return c
