"""Which pictures belong to the footer: decisions about images only, made after the text's.

The text rules (:mod:`wxarchive.extract.boilerplate`) decide which blocks at the tail are the
account's footer. A picture the reader would see as part of that footer goes with it:

- below the footer: an image block after a footer block, with none of the author's text after it
  (QR codes, follow banners and posters under a share plea or a copyright notice), unless the
  block above it is a sign-off (credits, END): a closing logo of the author's may follow those;
- beside a footer block: a divider or a thin banner right next to it, a divider that opens an
  image run just above it, the picture right above "长按识别二维码" (the code), an animated pointer
  (GIF) right above a follow or read-more prompt;
- in the footer's box: an avatar- or QR-shaped picture sharing with a footer block an element that
  holds none of the author's text (the account card: avatar, name, ID), a short name line the text
  rules keep right beside the card's ID line counting as the card's;
- linked cards: a run of image-only blocks after the author's last words holding a picture that
  links elsewhere (covers of other articles, an ad), from its first card, divider or GIF on;
- a closing banner: a thin picture or a banner-shaped GIF that ends the body;
- a head promo: linked pictures before the author's first words;
- a learned picture: one that stayed at the tail of several posts of the account (see :func:`tail_tokens`);
- uploaded with the footer: a picture next to a footer picture that came from the same upload (the
  WeChat media id says so, see :func:`upload_of`) while every picture the author kept came from others
  (a follow banner saved once with its pointer GIF, reused under each post).

Every rule needs position (the tail or head, after or before the author's last or first words)
and a second signal (a footer block beside it, a link, the picture's shape). A picture between two
paragraphs of the author's text is never touched, and a plain photo that ends an article stays.

The shapes (height/width ratio, GIF or not) are read from the ``<img>`` attributes WeChat's editor
writes (``data-ratio``, ``data-w``, ``data-type``, inline width and height) before the cleaner drops
them: a saved page has no picture bytes to measure.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable

from lxml import etree

__all__ = ["BELOW", "BESIDE", "BOXED", "CARDS", "CLOSING", "HEAD_PROMO", "LEARNED", "REASONS", "SAME_UPLOAD", "Shape",
           "decide", "shape_of", "tail_tokens", "thin_images", "token", "upload_of"]

BELOW = "image below the footer (QR code, banner, poster)"
BESIDE = "divider, banner or pointer GIF beside a footer block"
CARDS = "linked image cards after the article (other articles, ads)"
BOXED = "image in the footer's own box (avatar, QR code)"
CLOSING = "closing banner after the article"
HEAD_PROMO = "linked promo image before the article"
LEARNED = "learned account footer picture"
SAME_UPLOAD = "picture uploaded with the footer's pictures"
REASONS = frozenset((BELOW, BESIDE, BOXED, CARDS, CLOSING, HEAD_PROMO, LEARNED, SAME_UPLOAD))
IMAGE_TOKEN = "[image] "
_MEDIA_ID = re.compile(r"/(?:mmbiz_\w+|sz_mmbiz_\w+|mmbiz)/([A-Za-z0-9_-]{16,})/")

THIN = 0.15          # height/width at or under this: a divider or a strip banner, not a photo
BANNER_GIF = 0.35    # an animated picture this flat is a follow/"more" banner, not a clip
_PX = re.compile(r"(?<![-\w])(width|height)\s*:\s*([\d.]+)px", re.I)
_GIF_URL = re.compile(r"mmbiz_gif|wx_fmt=gif|\.gif(?:$|[?#])", re.I)


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What a picture's attributes say about it: ``ratio`` is height/width (None: unknown)."""
    ratio: float | None = None
    gif: bool = False

    @property
    def thin(self) -> bool:
        return self.ratio is not None and 0 < self.ratio <= THIN

    @property
    def banner_gif(self) -> bool:
        return self.gif and self.ratio is not None and 0 < self.ratio <= BANNER_GIF


def shape_of(img: etree._Element, url: str) -> Shape:
    """The shape of an ``<img>`` from ``data-ratio`` (else its inline pixel size) and its type."""
    ratio = _number(img.get("data-ratio"))
    if ratio is None:
        px = {k.lower(): _number(v) for k, v in _PX.findall(img.get("style") or "")}
        w, h = px.get("width"), px.get("height")
        if w and h:
            ratio = h / w
    gif = "gif" in (img.get("data-type") or "").lower() or bool(_GIF_URL.search(url))
    return Shape(ratio, gif)


