"""Boilerplate and footer rules, as data, applied only at the head or tail of a body.

Each rule is a pattern and the reason it exists. ``strip(root)`` removes
matching leaf blocks from the tail (and a few from the head) and returns
the texts it removed, so nothing goes silently. A block in the middle of an
article is never touched: scanning stops at the first block that is content.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from . import footimg
from .htmltree import drop_tree, text_content

__all__ = ["HEAD_RULES", "SECTION_MARKERS", "STRONG_TAIL_RULES", "TAIL_RULES", "UI_RULES", "strip", "tail_images",
           "tail_texts"]

# A block that starts a trailing list of links: it and everything after it goes.
SECTION_MARKERS: tuple[tuple[str, str], ...] = (
    (r"^(往期|近期|历史|更多|相关|精彩|热门|猜你|延伸)?(推荐|精选|回顾|文章|阅读|好文|热文)(阅读|推荐|回顾|文章)?$", "recommended-articles header"),
    (r"^(往期精彩|往期回顾|往期推荐|近期文章|推荐阅读|热文回顾|精彩回顾|相关阅读|延伸阅读|更多精彩|猜你喜欢|近期热文|热文推荐)", "recommended-articles header"),
    (r"^RECOMMEND$|^READ MORE$|^Recommended", "recommended-articles header (English)"),
    (r"^【[^】]{0,12}(好文|推荐|精选|回顾)】$", "recommended-articles header in brackets"),
    (r"^点击下方(图片|卡片|链接)阅读", "recommended-articles pointer"),
)

# Whole blocks that are account boilerplate when they stand at the tail.
TAIL_RULES: tuple[tuple[str, str], ...] = (
    (r"(长按|扫描|扫码|识别).{0,12}(二维码|关注|加)", "QR-code follow prompt"),
    (r"(点击|关注).{0,6}(蓝字|上方|下方).{0,10}关注", "follow prompt"),
    (r"^关注.{0,20}关注.{0,10}$", "account slogan (关注X 关注Y)"),
    (r"^(关注|欢迎关注)(我们|本号|公众号)", "follow prompt"),
    (r"^[(（]?\s*(编辑|责编|责任编辑|审核|审校|校对|撰稿|审稿|终审|二审|一审|初审|监制|制图|剪辑|美编|排版|值班编辑)\s*[:：|丨｜/ ]", "editor/reviewer credit"),
    (r"(编辑|审核|责编|校对)\s*[:：|丨｜].{0,20}(编辑|审核|责编|校对)\s*[:：|丨｜]", "editor/reviewer credits"),
    (r"投稿(邮箱|信箱|请|地址|方式)|投稿\s*[:：|丨｜]|小编微信|合作联系|商务合作|联系我们\s*[:：]|转载请|申请文章授权|违规转载|授权转载",
     "contact/submission/reprint notice"),
    (r"(分享|转发).{0,6}(朋友圈|好友)|点.{0,3}(在看|赞)|(在看|点赞|星标)", "share/like prompt"),
    (r"阅读原文", "read-more prompt"),
    (r"^(END|THE END|- END -|—\s*END\s*—|完)$", "END ornament"),
    (r"^[-—–_=·•*~\s]{3,}$", "divider ornament"),
    (r"知识星球|添加.{0,6}(微信|好友).{0,6}(报名|进群|领取)|拉你进|进群|交流群", "sign-up promo"),
    (r"(满意度|民意调查).{0,40}(电话|评价)|十分满意", "survey plea"),
    (r"经过.{0,10}(重新编排|编辑整理)|本文(由|经).{0,20}(编排|整理)", "re-edit notice"),
    (r"(领取|获取).{0,10}(资料|源码|福利)|收不到.{0,10}推送|不标星", "follow/bonus plea"),
    (r"^发送消息|发送(消息|关键词)[:：]", "follow/bonus plea"),
    (r"(本栏目|新推出的).{0,20}栏目|^Talk is cheap", "column slogan"),
    (r"所剩不多|要拿下|^晚上加班", "promo"),
    (r"版权(声明|所有|归)|本文版权|未经.{0,8}(授权|许可|同意).{0,12}(转载|使用|摘编|复制)|转载.{0,8}(联系|授权|注明)|"
     r"(合作|转载).{0,3}请?联系", "copyright/reprint notice"),
    (r"^\W{0,3}(微信|微信号|公众号|微信公众号|ID|QQ|QQ群|邮箱|E-?mail)\s*[:：]|[(（]\s*ID\s*[:：]", "account ID/contact line"),
    (r"感谢(你|您|大家)?的?(看到这里|阅读|关注|点赞|分享|支持|转发)|谢谢(你|您|大家)?的?(阅读|关注|支持)", "thank-you plea"),
    (r"^\W{0,4}(关注|欢迎关注)(我们|本号|公众号)", "follow prompt"),
    (r"付费|购买.{0,8}课程|课程.{0,6}(上线|报名|购买)|报名|优惠|原价|限时|私信我|备注「|\d+\s*元\s*/\s*人|训练营|"
     r"(正式)?上线(啦|了)", "paid product/course promo"),
    (r"^[▼▲↓⬇👇︾⇩]+$", "pointer ornament"),
    (r"^(还有一个)?好消息[！!]?$|^(广告|推广|福利)[:：]?$", "promo lead"),
    (r"^[(（]?\s*(本篇)?(作者|文|图|图源|图片|主编|执行主编|统筹|策划|出品|视觉|设计|摄影|排版|编辑|责任编辑|美编|校对|审核)"
     r"\s*[:：|丨｜/]\s*\S{1,20}\s*[|丨｜/]", "staff credits"),
)

# Tail blocks that are boilerplate wherever they stand in the tail zone, not only in an unbroken run
# (a sponsor's video or a closing picture may sit after them).
STRONG_TAIL_RULES: tuple[tuple[str, str], ...] = (
    (r"(责任编辑|责编|审核|审校|校对|^编辑)\s*[:：|丨｜]", "editor/reviewer credit"),
    (r"本文版权|未经.{0,8}(授权|许可|同意).{0,12}(转载|使用|摘编|复制)", "copyright notice"),
)

# Whole blocks that are the page's own UI, wherever they stand.
UI_RULES: tuple[tuple[str, str], ...] = (
    (r"^(向上|上下|向左|左右)滑动(阅览|查看|阅读|看更多)?$", "scroll hint"),
    (r"^(已关注|关注|Replay|Share|Like|分享|视频加载失败，请刷新页面再试|Video Player is loading\.?)$",
     "video player UI text"),
)

HEAD_RULES: tuple[tuple[str, str], ...] = (
    (r"(点击|关注).{0,8}(蓝字|上方|标题下).{0,10}(关注|订阅)", "follow prompt at the head"),
    (r"^[(（]?\s*(编辑|责编|责任编辑|审核|审校|校对|值班编辑)\s*[:：|丨｜]", "editor credit at the head"),
    (r"^(关注|欢迎关注).{0,20}$", "follow prompt at the head"),
    (r"^(设为)?星标", "star prompt at the head"),
)



def _rule(pattern: str) -> re.Pattern[str]:
    """Compile a rule, case-blind only when it has Latin letters: IGNORECASE makes Python fold every
    character of a CJK pattern at compile time, which doubled the start-up cost of these rules."""
    latin = re.search(r"[A-Za-z]", re.sub(r"\\.", "", pattern))
    return re.compile(pattern, re.I if latin else 0)


_SECTION = [_rule(p) for p, _ in SECTION_MARKERS]
_SECTION_LEAD = re.compile(r"^(往期推荐|推荐阅读|往期回顾|往期精彩|近期文章|热文回顾|相关阅读|延伸阅读|精彩推荐)\s*[:：|丨｜]")
_QR = _rule(r"二维码|扫码|长按|识别|关注|follow")
_TAIL = [(_rule(p), why) for p, why in TAIL_RULES]
_STRONG = [(_rule(p), why) for p, why in STRONG_TAIL_RULES]
_UI = [(_rule(p), why) for p, why in UI_RULES]
_MASTHEAD = _rule(r"^\W{0,3}(公众号|微信公众号|微信号|ID)\s*[:：]|[(（]\s*ID\s*[:：]")
_LONG_OK = frozenset(("copyright/reprint notice", "contact/submission/reprint notice", "account ID/contact line"))
_SENTENCE = re.compile(r"[。！？!?；;，,]")
_HEAD = [(_rule(p), why) for p, why in HEAD_RULES]
_LEAF_TAGS = frozenset(["p", "div", "blockquote", "pre", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "table", "ul", "ol", "hr"])
_MAX_FOOTER_CHARS = 160


def _key(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


_LIST_TAGS = frozenset(("ul", "ol", "table", "pre"))
_LIST_OR_ITEM = _LIST_TAGS | {"li"}


def _leaves(root: etree._Element) -> list[etree._Element]:
    """Blocks with no block inside, plus lone images, in document order.

    Which elements hold a leaf-tag block is found in one bottom-up pass, and what
    each element sits inside in one top-down pass (the list keeps lxml's proxies
    alive, so sets and dicts can hold them): a descendant walk per image was
    quadratic on a section of thousands of images, an ancestor walk per element
    cost ~1 ms an article.
    """
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    holds_leaf: set[etree._Element] = set()
    for el in reversed(elements):
        for child in el:
            if child in holds_leaf or (isinstance(child.tag, str) and child.tag in _LEAF_TAGS):
                holds_leaf.add(el)
                break
    out = []
    # per element: (inside ul/ol/table/pre, inside those or li, inside a leaf-tag block holding no leaf)
    inside = {root: _inside(root.iterancestors(), holds_leaf)}
    for el in elements:
        if el is root:
            continue
        parent = el.getparent()
        listed, itemed, in_leaf = inside[parent]
        t = parent.tag
        inside[el] = (listed or t in _LIST_TAGS, itemed or t in _LIST_OR_ITEM,
                      in_leaf or (t in _LEAF_TAGS and parent not in holds_leaf))
        if el.tag in _LIST_TAGS:
            if not inside[el][1]:
                out.append(el)
            continue
        if inside[el][0]:
            continue
        if el.tag in _LEAF_TAGS and el not in holds_leaf or el.tag == "img" and not inside[el][2]:
            out.append(el)
    return out


def _inside(ancestors: Iterable[etree._Element], holds_leaf: set[etree._Element]) -> tuple[bool, bool, bool]:
    listed = itemed = in_leaf = False
    for a in ancestors:
        listed = listed or a.tag in _LIST_TAGS
        itemed = itemed or a.tag in _LIST_OR_ITEM
        in_leaf = in_leaf or (a.tag in _LEAF_TAGS and a not in holds_leaf)
    return listed, itemed, in_leaf


def _is_image_block(el: etree._Element, text: str) -> bool:
    return not text and (el.tag == "img" or el.find(".//img") is not None)


def tail_texts(root: etree._Element, n: int = 8) -> tuple[str, ...]:
    """The texts of the last ``n`` short blocks: candidates for an account's learned footer."""
    texts = [_key(text_content(el)) for el in _leaves(root)[-n:]]
    return tuple(t for t in texts if 0 < len(t) <= _MAX_FOOTER_CHARS)


