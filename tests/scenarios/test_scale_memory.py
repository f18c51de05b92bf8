"""Issue 24: memory that does not grow with the run, nor with the archive.

What a run holds is bounded by bytes, whatever its length (the caches of big script texts count what
they hand back, not only the texts), and no command holds a list of the archive's image folder: the
image saver looks each name up on disk.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from batch_fake import FakeWeChat, connect_args, make_articles, server  # noqa: F401  (fixture)
from conftest import GIF, PNG
from test_scale import FILLER, _archive_reads, dir_reads  # noqa: F401  (fixture)


def test_saving_images_reads_no_listing_of_the_image_folder(tmp_path: Path, run_cli, dir_reads,  # noqa: F811
                                                            server) -> None:  # noqa: F811
    """A `get` that saves an image into an archive of many images reads none of their names: the saver
    listed `postimg/` once per run (870,000 names held in memory, and a long walk, in a large archive)."""
    arts = make_articles(2)
    FakeWeChat(server, arts).install()
    root = tmp_path / "blog"
    assert run_cli("get", arts[0].url(), "--out", root, "--delay", "0", *connect_args(server)).code == 0
    for i in range(FILLER):
        (root / "postimg" / f"filler-{i}.png").write_bytes(b"")
    dir_reads.clear()
    res = run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    assert res.code == 0, res.err
    assert (root / "postimg" / f"{arts[1].media}.png").is_file()  # the image was saved
    read = _archive_reads(dir_reads, root)
    assert read < FILLER, f"get read {read} directory entries of the archive: {dict(dir_reads)}"


def test_saver_looks_each_name_up_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """existing() answers from the disk as it is now: a file another process wrote since the run began is
    found (no download), one deleted is not (never a wrong answer), extensions in their fixed order."""
    from types import SimpleNamespace

    from wxarchive.net.images import ImageSaver

    def no_listing(*a: object) -> None:
        raise AssertionError("the image folder was listed")

    folder = tmp_path / "postimg"
    folder.mkdir()
    (folder / "aaa.png").write_bytes(PNG)
    monkeypatch.setattr(os, "scandir", no_listing)
    monkeypatch.setattr(os, "listdir", no_listing)
    saver = ImageSaver(SimpleNamespace(deadline=10.0), folder)  # type: ignore[arg-type]
    try:
        assert saver.existing("aaa") == "aaa.png"
        assert saver.existing("bbb") is None
        (folder / "bbb.gif").write_bytes(GIF)  # written by someone else meanwhile
        assert saver.existing("bbb") == "bbb.gif"
        (folder / "bbb.jpg").write_bytes(b"\xff\xd8\xff")
        assert saver.existing("bbb") == "bbb.jpg"  # jpg comes before gif, as it always did
        (folder / "aaa.png").unlink()
        assert saver.existing("aaa") is None
    finally:
        saver.close()


def test_a_long_import_lets_each_outcome_go_once_reported(tmp_path: Path, run_cli, server,  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """What an import holds does not grow with its list: by its last article, the outcomes of the first
    ones (their titles, posts, removed blocks: ~1.5 KB each) are gone. The summary, the exit status
    and the JSON lines stay as they were."""
    import gc
    import weakref

    from wxarchive.cli import report

    arts = make_articles(30)
    FakeWeChat(server, arts).install()
    (tmp_path / "links.txt").write_text("".join(a.url() + "\n" for a in arts), encoding="utf-8")
    refs: list[weakref.ref[object]] = []
    alive_at_end: list[int] = []
    real_add = report.Tally.add

    def add(self: report.Tally, o: object) -> None:
        real_add(self, o)  # type: ignore[arg-type]
        refs.append(weakref.ref(o))
        if len(refs) == len(arts):
            gc.collect()
            alive_at_end.append(sum(r() is not None for r in refs[:-1]))

    monkeypatch.setattr(report.Tally, "add", add)
    res = run_cli("import", tmp_path / "links.txt", "--out", tmp_path / "blog", "--delay", "0", "--json",
                  *connect_args(server))
    assert res.code == 0, res.err
    assert [o["status"] for o in res.lines] == ["archived"] * len(arts)
    assert alive_at_end and alive_at_end[0] <= 8, f"{alive_at_end[0]} earlier outcomes still held"


def test_the_bundle_cache_counts_the_values_it_holds() -> None:
    """A remembered script's budget counts what was read out of it: a script of many short assignments
    holds ~10x its own size in (name, value) pairs, which the budget did not count."""
    import gc
    import tracemalloc

    from wxarchive.extract import jsdata

    budget = 256 * 1024
    names = frozenset({"msg_title"})
    scripts = [("".join(f'var msg_title = "t{k}-{i}";\n' for i in range(400))).encode() for k in range(30)]
    gc.collect()
    tracemalloc.start()
    try:
        cache = jsdata._Bundles(budget)
        before = tracemalloc.get_traced_memory()[0]
        for text in scripts:
            hits = jsdata._hits(text, names, jsdata.GLOBALS)
            assert len(hits) == 400
            cache.put(text, names, jsdata.GLOBALS, hits)
            del hits
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.size <= budget
    assert held <= budget * 1.25, f"the cache holds {held >> 10} KB for a budget of {budget >> 10} KB"
    again = scripts[-1]
    assert cache.get(again, names, jsdata.GLOBALS) == jsdata._hits(again, names, jsdata.GLOBALS)  # still a cache


def test_a_long_run_gives_freed_heap_back_every_few_dozen_articles(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc keeps what big buffers freed in per-thread arenas: a long import trims the heap every
    ``EVERY`` articles (and loads ctypes only then: a short run never pays for it)."""
    from wxarchive.jobs import heap

    calls: list[int] = []
    monkeypatch.setattr(heap, "_malloc_trim", lambda: calls.append)
    tick = heap.trimmer()
    for _ in range(heap.EVERY - 1):
        tick()
    assert calls == []
    for _ in range(heap.EVERY + 1):
        tick()
    assert calls == [0, 0]


