"""Images heal (issue 11): an archived post whose images failed gets them on a later run and is
rewritten with local paths; `status` and the exit status say when images are missing; a browser's
"Save page complete" folder is used before the network."""
from __future__ import annotations

import json
from pathlib import Path

from werkzeug.wrappers import Request, Response

from batch_fake import PNG, FakeWeChat, connect_args, make_articles, posts, server  # noqa: F401  (fixture)
from wxarchive.write.render import split_post


def _serve(srv, arts, up: dict) -> FakeWeChat:  # type: ignore[no-untyped-def]
    """Article pages always; images only while ``up["images"]`` is true (else 404)."""
    fake = FakeWeChat(srv, arts)
    srv.expect_request("/s").respond_with_handler(fake._article)

    def image(request: Request) -> Response:
        if up["images"]:
            return Response(PNG, content_type="image/png")
        return Response("not found", status=404, content_type="text/plain")

    for a in arts:
        srv.expect_request(f"/mmbiz_png/{a.media}/640").respond_with_handler(image)
    return fake


def _front(root: Path) -> tuple[dict, str]:
    text = posts(root)[0].read_text(encoding="utf-8")
    return split_post(text)[0], text


def test_a_later_get_heals_missing_images(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    up = {"images": False}
    _serve(server, arts, up)
    root = tmp_path / "arch"
    r = run_cli("get", arts[0].url(), "--out", root, "--delay", "0", "--json", *connect_args(server))
    assert r.code == 4, r.err  # archived, but an image is missing: a script can tell
    assert r.json["images"] == {"found": 1, "saved": 0, "failed": 1}
    fm, text = _front(root)
    assert "https://mmbiz.qpic.cn/" in text and "postimg/" not in text.split("---", 2)[2]
    st = run_cli("status", "--out", root)
    assert "images: 1 missing in 1 post(s)" in st.out
    assert json.loads(run_cli("status", "--out", root, "--json").out)["images_missing"] == {"images": 1, "posts": 1}
    up["images"] = True
    r = run_cli("get", arts[1].url(), "--out", root, "--delay", "0", "--json", *connect_args(server))
    assert r.code == 0, r.err
    healed = [x for x in r.lines if x["status"] == "healed"]
    assert len(healed) == 1 and healed[0]["key"] == arts[0].key
    assert healed[0]["images"] == {"found": 1, "saved": 1, "failed": 0}
    post0 = next(p for p in posts(root) if arts[0].title in p.read_text(encoding="utf-8"))
    fm2, body = split_post(post0.read_text(encoding="utf-8"))
    assert f"postimg/{arts[0].media}.png" in body and "mmbiz.qpic.cn/mmbiz_png" not in body
    assert fm2["archived_at"] == fm["archived_at"]
    assert "images: none missing" in run_cli("status", "--out", root).out


def test_import_and_rebuild_heal_too(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    up = {"images": False}
    _serve(server, arts, up)
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts[:2]) + "\n", encoding="utf-8")
    root = tmp_path / "arch"
    r = run_cli("import", lst, "--out", root, "--delay", "0", *connect_args(server))
    assert r.code == 4 and "images 0/2 saved, 2 failed" in r.err
    up["images"] = True
    r = run_cli("import", lst, "--out", root, "--delay", "0", *connect_args(server))
    assert r.code == 0, r.err
    assert "2 post(s) healed" in r.err
    assert all("mmbiz.qpic.cn/mmbiz_png" not in split_post(p.read_text(encoding="utf-8"))[1] for p in posts(root))
    # rebuild: the one step that asks the network is fetching missing images
    up["images"] = False
    assert run_cli("get", arts[2].url(), "--out", root, "--delay", "0", *connect_args(server)).code == 4
    up["images"] = True
    r = run_cli("rebuild", "--out", root, *connect_args(server))
    assert r.code == 0, r.err
    assert "healed" in r.out
    assert "images: none missing" in run_cli("status", "--out", root).out


def test_an_image_that_never_comes_is_not_asked_for_forever(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    _serve(server, arts, {"images": False})
    root = tmp_path / "arch"
    assert run_cli("get", arts[0].url(), "--out", root, "--delay", "0", *connect_args(server)).code == 4
    img = f"/mmbiz_png/{arts[0].media}/640"
    for _ in range(6):
        run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    asked = sum(1 for req, _ in server.log if req.path == img)
    assert asked <= 5 * 3  # five tries (each with its HTTP retries of a 404: none), then left remote
    n = asked
    run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    assert sum(1 for req, _ in server.log if req.path == img) == n


def test_an_image_that_just_failed_waits_for_the_next_run(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Healing is for posts of earlier runs: the run that archived a post has just asked for its images, so
    it does not ask again at once (that spent two of the five tries a run and said the warning twice)."""
    arts = make_articles(2)
    _serve(server, arts, {"images": False})
    root = tmp_path / "arch"
    img = f"/mmbiz_png/{arts[0].media}/640"
    r = run_cli("get", arts[0].url(), "--out", root, "--delay", "0", *connect_args(server))
    assert r.code == 4
    assert sum(1 for req, _ in server.log if req.path == img) == 1
    assert r.err.count("image not saved") == 1, r.err
    r = run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    assert sum(1 for req, _ in server.log if req.path == img) == 2  # the next run heals: one more try
    said = [ln for ln in r.err.splitlines() if "image not saved" in ln]  # one line per article (issue 23)
    assert len(said) == 2 and any(str(arts[1].mid) in ln for ln in said), r.err


def test_save_page_complete_uses_the_saved_files(run_cli, tmp_path: Path) -> None:
    art = make_articles(1)[0]
    html = art.html().replace(' data-type="png"', ' src="./X_files/640.png" data-type="png"')
    assert 'src="./X_files/640.png"' in html
    page = tmp_path / "X.html"
    page.write_text(html, encoding="utf-8")
    (tmp_path / "X_files").mkdir()
    (tmp_path / "X_files" / "640.png").write_bytes(PNG)
    root = tmp_path / "arch"
    # no --connect-to: the network cannot give this image, the saved folder must
    r = run_cli("get", page, "--out", root, "--json", "--timeout", "2")
    assert r.code == 0, r.err
    assert r.json["images"] == {"found": 1, "saved": 1, "failed": 0}
    assert (root / "postimg" / f"{art.media}.png").read_bytes() == PNG
    assert f"postimg/{art.media}.png" in posts(root)[0].read_text(encoding="utf-8")
