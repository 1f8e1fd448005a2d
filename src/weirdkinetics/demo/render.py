"""Render the demo's videos: a stick-figure actor performing one of five motions on a procedural background.

Pure numpy, no IO. Everything random is drawn up front into frozen parameter dataclasses
(``sample_motion``, ``sample_background``); rendering is then a deterministic function of those
parameters, so the same recording can be rendered on its real and on a weird background.

The experiment needs the background to be the *easy* cue (whole-frame colour and texture, distinct per
class, over most of the frame) and the motion to be learnable but harder (a thin stick figure covering a
tenth of the frame or less, the same look in every class, with per-video variation of speed, phase,
position, size, facing and colour), so that a model trained where each class always has its own
background takes the shortcut, while a model trained on shuffled backgrounds learns the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from weirdkinetics.demo.classes import DEMO_BACKGROUNDS, DEMO_CLASSES

# Base periods in seconds (each video scales its own by 0.8-1.25). A demo_c3d clip spans 1 s, so every clip
# shows most of a motion cycle.
_BASE_PERIOD = {"jumping": 0.8, "waving": 0.6, "spinning": 1.0, "walking": 1.0, "squatting": 1.2}

# Skeleton in units of the actor's height (feet at y=0, y up, +x = the way the actor faces).
_TORSO, _NECK_TO_HEAD, _HEAD_R = 0.30, 0.11, 0.085
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.16, 0.15, 0.23, 0.23
_LIMB_W, _TORSO_W = 0.12, 0.16  # stroke widths
_ACTOR_HEIGHT = 0.6  # standing height as a share of the frame height (before the per-video scale)

_SHIRT = np.array([200.0, 40.0, 160.0])
_PANTS = np.array([40.0, 40.0, 120.0])
_SKIN = np.array([235.0, 185.0, 145.0])


@dataclass(frozen=True)
class MotionParams:
    """One recording's actor: the class motion plus its per-video variation.

    Positions are in pixels of the native frame; ``height_px`` is the standing height.
    """

    action: str
    period: float  # seconds per motion cycle
    phase: float  # radians at t=0
    center_x: float  # hip x at t=0 (walking moves from there)
    ground_y: float  # y of the feet
    height_px: float
    facing: int  # +1 or -1: mirrors the motion
    amplitude: float  # scales the motion's range (about 1)
    walk_speed: float  # actor heights per second (walking only; 0 otherwise)
    shirt: tuple[float, float, float]
    pants: tuple[float, float, float]
    skin: tuple[float, float, float]


@dataclass(frozen=True)
class BackgroundParams:
    """One background scene: texture seed, colour jitter and a slow horizontal camera drift."""

    name: str
    texture_seed: int
    gain: tuple[float, float, float]  # per-channel colour jitter
    layout: float  # in [-1, 1]: shifts horizons, lines and bands a little
    drift_start: float  # pixels into the wider canvas at t=0
    drift_speed: float  # pixels per second


def sample_motion(
    action: str, rng: np.random.Generator, height: int = 64, width: int = 64, duration_s: float = 3.2
) -> MotionParams:
    """Draw one recording's actor parameters for ``action`` (one of ``DEMO_CLASSES``).

    The actor stays inside a ``height`` x ``width`` frame for ``duration_s`` seconds (a walker crosses it).
    """
    if action not in DEMO_CLASSES:
        raise ValueError(f"unknown demo action '{action}'; choose one of {', '.join(DEMO_CLASSES)}")
    # every class draws the same numbers in the same order, so one rng state gives one actor look
    scale = rng.uniform(0.85, 1.1)
    height_px = _ACTOR_HEIGHT * height * scale
    walk_speed = rng.uniform(0.08, 0.14)
    walk_speed = walk_speed if action == "walking" else 0.0
    facing = int(rng.choice([-1, 1]))
    # keep the whole actor inside the frame; a walker starts behind centre so it crosses it
    margin = (0.25 if action == "walking" else 0.45) * height_px  # arms out reach about 0.4 heights
    center_x = rng.uniform(margin + 0.05 * width, width - margin - 0.05 * width)
    walk_jitter = rng.uniform(-4, 4)
    if action == "walking":
        travel = walk_speed * height_px * duration_s
        center_x = float(np.clip(width / 2 - facing * travel / 2 + walk_jitter, margin, width - margin))

    def jitter(base: np.ndarray) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.clip(base + rng.uniform(-18, 18, 3), 0, 255))

    return MotionParams(
        action=action,
        period=_BASE_PERIOD[action] / rng.uniform(0.8, 1.25),
        phase=rng.uniform(0, 2 * math.pi),
        center_x=float(center_x),
        ground_y=float(rng.uniform(0.88, 0.95) * height),
        height_px=float(height_px),
        facing=facing,
        amplitude=float(rng.uniform(0.85, 1.15)),
        walk_speed=float(walk_speed),
        shirt=jitter(_SHIRT),
        pants=jitter(_PANTS),
        skin=jitter(_SKIN),
    )


def sample_background(name: str, rng: np.random.Generator, duration_s: float = 3.2) -> BackgroundParams:
    """Draw one scene of background ``name`` (a value of ``DEMO_BACKGROUNDS``)."""
    if name not in BACKGROUND_NAMES:
        raise ValueError(f"unknown demo background '{name}'; choose one of {', '.join(BACKGROUND_NAMES)}")
    speed = rng.uniform(-3.0, 3.0)
    travel = abs(speed) * duration_s
    start = rng.uniform(0, max(0.0, 2 * _DRIFT_MARGIN - travel))
    if speed < 0:
        start += travel
    return BackgroundParams(
        name=name,
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        gain=tuple(float(g) for g in rng.uniform(0.92, 1.08, 3) * rng.uniform(0.92, 1.08)),
        layout=float(rng.uniform(-1, 1)),
        drift_start=float(start),
        drift_speed=float(speed),
    )


# --- actor --------------------------------------------------------------------------------------------


def _limb(origin: np.ndarray, angle: float, length: float) -> np.ndarray:
    """End of a limb from ``origin`` at ``angle`` radians from straight down (positive = forward)."""
    return origin + length * np.array([math.sin(angle), -math.cos(angle)])


def _leg_drop(thigh: float, shin: float) -> float:
    return _THIGH * math.cos(thigh) + _SHIN * math.cos(shin)


def pose(
    params: MotionParams, t: float
) -> tuple[list[tuple[np.ndarray, np.ndarray, float, str]], np.ndarray]:
    """The actor's segments at time ``t`` (seconds), in actor units (feet at y=0, y up, +x forward).

    Returns ``(segments, head)``: segments as ``(start, end, width, part)`` with part ``shirt`` or ``pants``,
    and the head centre. Horizontal offset from the body axis (walking, facing, spinning) is applied later.
    """
    a, phi = params.amplitude, params.phase + 2 * math.pi * t / params.period
    lift, lean = 0.0, 0.0
    if params.action == "jumping":
        u = (phi / (2 * math.pi)) % 1.0
        if u < 0.55:  # airborne: parabolic flight, arms up, knees slightly tucked
            air = u / 0.55
            lift, crouch, arms = 0.22 * a * 4 * air * (1 - air), 0.15, 2.4 * a * math.sin(math.pi * air)
        else:  # landing and take-off crouch, arms swing back
            crouch, arms = 0.7 * a * math.sin(math.pi * (u - 0.55) / 0.45), -0.4
        legs = [(crouch * 0.9 + d, -crouch * 0.9 + d) for d in (-0.06, 0.06)]
        arm_pose = [(arms + d, arms + d) for d in (-0.15, 0.15)]
    elif params.action == "waving":
        legs = [(-0.12, -0.12), (0.12, 0.12)]
        wave = 2.9 + 0.6 * a * math.sin(phi)
        arm_pose = [(-0.15, -0.1), (2.3, wave)]
    elif params.action == "spinning":
        legs = [(-0.15, -0.15), (0.15, 0.15)]
        lift_arm = 0.15 * (a - 1)
        arm_pose = [
            (-math.pi / 2 - lift_arm, -math.pi / 2 - lift_arm),
            (math.pi / 2 + lift_arm, math.pi / 2 + lift_arm),
        ]
    elif params.action == "walking":
        legs, arm_pose = [], []
        for psi in (phi, phi + math.pi):
            thigh = 0.45 * a * math.sin(psi)
            legs.append((thigh, thigh - 0.35 * (1 - math.cos(psi)) / 2))
            upper = -0.4 * a * math.sin(psi)
            arm_pose.append((upper, upper + 0.3))
        lift = 0.015 * abs(math.cos(phi))
    elif params.action == "squatting":
        s = a * (1 - math.cos(phi)) / 2
        legs = [(1.35 * s + d, -0.6 * s + d) for d in (-0.05, 0.05)]
        arm_pose = [(1.4 * s + d, 1.5 * s + d) for d in (-0.1, 0.1)]
        lean = 0.35 * s
    else:
        raise ValueError(f"unknown demo action '{params.action}'")

    hip = np.array([0.0, max(_leg_drop(*leg) for leg in legs) + lift])
    neck = _limb(hip, math.pi - lean, _TORSO)
    head = _limb(neck, math.pi - lean, _NECK_TO_HEAD)
    segments = [(hip, neck, _TORSO_W, "shirt")]
    for thigh, shin in legs:
        knee = _limb(hip, thigh, _THIGH)
        segments += [(hip, knee, _LIMB_W, "pants"), (knee, _limb(knee, shin, _SHIN), _LIMB_W, "pants")]
    shoulder = neck + (hip - neck) * 0.1
    for upper, fore in arm_pose:
        elbow = _limb(shoulder, upper, _UPPER_ARM)
        segments += [
            (shoulder, elbow, _LIMB_W, "shirt"),
            (elbow, _limb(elbow, fore, _FOREARM), _LIMB_W, "shirt"),
        ]
    return segments, head


def _to_image(points: np.ndarray, params: MotionParams, t: float) -> np.ndarray:
    """Actor units -> image pixels (x right, y down) at time t. points: float (..., 2)."""
    x, y = points[..., 0], points[..., 1]
    if params.action == "spinning":  # turning about the vertical axis foreshortens everything sideways
        x = x * math.cos(params.phase + 2 * math.pi * t / params.period)
    cx = params.center_x + params.facing * params.walk_speed * params.height_px * t
    return np.stack([cx + params.facing * x * params.height_px, params.ground_y - y * params.height_px], -1)


def _capsules(a: np.ndarray, b: np.ndarray, radius: float, height: int, width: int) -> np.ndarray:
    """Pixels whose centre lies within ``radius`` of segment a-b (a disc when a == b), for every frame.

    a, b: float (T, 2) image points (x, y) -> bool (T, H, W).
    """
    py, px = np.mgrid[0:height, 0:width] + 0.5
    ax, ay, dx, dy = (v[:, None, None] for v in (a[:, 0], a[:, 1], b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]))
    denom = np.maximum(dx * dx + dy * dy, 1e-9)
    u = np.clip(((px - ax) * dx + (py - ay) * dy) / denom, 0.0, 1.0)
    return (px - ax - u * dx) ** 2 + (py - ay - u * dy) ** 2 <= radius * radius


def render_actor(
    params: MotionParams, num_frames: int, height: int, width: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the actor alone.

    Returns ``(colours, mask)``: colours uint8 (T, H, W, 3) (zero outside the mask), mask bool (T, H, W),
    the actor's exact pixels. Shapes are hard-edged, so frame pixels are either actor or background.
    """
    colours = np.zeros((num_frames, height, width, 3), np.uint8)
    mask = np.zeros((num_frames, height, width), bool)
    paint = {"shirt": params.shirt, "pants": params.pants, "skin": params.skin}
    # per frame: the same shapes in the same order (legs, then torso and arms, then the head on top)
    starts, ends, radii, parts = [], [], [], []
    for i in range(num_frames):
        t = i / fps
        segments, head = pose(params, t)
        segments = sorted(segments, key=lambda seg: seg[3] != "pants") + [(head, head, 2 * _HEAD_R, "skin")]
        starts.append(_to_image(np.stack([s[0] for s in segments]), params, t))
        ends.append(_to_image(np.stack([s[1] for s in segments]), params, t))
        radii, parts = [s[2] * params.height_px / 2 for s in segments], [s[3] for s in segments]
    starts, ends = np.stack(starts), np.stack(ends)  # (T, shapes, 2)
    # only the box the actor ever reaches needs distances
    points, reach = np.concatenate([starts, ends], 1), max(radii) + 1
    x0, y0 = np.maximum(np.floor(points.min((0, 1)) - reach).astype(int), 0)
    x1, y1 = np.ceil(points.max((0, 1)) + reach).astype(int) + 1
    x1, y1 = min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return colours, mask
    box = (slice(None), slice(y0, y1), slice(x0, x1))
    offset = np.array([x0, y0])
    for k, (radius, part) in enumerate(zip(radii, parts)):
        inside = _capsules(starts[:, k] - offset, ends[:, k] - offset, radius, y1 - y0, x1 - x0)
        colours[box][inside] = np.array(paint[part]).astype(np.uint8)
        mask[box] |= inside
    return colours, mask


