"""Benchmark: a 24-megapixel camera picture through the library, as an upload is.

The checks and clean copy (`pictures.checks`), then every rendition (`pictures.renditions`),
each round in a fresh `manage.py shell` whose peak memory GNU time reports. The picture
(6,000 × 4,000, a gradient crossed by lines) is made by Pillow beforehand in another process;
renditions go to a scratch folder. Goals: the whole upload under 20 s, under 400 MiB at peak."""

import json
import tempfile
from pathlib import Path

from bench.lib import MANAGE, PYTHON, report
from bench.lib.commands import command_env, database_url, run_measured

NAME = "pictures"
TITLE = "Pictures: a 24-megapixel upload checked, cleaned and made into renditions"
SECONDS, PEAK_MIB = 20.0, 400.0
ARGUMENTS = {"--pictures-rounds": (3, "Uploads (default: 3).")}
MAKE = """from PIL import Image, ImageDraw
image = Image.linear_gradient("L").resize((6000, 4000)).convert("RGB")
for x in range(0, 6000, 250):
    ImageDraw.Draw(image).line((x, 0, 6000 - x, 4000), fill=(200, 30, 30), width=9)
image.save({path!r}, "JPEG", quality=88)"""
UPLOAD = """import io, json, time, types
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.utils import override_settings
from pictures import checks, renditions
with open({path!r}, "rb") as f, override_settings(MEDIA_ROOT={media!r}):
    started = time.monotonic()
    clean = checks.check_and_clean(SimpleUploadedFile("camera.jpg", f.read()))
    name, checked = default_storage.save("camera.jpg", io.BytesIO(clean.content)), time.monotonic()
    made = renditions.make_renditions(types.SimpleNamespace(pk=1, width=clean.width,
        height=clean.height, focal_x=0.5, focal_y=0.5, file=types.SimpleNamespace(name=name)))
figures = {{"check": checked - started, "renditions": made.seconds, "files": made.files}}
print(json.dumps(figures))"""


def run(args) -> dict:
    env, rounds = command_env(database_url("newsroom_bench_pictures")), []
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-pictures-") as scratch:
        path = str(Path(scratch) / "camera.jpg")
        run_measured([PYTHON, "-c", MAKE.format(path=path)], env=env, what="making the picture")
        for number in range(1, args.pictures_rounds + 1):
            code = UPLOAD.format(path=path, media=str(Path(scratch) / f"media-{number}"))
            done = run_measured([PYTHON, MANAGE, "shell", "-c", code], env=env, what="the upload")
            e = json.loads(done.stdout.strip().splitlines()[-1]) | {"round": number}
            e |= {"total": e["check"] + e["renditions"], "peak_mib": done.peak_rss_mib}
            rounds.append(e | {"ms_each": 1000 * e["renditions"] / e["files"]})
            print(f"  [{number}] {e['total']:.1f} s, {e['peak_mib']:.0f} MiB, {e['files']} files")
    best, peak = min(rounds, key=lambda r: r["total"]), max(r["peak_mib"] for r in rounds)
    columns = [("round", lambda e: e["round"]), ("files", lambda e: e["files"])]
    columns += [(f"{title}", lambda e, k=k: f"{e[k]:.2f}") for title, k in [
        ("checks and clean copy s", "check"), ("renditions s", "renditions"),
        ("ms per rendition", "ms_each"), ("peak RSS MiB", "peak_mib")]]  # fmt: skip
    return {
        "command": "manage.py shell -c (checks.check_and_clean, renditions.make_renditions)",
        "rounds": rounds, "table": report.table(columns, rounds),
        "goals": [
            report.goal(f"whole upload under {SECONDS:.0f} s", SECONDS, round(best["total"], 1),
                        "s", best["total"] < SECONDS),
            report.goal(f"peak memory under {PEAK_MIB:.0f} MiB", PEAK_MIB, peak, "MiB",
                        peak < PEAK_MIB)],
        "notes": ["Times leave Django's start-up out; peak memory (GNU time %M) has it in."],
    }  # fmt: skip