LEARNED = "learned account footer"
SECTION = "recommended-articles list"
FOOTER_IMAGE = "image inside the footer (QR code, banner)"
EMPTY = "empty block in the footer"


def _reason(t: str, rules: list[tuple[re.Pattern[str], str]]) -> str | None:
    for r, why in rules:
        if r.search(t):
            return why
    return None


def strip(root: etree._Element, learned: frozenset[str] = frozenset(),
          account: str = "", shapes: dict[str, footimg.Shape] | None = None) -> tuple[tuple[str, str], ...]:
    """Remove head/tail boilerplate in place; return ``(reason, text)`` for each removed block.

    ``learned`` holds blocks seen at the tail of three or more posts of the same
    account: they count as footer like a rule match. ``account`` is the
    account's name: a short tail block that starts with it is its signature.
    ``shapes`` maps image URLs to their shapes (see :mod:`wxarchive.footimg`); None: no picture goes
    for being near the footer (a picture post's pictures are the post).
    """
    leaves = _leaves(root)
    if not leaves:
        return ()
    texts = [_key(text_content(el)) for el in leaves]
    total = sum(len(t) for t in texts) or 1
    doomed: dict[int, str] = {}
    _ui_blocks(texts, doomed)
    _section(texts, total, doomed)
    _tail(leaves, texts, total, learned, doomed, _key(account))
    _strong_tail(texts, total, doomed)
    _head(leaves, texts, doomed)
    if shapes is not None:
        _footer_images(leaves, texts, doomed, shapes, learned)
    # never strip everything
    if not any(texts[k] for k in range(len(leaves)) if k not in doomed):
        return ()
    removed: list[tuple[str, str]] = []
    for k in sorted(doomed):
        el = leaves[k]
        if el.getparent() is None:
            continue
        if doomed[k] == MASTHEAD and el.find(".//img") is not None:
            removed.extend(_drop_dividers(el, shapes or {}))
            _keep_images_only(el)  # a masthead's banner picture may be the article's cover
        else:
            drop_tree(el)
        removed.append((doomed[k], texts[k] if texts[k] else "[image]"))
    return tuple(removed)


