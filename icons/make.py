#!/usr/bin/env python3
"""Draws drivesync's app and tray icons as RGBA PNGs (no image library needed).

The app icon is a blue disc with two white arrows turning round (two-way sync); each tray
state is the same disc in the state's colour with a glyph: check (in sync), arrows (syncing),
two bars (paused), "!" (needs attention), a cross (offline). Run: python3 icons/make.py
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

COLOURS = {
    "app": (26, 115, 232),
    "in_sync": (30, 142, 62),
    "syncing": (26, 115, 232),
    "paused": (95, 99, 104),
    "attention": (217, 48, 37),
    "offline": (128, 134, 139),
}


def png(path, size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x, y))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", header))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def glyph(kind, u, v):
    """Coverage (0..1) of the white glyph at (u, v) in [-1, 1]^2."""
    w = 0.13
    if kind == "in_sync":
        d = min(seg_dist(u, v, -0.45, 0.0, -0.12, 0.33), seg_dist(u, v, -0.12, 0.33, 0.48, -0.3))
        return d < w
    if kind == "paused":
        return (abs(u + 0.22) < 0.12 or abs(u - 0.22) < 0.12) and abs(v) < 0.45
    if kind == "attention":
        return (abs(u) < 0.12 and -0.5 < v < 0.18) or math.hypot(u, v - 0.4) < 0.13
    if kind == "offline":
        return min(seg_dist(u, v, -0.38, -0.38, 0.38, 0.38), seg_dist(u, v, -0.38, 0.38, 0.38, -0.38)) < w
    # app, syncing: two arcs with arrow heads
    r = math.hypot(u, v)
    a = math.atan2(v, u)
    on_arc = abs(r - 0.5) < w and not (abs(math.sin(a)) < 0.35 and abs(a) < 1.0) and not (abs(math.sin(a)) < 0.35 and abs(a) > 2.1)
    heads = min(
        seg_dist(u, v, 0.5, 0.12, 0.28, -0.12), seg_dist(u, v, 0.5, 0.12, 0.72, -0.12),
        seg_dist(u, v, -0.5, -0.12, -0.28, 0.12), seg_dist(u, v, -0.5, -0.12, -0.72, 0.12),
    ) < w
    return on_arc or heads


def icon(kind, size, path):
    colour = COLOURS[kind]
    samples = 4

    def pixel(x, y):
        disc = 0
        mark = 0
        for sy in range(samples):
            for sx in range(samples):
                u = ((x + (sx + 0.5) / samples) / size) * 2 - 1
                v = ((y + (sy + 0.5) / samples) / size) * 2 - 1
                if math.hypot(u, v) <= 0.96:
                    disc += 1
                    if glyph(kind, u / 0.96, v / 0.96):
                        mark += 1
        n = samples * samples
        if disc == 0:
            return (0, 0, 0, 0)
        m = mark / disc
        rgb = tuple(round(c * (1 - m) + 255 * m) for c in colour)
        return rgb + (round(255 * disc / n),)

    png(path, size, pixel)


def main():
    for size, name in [(32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")]:
        icon("app", size, os.path.join(HERE, name))
    os.makedirs(os.path.join(HERE, "tray"), exist_ok=True)
    for kind in ["in_sync", "syncing", "paused", "attention", "offline"]:
        icon(kind, 64, os.path.join(HERE, "tray", f"{kind}.png"))


if __name__ == "__main__":
    main()
