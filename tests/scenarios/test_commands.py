"""`wxarchive init`, `wxarchive rebuild` and the non-terminal progress report, as a user meets them."""
from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import yaml

from conftest import fixture_page, posts
from wxarchive.jobs.pipeline import Outcome
from wxarchive.cli.report import Progress, Tally, chain, log_outcome
from wxarchive.archive.site import TMP_DIR
from wxarchive.archive.store import Store

INIT_FILES = ["_config.yml", "_layouts/default.html", "_layouts/post.html", "gone.html", "index.html", "wxarchive.toml"]


def _front(post: Path) -> dict:
    return yaml.safe_load(post.read_text(encoding="utf-8").split("---\n", 2)[1])


def _body(post: Path) -> str:
    return post.read_text(encoding="utf-8").split("---\n", 2)[2]


# ---- init -------------------------------------------------------------------------------------

def test_init_lays_down_a_site_and_says_what_it_made(tmp_path: Path, run_cli) -> None:
    root = tmp_path / "blog"
    res = run_cli("init", root)
    assert res.code == 0, res.err
    assert sorted(Path(p).relative_to(root).as_posix() for p in res.out.split()) == INIT_FILES
    for d in ("_posts", "postimg", ".wxarchive"):
        assert (root / d).is_dir()
    cfg = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["timezone"] == "Asia/Shanghai" and ".wxarchive" in cfg["exclude"]


def test_init_never_overwrites_and_respects_an_index_md(tmp_path: Path, run_cli) -> None:
    root = tmp_path / "blog"
    root.mkdir()
    (root / "index.md").write_text("# my own index\n", encoding="utf-8")
    (root / "_config.yml").write_text("title: mine\n", encoding="utf-8")
    res = run_cli("init", root)
    assert res.code == 0
    made = sorted(Path(p).relative_to(root).as_posix() for p in res.out.split())
    assert made == ["_layouts/default.html", "_layouts/post.html", "gone.html", "wxarchive.toml"]
    assert not (root / "index.html").exists()
    assert (root / "_config.yml").read_text(encoding="utf-8") == "title: mine\n"
    again = run_cli("init", root)
    assert again.code == 0 and again.out == "", "a second init makes nothing"


def test_init_sweeps_temp_files_of_a_killed_run(tmp_path: Path, run_cli) -> None:
    root = tmp_path / "blog"
    run_cli("init", root)
    dead = root / "_posts" / TMP_DIR / ".tmp-999999999-x.md.part"  # a pid no process has
    dead.write_text("half a post", encoding="utf-8")
    assert run_cli("init", root).code == 0
    assert not dead.exists()


def test_init_sweeps_an_older_wxarchives_temp_files_once(tmp_path: Path, run_cli) -> None:
    """An archive an older wxarchive wrote has its temp files beside the posts and no temp folder:
    the first start sweeps the folder itself and makes the temp folder, later starts read only that."""
    root = tmp_path / "blog"
    run_cli("init", root)
    shutil.rmtree(root / "_posts" / TMP_DIR)
    dead = root / "_posts" / ".tmp-999999999-x.md.part"
    dead.write_text("half a post", encoding="utf-8")
    assert run_cli("init", root).code == 0
    assert not dead.exists() and (root / "_posts" / TMP_DIR).is_dir()


# ---- rebuild ----------------------------------------------------------------------------------

def _archive_fixture(run_cli, root: Path, case: str = "article-2024-modern") -> Path:
    res = run_cli("get", fixture_page(case), "--out", root, "--no-images", "--json")
    assert res.code == 0, res.err
    return Path(res.json["post"])