MASTHEAD = "account masthead (slogan, name and ID at the head)"
BETWEEN = "between footer blocks"
SIGNATURE = "account signature"
SLOGAN = "account slogan beside the QR code"
EXTRA_REASONS = frozenset((MASTHEAD, BETWEEN, SIGNATURE, SLOGAN)) | footimg.REASONS


_NOT_FOOTER = frozenset(why for _, why in UI_RULES + HEAD_RULES) | {MASTHEAD, EMPTY, FOOTER_IMAGE} | footimg.REASONS


def _footer_images(leaves: list[etree._Element], texts: list[str], doomed: dict[int, str],
                   shapes: dict[str, footimg.Shape], learned: frozenset[str]) -> None:
    """Pictures that go with the footer the text rules found (see :mod:`wxarchive.footimg`)."""
    def is_footer(i: int) -> bool:
        return doomed[i] not in _NOT_FOOTER
    doomed.update(footimg.decide(leaves, texts, doomed, shapes, is_footer, learned))


def tail_images(root: etree._Element, n: int = 8) -> tuple[str, ...]:
    """Tokens of the pictures among the last ``n`` blocks: learned with :func:`tail_texts`."""
    leaves = _leaves(root)[-n:]
    return footimg.tail_tokens(leaves, [_key(text_content(el)) for el in leaves])