def thin_images(el: etree._Element, shapes: dict[str, Shape]) -> list[etree._Element]:
    """The dividers and strip banners inside ``el`` (a masthead keeps its other pictures: one may be the cover)."""
    return [img for img in el.iter("img") if shapes.get(img.get("src") or "", Shape()).thin]


def _number(v: str | None) -> float | None:
    try:
        f = float(v) if v else None
    except ValueError:
        return None
    return f if f is not None and 0 < f < 1000 else None


QR_PROMPT = "QR-code follow prompt"
# The footer blocks an animated picture right above points at (▼ 长按关注, 点击阅读原文, 往期推荐).
POINTED_AT = frozenset(("QR-code follow prompt", "follow prompt", "read-more prompt", "pointer ornament",
                        "recommended-articles list"))


# Footer blocks that say little about the pictures near them: a sign-off (credits, END) may be
# followed by a closing logo or photo of the author's, and an ornament is no account's footer.
SIGN_OFF = frozenset(("editor/reviewer credit", "editor/reviewer credits", "staff credits", "END ornament",
                      "divider ornament", "pointer ornament"))


@dataclasses.dataclass(slots=True)
class _Body:
    """The body's leaf blocks as the image rules see them."""
    leaves: list[etree._Element]
    texts: list[str]
    doomed: dict[int, str]
    shapes: dict[str, Shape]
    is_footer: Callable[[int], bool]

    def image(self, i: int) -> bool:
        return not self.texts[i] and i not in self.doomed and next(self.leaves[i].iter("img"), None) is not None

    def blank(self, i: int) -> bool:
        """A block with neither text nor a live picture (an empty line, a picture already gone)."""
        return not self.texts[i] and not self.image(i)

    def kept_text(self, i: int) -> bool:
        return bool(self.texts[i]) and i not in self.doomed

    def imgs(self, i: int) -> list[etree._Element]:
        return list(self.leaves[i].iter("img"))

    def all_imgs(self, i: int, test: Callable[[Shape], bool]) -> bool:
        return all(test(self.shapes.get(img.get("src") or "", Shape())) for img in self.imgs(i))

    def linked(self, i: int) -> bool:
        """Every picture of the block sits in a link to a web page (a card, an ad)."""
        return all(any((a.get("href") or "").startswith(("http://", "https://")) for a in img.iterancestors("a"))
                   for img in self.imgs(i))

    def decoration(self, i: int) -> bool:
        return self.all_imgs(i, lambda s: s.thin or s.gif)


def decide(leaves: list[etree._Element], texts: list[str], doomed: dict[int, str],
           shapes: dict[str, Shape], is_footer: Callable[[int], bool],
           learned: frozenset[str] = frozenset()) -> dict[int, str]:
    """The image blocks that go with the footer, with the reason for each.

    ``doomed`` holds the text decisions already made; ``is_footer(i)`` says whether doomed block
    ``i`` is account footer (not page UI or a head prompt). ``learned`` holds the account's learned
    footer blocks: a picture's :func:`tail_tokens` token in it marks the account's own footer picture.
    """
    b = _Body(leaves, texts, doomed, shapes, is_footer)
    kept = [i for i in range(len(texts)) if b.kept_text(i)]
    if not kept:
        return {}
    first, last = kept[0], kept[-1]
    out: dict[int, str] = {}
    _below(b, last, out)
    _beside(b, out)
    _boxed(b, out)
    _cards(b, last, out)
    _closing(b, out)
    _head_promo(b, first, out)
    if learned:
        _learned(b, last, learned, out)
    _same_upload(b, last, out)
    return out


def _footer_text(b: _Body, i: int) -> bool:
    return bool(b.texts[i]) and i in b.doomed and b.is_footer(i)


def _below(b: _Body, last: int, out: dict[int, str]) -> None:
    """Image blocks after a footer block that has none of the author's text after it, unless the
    nearest footer block above them is a sign-off (a closing logo may follow the credits)."""
    above: str | None = None
    for i in range(last + 1, len(b.texts)):
        if _footer_text(b, i):
            above = b.doomed[i]
        elif above is not None and above not in SIGN_OFF and b.image(i):
            out.setdefault(i, BELOW)


RUN_MAX = 6  # a footer's pictures are a few: a longer run of pictures next to it is the author's gallery


