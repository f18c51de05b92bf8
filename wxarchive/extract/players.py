"""WeChat's own player and page UI inside an article body: told apart from the article by structure.

A page saved from a browser, copied from devtools or re-serialised after WeChat's scripts ran keeps
what those scripts built inside ``#js_content``: an audio card's frame beside each ``<mpvoice>``
(title, "来自<account>", ``00:00``, its length), a QQ music card's, a video's whole player (error box with "Refresh",
replay/share/like buttons, follow prompt, related-videos dialog, full-screen header) and copies of
the video element itself. None of it is the author's; read as text it becomes lines like
``来自力哥理财 00:00 13:45`` or ``Refresh`` in the post. The media stay: a player's first video
element is kept where the player sat, and a card whose media element is gone becomes that element.

An editor template's scroll hint ("向上滑动阅览" over a fixed-height box that scrolls) is stale in a
post, where nothing scrolls: it goes when such a box is beside it, and only then.

Pure: each function changes the tree it is given, and nothing else.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from wxarchive.extract.htmltree import Element, drop_tree, text_content

__all__ = ["PLAYER_UI", "REASONS", "SCROLL_HINT", "drop_chrome", "drop_repeated_videos", "drop_scroll_hints",
           "is_video", "may_hold_media", "video_key", "videos"]

PLAYER_UI = "WeChat player UI (audio/video card, controls)"
SCROLL_HINT = "scroll hint"  # (as boilerplate's rule for a hint standing alone)
REASONS = frozenset((PLAYER_UI, SCROLL_HINT))
Removed = list[tuple[str, str]]  # (reason, the text a reader would have read)

# Classes of WeChat's player UI (post-JS DOM of its audio card and of its mp video player; the
# class names WeChat's own scripts give these parts). Each marks a part that holds no article text.
CHROME_CLASSES = frozenset((
    "js_audio_frame", "share_audio_context", "audio_card",  # audio card drawn beside an <mpvoice>
    "qqmusic_area",  # a QQ music card drawn beside a <qqmusic>
    "mp-video-player", "wx_video_error_box", "js_error_area", "video_tail_module", "opr_wrp",
    "js_replay", "account_info_wrp", "interact_video", "weui-half-screen-dialog", "wx_bottom_modal",
    "wx_bottom_modal_wrp", "video_full-screen__head", "js_video_fullscreen_profile",
    "folder_text_switch_wrp",  # a video page's "展开" toggle
))
# ...and the families of the video player's class names (speed and quality menus, full-screen bars,
# quick-play tips, error boxes), each part of the player whatever follows the prefix
CHROME_PREFIXES = ("video_full-screen", "video_quick_play", "wx_video_", "video_tail_module", "mp-video-player")
VIDEO_TAGS = frozenset(("iframe", "mpvideo", "mp-video", "video"))
_CLASSED = etree.XPath(".//*[@class]")
_VOICE_ID = re.compile(r"^voice_main_(.+)_\d+$")
_WXV = re.compile(r"[?&]vid=((?:wxv|apiv)_\d+)")


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _is_chrome(el: etree._Element) -> bool:
    classes = _classes(el)
    return not CHROME_CLASSES.isdisjoint(classes) or any(c.startswith(CHROME_PREFIXES) for c in classes)


def is_video(el: etree._Element) -> bool:
    """A video element: a player tag, or any element WeChat marks as its video frame (a post-JS or
    re-serialised capture may keep the frame as a ``<span class="video_iframe" data-mpvid=…>``)."""
    if not isinstance(el.tag, str):
        return False
    return el.tag in VIDEO_TAGS or bool(el.get("data-mpvid")) or "video_iframe" in _classes(el)


_VIDEOS = etree.XPath('.//iframe | .//mpvideo | .//mp-video | .//video'
                     ' | .//*[@data-mpvid or contains(@class, "video_iframe")]')


def may_hold_media(body_html: str) -> bool:
    """Whether a body's HTML can hold a player at all: every player part, tag and class (and the
    frame carrying ``data-mpvid``) names "video", "iframe", "audio" or "music". (Most bodies hold
    none: four scans cost ~0.3 ms a body, a regex over all the class names ~2 ms.)"""
    return any(word in body_html for word in ("video", "iframe", "audio", "music"))


def videos(root: etree._Element, marked: bool = True) -> list[etree._Element]:
    """The video elements under ``root``, in document order; ``marked=False``: the body names no
    video class or id, so only the player tags are looked for (a walk in C)."""
    if not marked:
        return list(root.iter(*VIDEO_TAGS))
    return [el for el in _VIDEOS(root) if is_video(el)]


def video_key(el: etree._Element) -> str:
    """What names the video an element shows: its WeChat id, else its source."""
    vid = el.get("data-mpvid") or el.get("vid") or ""
    if not vid:
        m = _WXV.search(el.get("data-src") or el.get("src") or "")
        vid = m.group(1) if m else ""
    return vid or (el.get("data-src") or el.get("src") or "").strip()


def _owned_video(el: etree._Element) -> etree._Element | None:
    """The first WeChat video element inside a player part (not a bare ``<video>`` the player drew)."""
    for d in el.iterdescendants():
        if isinstance(d.tag, str) and (d.get("data-mpvid") or "video_iframe" in _classes(d)):
            return d
    return None


class _Card(NamedTuple):
    """A media card WeChat draws beside (or in place of) its media element, and how to read it back."""

    classes: frozenset[str]
    tag: str  # the media element it stands for
    name_attr: str
    label_classes: tuple[str, ...]  # the card's title, then its second line (a singer)
    second_attr: str = ""


CARDS = (
    _Card(frozenset(("js_audio_frame", "share_audio_context", "audio_card")), "mpvoice", "name",
          ("share_audio_title", "audio_card_title")),
    _Card(frozenset(("qqmusic_area",)), "qqmusic", "music_name", ("qqmusic_songname", "qqmusic_singername"),
          "singer"),
)
_MEDIA_TAGS = ("mpvoice", "mp-common-mpaudio", "qqmusic", "mp-common-qqmusic")


def _label(frame: etree._Element, cls: str) -> str:
    for t in frame.iter():
        if isinstance(t.tag, str) and cls in _classes(t):
            return " ".join(text_content(t).split())
    return ""


def _media_from_card(frame: etree._Element, card: _Card, known: set[str]) -> etree._Element | None:
    """A card whose media element is gone, as that element (file id, title; a song's singer); None when
    the page still has the element (``known``: its file ids and titles) or the card names nothing."""
    if any(isinstance(a.tag, str) and a.tag in _MEDIA_TAGS for a in frame.iterancestors()):
        return None
    fid = next((m.group(1) for m in (_VOICE_ID.match(e.get("id") or "") for e in frame.iter()
                                     if isinstance(e.tag, str)) if m), "") if card.tag == "mpvoice" else ""
    title = _label(frame, card.label_classes[0])
    if card.tag == "mpvoice" and not title:
        title = _label(frame, card.label_classes[1])
    if (not fid and not title) or (fid and fid in known) or (not fid and title in known):
        return None
    el = Element(card.tag)
    if fid:
        el.set("voice_encode_fileid", fid)
    if title:
        el.set(card.name_attr, title)
    second = _label(frame, card.label_classes[1]) if card.second_attr else ""
    if second:
        el.set(card.second_attr, second)
    known.update(x for x in (fid, title) if x)
    return el


def _known_media(root: etree._Element) -> set[str]:
    """File ids and titles of the media elements a body holds."""
    out: set[str] = set()
    for el in root.iter(*_MEDIA_TAGS):
        for attr in ("voice_encode_fileid", "name", "music_name", "data-music_name"):
            if el.get(attr):
                out.add(" ".join(el.get(attr, "").split()))
    return out


def _said(el: etree._Element) -> str:
    return " ".join(text_content(el).split())


def drop_chrome(root: etree._Element) -> Removed:
    """Remove the players' UI; a video element inside a removed part is kept in its place.
    Returns what a reader would have read of each removed part."""
    parts = [el for el in _CLASSED(root) if _is_chrome(el)]
    removed: Removed = []
    if not parts:
        return removed
    known = _known_media(root)
    for el in parts:
        parent = el.getparent()
        if parent is None or not any(a is root for a in el.iterancestors()):
            continue  # inside a part removed already
        keep = _owned_video(el) if not is_video(el) else None
        card = next((c for c in CARDS if not c.classes.isdisjoint(_classes(el))), None)
        if keep is None and card is not None:
            keep = _media_from_card(el, card, known)
        if is_video(el) and keep is None:
            continue  # a video element with a chrome class is still the video
        if keep is not None and keep.getparent() is not None:
            keep.getparent().remove(keep)
        said = _said(el)
        if keep is not None:
            keep.tail = el.tail
            parent.replace(el, keep)
        else:
            drop_tree(el)
        if said:
            removed.append((PLAYER_UI, said))
    return removed


def drop_repeated_videos(root: etree._Element) -> None:
    """A video element repeating the one just before it, with no text or picture between, is the same
    player again (post-JS copies nest the frame in each wrapper the player drew): one stays."""
    if len(videos(root)) < 2:
        return
    repeats = []
    last, content = None, False
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if not isinstance(el.tag, str):
            continue
        if event == "end":
            content = content or bool(el.tail and el.tail.strip())
            continue
        if is_video(el):
            key = video_key(el)
            if key and key == last and not content:
                repeats.append(el)
            elif key:
                last, content = key, False
            walker.skip_subtree()
            continue
        if el.tag == "img" or (el.text and el.text.strip()):
            content = True
    for el in repeats:
        if el.getparent() is not None:
            drop_tree(el)


# ---- an editor's scroll box -----------------------------------------------------------------------

_HINT = re.compile(r"^(?:向上|向下|上下|左右|向左|向右|往上|往下|往左|往右|上|下|左|右)?(?:滑动|滚动|滑)"
                   r"(?:阅览|查看|阅读|浏览|看)(?:更多|全文)?$")
_SCROLLS = re.compile(r"overflow(?:-[xy])?\s*:\s*(?:auto|scroll)", re.I)
_HINT_REACH = 4  # how many levels up a hint may sit from the box it is about


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _scroll_box_near(el: etree._Element, root: etree._Element) -> bool:
    """A box that scrolls shares a container with ``el``, a few levels up and below the body itself
    (anywhere in the body would be any code block's ``overflow-x: auto``)."""
    anc = el
    for _ in range(_HINT_REACH):
        parent = anc.getparent()
        if parent is None or parent is root:
            return False
        anc = parent
        if any(_SCROLLS.search(d.get("style") or "") for d in anc.iter() if isinstance(d.tag, str)):
            return True
    return False


def drop_scroll_hints(root: etree._Element) -> Removed:
    """Remove a scroll hint ("向上滑动阅览", "左右滑动查看更多") set beside a box that scrolls.

    The words alone are not enough (an article may say them): a box with ``overflow: auto/scroll``
    must sit within a few levels. The hint's icon, a picture, stays.
    """
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.text or not ("滑" in el.text or "滚" in el.text):
            continue
        if not _HINT.match(_bare(el.text)):
            continue
        top = el  # the outermost element holding only the hint (no picture)
        while True:
            parent = top.getparent()
            if parent is None or parent is root or parent.find(".//img") is not None \
                    or not _HINT.match(_bare(text_content(parent))):
                break
            top = parent
        if _HINT.match(_bare(text_content(top))) and _scroll_box_near(top, root):
            found.append(top)
    removed: Removed = []
    for el in found:
        if el.getparent() is not None:
            removed.append((SCROLL_HINT, _said(el)))
            drop_tree(el)
    return removed