# --- backgrounds ----------------------------------------------------------------------------------------

_DRIFT_MARGIN = 12  # extra canvas pixels on each side for the camera drift


def _value_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Smooth noise in [0, 1]: a random grid every ``cell`` pixels, bilinearly interpolated. -> (H, W)."""
    gh, gw = int(height / cell) + 2, int(width / cell) + 2
    grid = rng.random((gh, gw))
    y = np.arange(height) / cell
    x = np.arange(width) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    g00, g01 = grid[y0][:, x0], grid[y0][:, x0 + 1]
    g10, g11 = grid[y0 + 1][:, x0], grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy


def _beach(rng: np.random.Generator, h: int, w: int, layout: float) -> tuple[np.ndarray, list]:
    canvas = np.zeros((h, w, 3))
    sky_end, sea_end = int(h * (0.3 + 0.04 * layout)), int(h * (0.55 + 0.04 * layout))
    ramp = np.linspace(0, 1, sky_end)[:, None, None]
    canvas[:sky_end] = (130, 190, 235) + ramp * np.array([45, 25, 5])
    canvas[sky_end:sea_end] = (25, 95, 170)
    canvas[sea_end:] = (225, 200, 140)
    speckle = (rng.random((h - sea_end, w)) - 0.5) * 26 + (_value_noise(rng, h - sea_end, w, 6) - 0.5) * 30
    canvas[sea_end:] += speckle[..., None]
    return canvas, [("waves", sky_end, sea_end)]


def _forest(rng: np.random.Generator, h: int, w: int, layout: float) -> tuple[np.ndarray, list]:
    leaves = _value_noise(rng, h, w, 5) * 0.6 + _value_noise(rng, h, w, 2) * 0.4
    canvas = np.array([20.0, 60.0, 25.0]) + leaves[..., None] * np.array([40.0, 90.0, 35.0])
    ground = int(h * (0.8 + 0.03 * layout))
    for _ in range(int(rng.integers(7, 11))):
        x0, tw = int(rng.integers(0, w)), int(rng.integers(2, 5))
        top = int(rng.integers(0, h // 3))
        canvas[top:ground, x0 : x0 + tw] = np.array([85.0, 58.0, 30.0]) + rng.uniform(-10, 10)
    canvas[ground:] = np.array([70.0, 55.0, 30.0]) + (rng.random((h - ground, w, 1)) - 0.5) * 20
    return canvas, []


def _court(rng: np.random.Generator, h: int, w: int, layout: float) -> tuple[np.ndarray, list]:
    wall = int(h * (0.25 + 0.03 * layout))
    canvas = np.zeros((h, w, 3))
    canvas[:wall] = (70, 85, 120)
    canvas[wall:] = (195, 95, 55)
    canvas[wall:] += (rng.random((h - wall, w, 1)) - 0.5) * 14
    white = (245, 245, 240)
    for frac in (0.45, 0.9):  # service line and baseline
        y = int(wall + frac * (h - wall) + 2 * layout)
        canvas[y : y + 2] = white
    yy, xx = np.mgrid[wall:h, 0:w]
    centre = w / 2 + 6 * layout
    for spread in (-0.75, 0.0, 0.75):  # sidelines and centre line converge towards the wall (perspective)
        x_line = centre + spread * (w / 2) * (0.55 + 0.45 * (yy - wall) / (h - wall))
        canvas[wall:][np.abs(xx - x_line) < 1.0] = white
    return canvas, []


def _kitchen(rng: np.random.Generator, h: int, w: int, layout: float) -> tuple[np.ndarray, list]:
    counter, floor = int(h * (0.5 + 0.03 * layout)), int(h * (0.62 + 0.03 * layout))
    tile = 8
    yy, xx = np.mgrid[0:h, 0:w]
    off = int(rng.integers(0, tile))
    canvas = np.zeros((h, w, 3))
    canvas[:] = (165, 215, 205)
    grout = ((yy + off) % tile == 0) | ((xx + off) % tile == 0)
    canvas[grout] = (120, 140, 135)
    canvas[counter:floor] = (140, 92, 52)
    canvas[counter:floor] += (_value_noise(rng, floor - counter, w, 3)[..., None] - 0.5) * 30
    check = ((yy[floor:] // 6 + xx[floor:] // 6) % 2).astype(bool)
    canvas[floor:] = (150, 110, 80)
    canvas[floor:][check] = (225, 205, 170)
    return canvas, []


def _snow(rng: np.random.Generator, h: int, w: int, layout: float) -> tuple[np.ndarray, list]:
    sky = int(h * (0.35 + 0.04 * layout))
    canvas = np.zeros((h, w, 3))
    canvas[:sky] = (195, 205, 222)
    ridge = sky - 4 - 6 * _value_noise(rng, 1, w, 8)[0]  # distant hills
    yy = np.arange(h)[:, None]
    hills = (yy >= ridge[None, :]) & (yy < sky)
    canvas[hills] = (150, 160, 180)
    canvas[sky:] = (245, 247, 252)
    canvas[sky:] -= _value_noise(rng, h - sky, w, 7)[..., None] * np.array([18.0, 12.0, 4.0])
    flakes = np.stack([rng.uniform(0, w, 40), rng.uniform(0, h, 40), rng.uniform(6, 14, 40)], 1)
    return canvas, [("flakes", flakes)]


_SCENES = {"beach": _beach, "forest": _forest, "court": _court, "kitchen": _kitchen, "snow": _snow}
BACKGROUND_NAMES: tuple[str, ...] = tuple(DEMO_BACKGROUNDS[c] for c in DEMO_CLASSES)
assert set(BACKGROUND_NAMES) == set(_SCENES), "every demo background needs a scene renderer"


def render_background(
    params: BackgroundParams, num_frames: int, height: int, width: int, fps: float
) -> np.ndarray:
    """Render a background scene with its camera drift and animation -> uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(params.texture_seed)
    cw = width + 2 * _DRIFT_MARGIN
    canvas, animations = _SCENES[params.name](rng, height, cw, params.layout)
    out = np.empty((num_frames, height, width, 3), np.uint8)
    gain = np.array(params.gain)
    for i in range(num_frames):
        t = i / fps
        frame = canvas.copy()
        for anim in animations:
            if anim[0] == "waves":  # lighter crests rolling across the sea
                _, top, bottom = anim
                yy, xx = np.mgrid[top:bottom, 0:cw]
                crest = np.sin(2 * math.pi * (yy / 3.0 + xx / 23.0 - 0.6 * t)) > 0.7
                frame[top:bottom][crest] += 45
            elif anim[0] == "flakes":  # falling snow
                flakes = anim[1]
                fx = flakes[:, 0].astype(int) % cw
                fy = ((flakes[:, 1] + flakes[:, 2] * t) % height).astype(int)
                frame[fy, fx] = 255
        x0 = int(round(params.drift_start + params.drift_speed * t))
        x0 = min(max(x0, 0), cw - width)
        out[i] = np.clip(frame[:, x0 : x0 + width] * gain, 0, 255).astype(np.uint8)
    return out


def render_video(
    motion: MotionParams, background: BackgroundParams, num_frames: int, height: int, width: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The actor composited over the background.

    Returns ``(frames, mask)``: frames uint8 (T, H, W, 3) RGB, mask bool (T, H, W), True on the actor.
    """
    colours, mask = render_actor(motion, num_frames, height, width, fps)
    frames = render_background(background, num_frames, height, width, fps)
    frames[mask] = colours[mask]
    return frames, mask