def _drop_dividers(el: etree._Element, shapes: dict[str, footimg.Shape]) -> list[tuple[str, str]]:
    """A masthead's dividers and strip banners go with its text."""
    gone = footimg.thin_images(el, shapes)
    for img in gone:
        drop_tree(img)
    return [(footimg.BESIDE, "[image]") for _ in gone]


def _keep_images_only(el: etree._Element) -> None:
    imgs = list(el.iter("img"))
    for ch in list(el):
        drop_tree(ch) if ch.tag != "img" else None
    el.text = None
    for img in imgs:
        img.tail = None
        if img.getparent() is None:
            el.append(img)


def _ui_blocks(texts: list[str], doomed: dict[int, str]) -> None:
    for i, t in enumerate(texts):
        why = _reason(t, _UI) if t and len(t) <= 30 else None
        if why:
            doomed[i] = why


def _section(texts: list[str], total: int, doomed: dict[int, str]) -> None:
    """A trailing "往期推荐"-style section: the marker and all after it, when it sits late in the body."""
    seen = 0
    for i, t in enumerate(texts):
        seen += len(t)
        if t and ((len(t) <= 24 and any(r.search(t) for r in _SECTION)) or (len(t) <= 160 and _SECTION_LEAD.search(t))):
            rest = sum(len(x) for x in texts[i:])
            if seen / total >= 0.5 or rest <= 600:
                doomed.update({k: SECTION for k in range(i, len(texts))})
                return