def test_rebuild_applies_changed_settings_to_every_post(archive: Path, run_cli) -> None:
    first = _archive_fixture(run_cli, archive)
    second = _archive_fixture(run_cli, archive, "article-2017-legacy")
    assert "> 来源：微信公众号" in _body(first)
    cfg = archive / "wxarchive.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("attribution = true", "attribution = false"),
                   encoding="utf-8")
    res = run_cli("rebuild", "--out", archive, "--json")
    assert res.code == 0, res.err
    assert sorted(ln["status"] for ln in res.lines) == ["rebuilt", "rebuilt"]
    assert [ln["changed"] for ln in res.lines] == [True, True]
    assert "rebuild: 2 posts, 2 changed" in res.err  # (issue 23: whether the new setting took)
    assert posts(archive) == sorted([first, second])
    again = run_cli("rebuild", "--out", archive)
    assert again.code == 0 and "rebuild: 2 posts, 0 changed" in again.err
    for post in (first, second):
        assert "来源：微信公众号" not in _body(post)
        assert _front(post)["title"]


def test_rebuild_restores_a_deleted_post_offline(archive: Path, run_cli) -> None:
    post = _archive_fixture(run_cli, archive)
    before = _body(post)
    post.unlink()
    res = run_cli("rebuild", "--out", archive)
    assert res.code == 0, res.err
    assert res.out.startswith("rebuilt") and post.name in res.out
    assert _body(post) == before


def test_rebuild_reports_a_missing_raw_page_and_keeps_going(archive: Path, run_cli) -> None:
    post = _archive_fixture(run_cli, archive)
    other = _archive_fixture(run_cli, archive, "article-2017-legacy")
    with Store(archive / ".wxarchive" / "state.sqlite3") as st:
        rec = next(r for r in st.archived() if archive / r.post_path == post)
    (archive / rec.raw_path).unlink()
    res = run_cli("rebuild", "--out", archive, "--json")
    assert res.code == 1
    by_status = {ln["status"]: ln for ln in res.lines}
    assert set(by_status) == {"failed", "rebuilt"}
    assert by_status["failed"]["error"] == "io" and by_status["rebuilt"]["post"] == str(other)
    assert post.exists(), "a post whose raw page is gone is left as it is"


# ---- progress and tally without a terminal ----------------------------------------------------

def _outcome(i: int, status: str = "archived", **kw) -> Outcome:
    return Outcome(f"https://mp.weixin.qq.com/s/link{i}", status, title=f"标题{i}", **kw)


def test_progress_prints_a_line_every_n_and_at_the_end() -> None:
    stream = io.StringIO()
    with Progress(30, stream=stream, every=10, every_s=3600, label="import") as prog:
        for i in range(30):
            prog.update(_outcome(i))
    lines = stream.getvalue().splitlines()
    assert [ln.split(" done")[0] for ln in lines] == [f"wxarchive: import: {n}/30" for n in (10, 20, 30)]
    assert "left" in lines[0] and "left" not in lines[-1], "an ETA while work remains, none at the end"
    assert prog.done == 30 and prog.rate() > 0


def test_progress_time_based_line_and_disabled_forms() -> None:
    stream = io.StringIO()
    with Progress(5, stream=stream, every=1000, every_s=0) as prog:
        prog.update(_outcome(1))
    assert stream.getvalue().startswith("wxarchive: import: 1/5 done")
    for prog in (Progress(5, stream=(quiet := io.StringIO()), enabled=False), Progress(0, stream=quiet)):
        with prog:
            prog.update(_outcome(1))
    assert quiet.getvalue() == ""


def test_tally_line_and_json() -> None:
    tally = Tally()
    for o in [_outcome(1, images={"found": 3, "saved": 2, "failed": 1}), _outcome(2, "skipped"),
              _outcome(3, "failed", error="deleted", gave_up=True), _outcome(4, "failed", error="network"),
              _outcome(5, "failed", error="deleted"), _outcome(6, "failed", error="verify")]:
        tally.add(o)
    assert tally.line() == ("1 archived; 1 skipped; 3 failed (deleted 2, network 1); 1 given up; "
                            "1 left for the next run; images 2/3 saved, 1 failed")
    assert tally.as_json() == {"archived": 1, "skipped": 1, "failed": {"deleted": 2, "network": 1}, "gave_up": 1,
                               "not_tried": 1, "images": {"found": 3, "saved": 2, "failed": 1}}
    assert [o.source[-1] for o in tally.failures] == ["3", "4", "5"]
    assert Tally().line() == "0 archived; 0 skipped; images 0/0 saved"