def _run(b: _Body, j: int, step: int) -> list[int]:
    """The image blocks next to block ``j`` (above: step -1, below: +1), nearest first, over blank blocks."""
    out: list[int] = []
    k = j + step
    while 0 <= k < len(b.texts) and not b.texts[k] and len(out) < RUN_MAX:
        if b.image(k):
            out.append(k)
        k += step
    return out


def _beside(b: _Body, out: dict[int, str]) -> None:
    """Dividers and thin banners touching a footer block; the run below a divider right above it;
    the picture right above a QR-code prompt; a GIF right above a prompt it points at."""
    for j in range(len(b.texts)):
        if not _footer_text(b, j):
            continue
        above = _run(b, j, -1)   # nearest first
        thin = [k for k in above if b.all_imgs(k, lambda s: s.thin)]
        if thin:
            out.update({k: BESIDE for k in above if k >= thin[-1] and k not in out})
        elif b.doomed[j] == QR_PROMPT and above:
            out.setdefault(above[0], BESIDE)  # "长按识别二维码" under a picture: the picture is the code
        if b.doomed[j] in POINTED_AT:
            for k in above:
                if not b.all_imgs(k, lambda s: s.gif):
                    break
                out.setdefault(k, BESIDE)
        for k in _run(b, j, 1):
            if not b.all_imgs(k, lambda s: s.thin):
                break
            out.setdefault(k, BESIDE)


def _boxed(b: _Body, out: dict[int, str]) -> None:
    """Image blocks right above or below a footer block that share a box with it holding no
    text of the author's: an avatar beside the account's name, a QR code in the follow card.

    An account card's name line (a short line the text rules keep, as they keep a signature)
    right above or below its ID line is part of the card: the avatar beyond it goes too."""
    kept = {leaf for i, leaf in enumerate(b.leaves) if b.kept_text(i)}
    clean_box: dict[etree._Element, list[etree._Element]] = {}
    for j in range(len(b.texts)):
        if not _footer_text(b, j) or b.doomed[j] in SIGN_OFF:
            continue
        for k in _run(b, j, -1) + _run(b, j, 1):
            if k not in out and b.all_imgs(k, _badge) and _footer_box(b, k, j, kept, clean_box):
                out[k] = BOXED
        for n in _card_names(b, j):
            step = -1 if n < j else 1
            for k in _run(b, n, step):
                if k not in out and b.all_imgs(k, _badge) and _footer_box(b, k, j, kept, clean_box, b.leaves[n]):
                    out[k] = BOXED


CONTACT = "account ID/contact line"
NAME_MAX = 12  # an account's or a person's name, not a sentence of the author's


def _card_names(b: _Body, j: int) -> list[int]:
    """The kept line right above or below ID line ``j`` in the same container: the card's name."""
    if b.doomed[j] != CONTACT:
        return []
    parent = b.leaves[j].getparent()
    return [n for n in (j - 1, j + 1)
            if 0 <= n < len(b.texts) and b.kept_text(n) and len(b.texts[n]) <= NAME_MAX
            and not _SENTENCE.search(b.texts[n]) and b.leaves[n].getparent() is parent]


_SENTENCE = re.compile(r"[，。！？；,.!?;]")


def _badge(s: Shape) -> bool:
    """Avatar or QR-code shaped (about square), or a divider or GIF: never a photo or a comic panel."""
    return s.thin or s.gif or (s.ratio is not None and 0.8 <= s.ratio <= 1.25)


def _footer_box(b: _Body, k: int, j: int, kept: set[etree._Element],
                memo: dict[etree._Element, list[etree._Element]], name: etree._Element | None = None) -> bool:
    """Whether the smallest element holding leaves ``k`` and ``j`` holds none of the author's text
    (but the card's ``name`` line, when given)."""
    up = set(b.leaves[j].iterancestors())
    box = next((a for a in b.leaves[k].iterancestors() if a in up), None)
    if box is None or box.getparent() is None:
        return False  # the body itself
    if box not in memo:  # the first two kept leaves in the box: one walk per box
        memo[box] = list(itertools.islice((el for el in box.iter() if el in kept), 2))
    return all(el is name for el in memo[box])


def _cards(b: _Body, last: int, out: dict[int, str]) -> None:
    """After the author's last words, a run of pictures holding a linked card goes from its
    first card, divider or GIF on (the dividers and banners frame the cards)."""
    run = [i for i in range(last + 1, len(b.texts)) if b.image(i)]
    if not any(b.linked(i) for i in run):
        return
    start = next(i for i in run if b.linked(i) or b.decoration(i))
    out.update({i: CARDS for i in run if i >= start and i not in out})