def test_an_accounts_posts_are_read_a_batch_at_a_time(tmp_path: Path) -> None:
    """The posts a learned footer is taken out of are read as they are gone through, a batch at a time
    (a run that learned a footer listed every post of the account at once: ~12 MB at 10,000), in publish
    order, unknown dates first; a row written meanwhile does not stop the walk."""
    import types

    from wxarchive.archive.store import Store

    with Store(tmp_path / "state.sqlite3") as st:
        dates = ["2024-03-01", "", "2023-01-01", "2024-03-01", "2022-05-05", ""]
        for i, d in enumerate(dates):
            st.record_archived(f"b:{i}:1", [], url=f"u{i}", account="某号", published=d)
        st.record_archived("b:9:1", [], url="u9", account="别的号", published="2020-01-01")
        st.db.execute("UPDATE articles SET published = NULL WHERE key = 'b:5:1'")
        walk = st.archived_of("某号", batch=2)
        assert isinstance(walk, types.GeneratorType)
        seen = []
        for rec in walk:
            seen.append(rec.key)
            st.record_archived(rec.key, [], url=rec.url, account="某号", published=rec.published or "")
    assert seen == ["b:1:1", "b:5:1", "b:4:1", "b:2:1", "b:0:1", "b:3:1"]


def test_a_long_import_gives_big_buffers_mappings_of_their_own(tmp_path: Path, run_cli, server,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An import of many links fixes glibc's mmap threshold (a 10,000-article import's peak rose from
    123 to 206 MB as big buffers piled up in the threads' arenas); a short list leaves malloc as it is."""
    from wxarchive.jobs import heap

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(heap, "_libc", lambda: type("libc", (), {"mallopt": staticmethod(
        lambda p, v: calls.append((p, v))), "malloc_trim": staticmethod(lambda pad: 1)})())
    arts = make_articles(heap.EVERY)
    FakeWeChat(server, arts).install()
    for n in (3, heap.EVERY):
        (tmp_path / "links.txt").write_text("".join(a.url() + "\n" for a in arts[:n]), encoding="utf-8")
        res = run_cli("import", tmp_path / "links.txt", "--out", tmp_path / "blog", "--delay", "0", "--no-images",
                      *connect_args(server))
        assert res.code == 0, res.err
        assert calls == ([] if n == 3 else [(-3, heap.MMAP_THRESHOLD)])


def _count_held(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, total: int) -> list[int]:
    """Wrap ``owner.name``, a step every reported outcome goes through: when the ``total``-th comes, how
    many of the earlier ones are still alive (one number in the list returned)."""
    import gc
    import weakref

    refs: list[weakref.ref[object]] = []
    alive_at_end: list[int] = []
    real = getattr(owner, name)

    def step(*args: object) -> None:
        real(*args)
        refs.append(weakref.ref(args[-1]))
        if len(refs) == total:
            gc.collect()
            alive_at_end.append(sum(r() is not None for r in refs[:-1]))

    monkeypatch.setattr(owner, name, step)
    return alive_at_end


def test_a_long_get_lets_each_outcome_go_once_reported(tmp_path: Path, run_cli, server,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`get URL...` of many links holds no more by its last article than by its first: each outcome is
    printed and let go (it held all of them to the end, ~1.5 KB each). JSON lines and exit status as before."""
    from wxarchive.cli import archiving

    arts = make_articles(30)
    FakeWeChat(server, arts).install()
    alive = _count_held(monkeypatch, archiving, "log_outcome", len(arts))
    res = run_cli("get", *[a.url() for a in arts], "--out", tmp_path / "blog", "--delay", "0", "--json",
                  *connect_args(server))
    assert res.code == 0, res.err
    assert [(o["status"], o["key"]) for o in res.lines] == [("archived", a.key) for a in arts]
    assert alive and alive[0] <= 8, f"{alive[0]} earlier outcomes still held"


def test_a_long_harvest_lets_each_outcome_go_once_reported(tmp_path: Path, run_cli, server,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A harvest keeps of each source's articles what its report, its exit status and the sources' state
    are made of, not their outcomes: by its last article, those of the earlier sources and the earlier
    articles are gone, failures included (the report names the first 20 and counts the rest, as it did)."""
    from wxarchive.archive.store import Store
    from wxarchive.cli import report

    arts = make_articles(70)
    gone = arts[30:]  # WeChat calls these invalid: 40 failures, given up
    FakeWeChat(server, [a for a in arts if a not in gone]).install()
    root = tmp_path / "blog"
    root.mkdir()
    (root / "wxarchive.toml").write_text('[[sources]]\npath = "a.txt"\n\n[[sources]]\npath = "b.txt"\n',
                                         encoding="utf-8")
    (root / "a.txt").write_text("".join(a.url() + "\n" for a in arts[:30]), encoding="utf-8")
    (root / "b.txt").write_text("".join(a.url() + "\n" for a in arts[30:]), encoding="utf-8")
    alive = _count_held(monkeypatch, report.Tally, "add", len(arts))
    res = run_cli("harvest", "--out", root, "--delay", "0", *connect_args(server))
    assert res.code == 1 and res.out == ""
    lines = res.err.strip().splitlines()
    assert lines[0].startswith("wxarchive: harvest: 30 archived; 0 skipped; 40 failed (invalid 40); 40 given up;")
    assert len(lines) == 22 and all("[given up]" in ln for ln in lines[1:21])
    assert lines[21] == "  … and 20 more (wxarchive status)"
    with Store(root / ".wxarchive" / "state.sqlite3") as st:
        got = {s["source"]: (s["last_status"], s["found"], s["new"]) for s in st.sources()}
    assert sorted(got.values()) == [("ok", 30, 30), ("ok, 40 failed", 40, 0)]
    assert alive and alive[0] <= 8 + report.FAILURES_KEPT, f"{alive[0]} earlier outcomes still held"


def test_an_import_holds_only_the_links_of_its_list(tmp_path: Path, run_cli, server,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What an import kept of its list's other lines (one record each: a list of many duplicates or notes
    held them all) is said before the run and let go; by the last article none is held."""
    import gc

    from wxarchive.cli import report
    from wxarchive.jobs.sources import SkippedLine

    arts = make_articles(10)
    FakeWeChat(server, arts).install()
    (tmp_path / "links.txt").write_text("".join(f"{a.url()}\n{a.url()}\nnot a link {i}\n" for i, a in enumerate(arts)),
                                        encoding="utf-8")
    held: list[int] = []
    real_add = report.Tally.add

    def add(self: report.Tally, o: object) -> None:
        real_add(self, o)  # type: ignore[arg-type]
        if self.archived == len(arts):
            gc.collect()
            held.append(sum(isinstance(x, SkippedLine) for x in gc.get_objects()))

    monkeypatch.setattr(report.Tally, "add", add)
    res = run_cli("import", tmp_path / "links.txt", "--out", tmp_path / "blog", "--delay", "0", "--no-images",
                  *connect_args(server))
    assert res.code == 0, res.err
    assert "30 lines: 10 links, 20 skipped (10 not WeChat articles, 10 duplicates)" in res.err
    assert held == [0], f"{held} skipped lines still held"
