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