def _closing(b: _Body, out: dict[int, str]) -> None:
    """The body's last blocks, when they are pictures only and thin or banner-shaped GIFs."""
    for i in range(len(b.texts) - 1, -1, -1):
        if b.blank(i):
            continue
        if not b.image(i) or not b.all_imgs(i, lambda s: s.thin or s.banner_gif):
            return
        out.setdefault(i, CLOSING)


def _learned(b: _Body, last: int, learned: frozenset[str], out: dict[int, str]) -> None:
    """After the author's last words, a picture that stayed at the tail of several of the account's
    posts (its QR code, its follow poster) is the account's footer."""
    for i in range(last + 1, len(b.texts)):
        if b.image(i) and i not in out:
            tokens = [token(img.get("src") or "") for img in b.imgs(i)]
            if tokens and all(t and t in learned for t in tokens):
                out[i] = LEARNED


# Footer pictures another picture may be recognised by: the account's own assets, not covers of other
# articles (a cover shares its upload with that article's photos, which the author may reuse).
_ASSET = frozenset((BELOW, BESIDE, BOXED, CLOSING, LEARNED))
UPLOAD_PREFIX = 24  # leading characters of a media id that one upload shares (see upload_of)


def upload_of(src: str) -> str:
    """The upload a picture came from: the first characters of its WeChat media id, "" when unknown.

    The pictures of one upload share 32 or more leading characters of their ids; pictures of one
    account from different uploads share only the account's 10 to 13 (measured over the 57 corpus
    pages: no pair of ids in between). A footer's banner, QR code and GIF were uploaded once, when the
    account made its footer, and come back under every post; the post's own photos come from its own
    uploads.
    """
    m = _MEDIA_ID.search(src)
    return m.group(1)[:UPLOAD_PREFIX] if m and len(m.group(1)) >= 32 else ""


def _same_upload(b: _Body, last: int, out: dict[int, str]) -> None:
    """After the author's last words, a picture in one stretch of pictures with a footer picture (no
    text between them) goes when it came from that picture's upload and none of the pictures kept
    elsewhere in the post did (and some were kept: a post whose only photo shares the footer's upload
    says nothing about it)."""
    seeds = {i for i in range(last + 1, len(b.texts)) if not b.texts[i] and _asset(b, i, out)}
    if not seeds:
        return
    stretch: set[int] = set()
    for j in seeds:
        for step in (-1, 1):
            k = j + step
            while last < k < len(b.texts) and not b.texts[k]:
                if b.image(k) and k not in out:
                    stretch.add(k)
                k += step
    if not stretch:
        return
    footer = {u for j in seeds for img in b.imgs(j) if (u := upload_of(img.get("src") or ""))}
    authors = {upload_of(img.get("src") or "") for i in range(len(b.texts))
               if i not in stretch and i not in out and i not in b.doomed for img in b.imgs(i)}
    authors.discard("")
    if not authors:
        return
    for k in sorted(stretch):
        ups = [upload_of(img.get("src") or "") for img in b.imgs(k)]
        if ups and all(u and u in footer and u not in authors for u in ups):
            out[k] = SAME_UPLOAD


def _asset(b: _Body, i: int, out: dict[int, str]) -> bool:
    """A tail block of pictures already gone as the account's own footer picture (not a linked card)."""
    if i in out:
        return out[i] in _ASSET
    return i in b.doomed and next(b.leaves[i].iter("img"), None) is not None and not any(
        a.get("href") for img in b.imgs(i) for a in img.iterancestors("a"))


def tail_tokens(leaves: list[etree._Element], texts: list[str]) -> tuple[str, ...]:
    """A token for each picture of the image-only blocks among ``leaves``: learned like the texts of
    an account's tail blocks, so a footer picture the rules leave is known from the account's posts."""
    out: list[str] = []
    for el, t in zip(leaves, texts, strict=True):
        if not t:
            out.extend(tok for img in el.iter("img") if (tok := token(img.get("src") or "")))
    return tuple(out)


def token(src: str) -> str:
    """``[image] <media id>``: one picture whatever its URL variant (size, query); "" without an id."""
    m = _MEDIA_ID.search(src)
    return IMAGE_TOKEN + m.group(1) if m else ""


def _head_promo(b: _Body, first: int, out: dict[int, str]) -> None:
    """Linked pictures before the author's first words: an ad or a card to another article."""
    for i in range(first):
        if b.image(i) and b.linked(i):
            out.setdefault(i, HEAD_PROMO)
