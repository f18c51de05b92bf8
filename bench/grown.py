"""An archive grown through wxarchive's own store code: rows, aliases, images, choices, and the files.

``bench.state.synthesize`` writes rows with one ``executemany``; this grows an archive the way runs
do (``Store.record_archived``, ``record_images``, the per-post choices), with post, raw-page and
image files on disk, so that what a command reads of the folders shows up in its cost. Some posts
are made with ``--no-images`` and some miss images, as in an archive a user has.

``python -m bench.grown DIR N [--images K]`` grows one for measuring by hand.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .wxserver import BIZ, MID0, article_html, sn

NO_IMAGES_EVERY = 7  # every 7th post made with --no-images
MISSING_EVERY = 11  # every 11th post (made with images) lacks one of them


def _post_text(i: int) -> str:
    return (f"---\nlayout: post\ntitle: \"文章 {i}\"\ndate: 2020-01-01 00:00:00 +0800\n"
            f"source_url: https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID0 + i}&idx=1\n---\n\n正文 {i}\n")


def _touch(folder: Path, names: list[str]) -> None:
    for name in names:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.close(fd)


def _choices(store: object, key: str, keep_footers: bool, no_images: bool) -> None:
    """Record a post's choices as this version's pipeline does (``Store.record_choices`` when it exists)."""
    record = getattr(store, "record_choices", None)
    if record is not None:
        record(key, keep_footers=keep_footers, no_images=no_images)
    else:
        store.set_kv(f"choices:{key}", {"keep_footers": keep_footers, "no_images": no_images})  # type: ignore[attr-defined]


def _missing_one(st: object, raw: Path, url: str, i: int, images: int) -> tuple[list[str], list[str]]:
    """A post whose last image never came: its real raw page (a heal reads it), its images as the
    parser names them, the last one failed ``MAX_IMAGE_TRIES`` times, as that many runs record it."""
    import datetime as dt

    from wxarchive.archive import rawpage
    from wxarchive.extract.clean import clean
    from wxarchive.models import Page
    from wxarchive.extract.parse import parse
    from wxarchive.jobs.pipeline import MAX_IMAGE_TRIES

    content = article_html(i, images)
    raw.write_bytes(rawpage.pack(content)[1])
    art = clean(parse(Page(url=url, final_url=url, status=200, content=content, fetched_at=dt.datetime.now(dt.UTC))))
    found = [(im.url, im.name) for im in art.images]
    names = [f"{n}.png" for _, n in found]
    record = st.record_images  # type: ignore[attr-defined]
    record([(u, n, f"{n}.png", None) for u, n in found[:-1]] + [(found[-1][0], found[-1][1], None, "HTTP 404")])
    for _ in range(MAX_IMAGE_TRIES - 1):
        record([(found[-1][0], found[-1][1], None, "HTTP 404")])
    return names, names[:-1]


def grow(root: Path, n: int, images: int = 3, start: int = 0) -> list[str]:
    """Articles ``start``..``n-1`` into the archive at ``root`` (laid down if new); their keys.

    ``images`` image files per post (the audit's archive had ~8.7); the rows go through
    ``Store.record_archived`` and ``record_images`` one article at a time, as a run records them.
    """
    from wxarchive.archive.site import Site
    from wxarchive.archive.store import Store

    site = Site.open(root)
    site.init()
    posts, imgs, raw = site.posts_dir, site.image_dir, site.state_dir / "raw"
    for d in (posts, imgs, raw):
        d.mkdir(parents=True, exist_ok=True)
    keys = []
    with Store(site.state_dir / "state.sqlite3") as st:
        st.db.execute("PRAGMA synchronous=OFF")  # growing only: a bench state need not survive a power cut
        for i in range(start, n):
            key = f"{BIZ}:{MID0 + i}:1"
            url = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID0 + i}&idx=1&sn={sn(i)}"
            no_images = i % NO_IMAGES_EVERY == 3
            names = [f"img{i}_{j}.jpg" for j in range(images)]
            saved = names if no_images or i % MISSING_EVERY != 5 else names[:-1]
            post = f"2020-01-01-synth-{i}.md"
            (posts / post).write_text(_post_text(i), encoding="utf-8")
            if i % MISSING_EVERY != 5 or no_images:
                _touch(raw, [f"{i}.html.zst"])  # (read only by a rebuild, which the bench does not run)
            if not no_images and i % MISSING_EVERY == 5:
                names, saved = _missing_one(st, raw / f"{i}.html.zst", url, i, images)
                _touch(imgs, saved)
            elif not no_images:
                _touch(imgs, saved)
                st.record_images([(f"https://mmbiz.qpic.cn/{nm}", nm[:-4], nm if nm in saved else None,
                                   None if nm in saved else "HTTP 404") for nm in names])
            st.record_archived(key, [url], url=url, canonical_url=url, title=f"文章 {i}", account=f"账号{i % 300}",
                               published="2020-01-01T00:00:00+08:00", post_path=f"{site.settings.posts_dir}/{post}",
                               raw_path=f".wxarchive/raw/{i}.html.zst", images_found=len(names),
                               images_saved=0 if no_images else len(saved), stripped="[]")  # as the pipeline records it
            _choices(st, key, keep_footers=i % 13 == 0, no_images=no_images)
            keys.append(key)
        st.db.execute("ANALYZE")
    return keys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.grown", description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--images", type=int, default=3, help="image files per post (default 3)")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    grow(a.dir, a.n, a.images)
    print(f"grown {a.n:,} articles in {a.dir} in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