def test_chain_and_log_outcome(caplog) -> None:
    seen: list[str] = []
    call = chain(None, lambda o: seen.append(o.status), log_outcome)
    with caplog.at_level(logging.INFO, logger="wxarchive.cli.report"):
        call(_outcome(1))
        call(_outcome(2, "failed", error="deleted"))
    assert seen == ["archived", "failed"]
    assert [r.getMessage() for r in caplog.records] == ["archived https://mp.weixin.qq.com/s/link1 标题1"]


def test_rebuild_reports_a_corrupt_raw_page_and_keeps_going(archive: Path, run_cli) -> None:
    post = _archive_fixture(run_cli, archive)
    _archive_fixture(run_cli, archive, "article-2017-legacy")
    with Store(archive / ".wxarchive" / "state.sqlite3") as st:
        rec = next(r for r in st.archived() if archive / r.post_path == post)
    before = post.read_bytes()
    (archive / rec.raw_path).write_bytes(b"\x28\xb5\x2f\xfd not really zstandard")
    res = run_cli("rebuild", "--out", archive, "--json")
    assert res.code == 1
    assert sorted(ln["status"] for ln in res.lines) == ["failed", "rebuilt"]
    assert post.read_bytes() == before, "a post whose raw page cannot be read is left as it is"


def test_invalid_settings_file_is_a_usage_error(archive: Path, run_cli) -> None:
    (archive / "wxarchive.toml").write_text('[site]\ntags = "其他"\n', encoding="utf-8")
    res = run_cli("get", fixture_page("article-2024-modern"), "--out", archive)
    assert res.code == 2 and "tags must be a list of strings" in res.err
    (archive / "wxarchive.toml").write_text("[site\n", encoding="utf-8")
    res = run_cli("get", fixture_page("article-2024-modern"), "--out", archive)
    assert res.code == 2 and "not valid TOML" in res.err


def test_atomic_write_leaves_nothing_when_the_rename_fails(tmp_path: Path) -> None:
    from wxarchive.archive.site import atomic_write

    target = tmp_path / "a-folder"
    target.mkdir()
    (target / "x").write_text("occupied", encoding="utf-8")  # a non-empty folder cannot be replaced by a file
    try:
        atomic_write(target, b"data")
    except OSError:
        pass
    else:  # pragma: no cover
        raise AssertionError("replacing a non-empty folder by a file must fail")
    assert sorted(p.name for p in tmp_path.iterdir()) == [TMP_DIR, "a-folder"]
    assert not list((tmp_path / TMP_DIR).iterdir()), "the temp file was removed"


def test_progress_rate_counts_only_fetched_articles() -> None:
    """Issue 23: a re-run's skips (thousands a second) made rates like 535928.3/min. Skips cost no request
    and say nothing of the pace: a run of skips shows none; a burst is not divided by less than a second."""
    stream = io.StringIO()
    with Progress(1000, stream=stream, every=500, every_s=3600) as prog:
        for i in range(1000):
            prog.update(_outcome(i, "skipped"))
    assert [ln for ln in stream.getvalue().splitlines()] == ["wxarchive: import: 500/1000 done",
                                                             "wxarchive: import: 1000/1000 done"]
    stream = io.StringIO()
    with Progress(3, stream=stream, every=1, every_s=3600) as prog:
        for i in range(3):
            prog.update(_outcome(i))
    rates = [float(ln.split("(")[1].split("/min")[0]) for ln in stream.getvalue().splitlines()]
    assert rates and all(r <= 180 for r in rates), stream.getvalue()  # at most 3 in the first second