def _tail(leaves: list[etree._Element], texts: list[str], total: int, learned: frozenset[str],
          doomed: dict[int, str], account: str = "") -> None:
    """Walk back from the end over boilerplate blocks.

    A few short unmatched blocks between two footer blocks are footer too (a
    promo's own lines, an account slogan); images go when they sit below or
    between footer blocks, or right after a follow/QR prompt.
    """
    pending_images: list[int] = []
    tentative: list[int] = []
    found_any = False
    qr_seen = False
    i = (min(doomed) if doomed and min(doomed) > len(texts) // 2 else len(leaves)) - 1
    while i in doomed and i >= 0:
        i -= 1
    limit_chars = max(400, int(total * 0.25))
    scanned = 0
    while i >= 0:
        t = texts[i]
        if _is_image_block(leaves[i], t):
            pending_images.append(i)
            i -= 1
            continue
        if not t:
            doomed[i] = EMPTY
            i -= 1
            continue
        scanned += len(t)
        why = LEARNED if t in learned else _reason(t, _TAIL)
        if why == "follow prompt" and len(t) > 20:
            why = None  # "欢迎关注我们的后续报道，…" is a sentence of the article
        if why and len(t) > 80 and why not in _LONG_OK:
            why = None  # a long paragraph that mentions 点赞 or 报名 is the author's own text
        if why is None and account and len(t) <= 40 and t.startswith(account):
            why = SIGNATURE
        if why is None and qr_seen and len(t) <= 20 and not _SENTENCE.search(t):
            why = SLOGAN
        if scanned > limit_chars or len(t) > _MAX_FOOTER_CHARS:
            break
        if why is None:
            if not found_any or len(t) > 25 or t.endswith("。") or len(tentative) >= 8:
                break
            tentative.append(i)
            i -= 1
            continue
        doomed.update({k: BETWEEN for k in tentative})
        tentative = []
        doomed[i] = why
        if found_any or _QR.search(t):
            doomed.update({k: FOOTER_IMAGE for k in pending_images})
        pending_images = []
        found_any = True
        qr_seen = qr_seen or bool(_QR.search(t))
        i -= 1


def _strong_tail(texts: list[str], total: int, doomed: dict[int, str]) -> None:
    """Credits and copyright notices anywhere in the last part of the body."""
    seen = 0
    for i, t in enumerate(texts):
        seen += len(t)
        if i in doomed or not t or len(t) > _MAX_FOOTER_CHARS or seen < total * 0.8:
            continue
        why = _reason(t, _STRONG)
        if why:
            doomed[i] = why


def _head(leaves: list[etree._Element], texts: list[str], doomed: dict[int, str]) -> None:
    """Follow prompts and the account's masthead (slogan, name, ID) before the first real block."""
    window = texts[: max(3, len(texts) // 20)]
    for j, t in enumerate(window[:4]):
        if t and len(t) <= 40 and _MASTHEAD.search(t):
            if all(len(x) <= 30 for x in window[:j]):
                doomed.update({k: MASTHEAD for k in range(j + 1) if texts[k]})
            break
    for j, t in enumerate(window):
        if not t or doomed.get(j) == MASTHEAD:
            continue
        why = _reason(t, _HEAD) if len(t) <= 60 else None
        if why is None:
            break
        doomed[j] = why
