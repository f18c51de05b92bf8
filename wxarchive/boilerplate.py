"""Boilerplate and footer rules, as data, applied only at the head or tail of a body.

Each rule is a pattern and the reason it exists. ``strip(root)`` removes
matching leaf blocks from the tail (and a few from the head) and returns
the texts it removed, so nothing goes silently. A block in the middle of an
article is never touched: scanning stops at the first block that is content.
"""
from __future__ import annotations

import re

from lxml import etree

__all__ = ["HEAD_RULES", "SECTION_MARKERS", "TAIL_RULES", "strip", "tail_texts"]

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
)

HEAD_RULES: tuple[tuple[str, str], ...] = (
    (r"(点击|关注).{0,8}(蓝字|上方|标题下).{0,10}(关注|订阅)", "follow prompt at the head"),
    (r"^(关注|欢迎关注).{0,20}$", "follow prompt at the head"),
    (r"^(设为)?星标", "star prompt at the head"),
)

_SECTION = [re.compile(p, re.I) for p, _ in SECTION_MARKERS]
_SECTION_LEAD = re.compile(r"^(往期推荐|推荐阅读|往期回顾|往期精彩|近期文章|热文回顾|相关阅读|延伸阅读|精彩推荐)\s*[:：|丨｜]")
_QR = re.compile(r"二维码|扫码|长按|识别|关注|follow", re.I)
_TAIL = [(re.compile(p, re.I), why) for p, why in TAIL_RULES]
_HEAD = [(re.compile(p, re.I), why) for p, why in HEAD_RULES]
_LEAF_TAGS = frozenset("p div blockquote pre li h1 h2 h3 h4 h5 h6 td th table ul ol hr".split())
_MAX_FOOTER_CHARS = 160


def _key(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def _leaves(root: etree._Element) -> list[etree._Element]:
    """Blocks with no block inside, plus lone images, in document order."""
    out = []
    for el in root.iter():
        if el is root or not isinstance(el.tag, str):
            continue
        if el.tag in ("ul", "ol", "table", "pre"):
            if not any(a.tag in ("ul", "ol", "table", "pre", "li") for a in el.iterancestors()):
                out.append(el)
            continue
        if any(a.tag in ("ul", "ol", "table", "pre") for a in el.iterancestors()):
            continue
        if el.tag in _LEAF_TAGS and not any(isinstance(d.tag, str) and d.tag in _LEAF_TAGS for d in el.iterdescendants()):
            out.append(el)
        elif el.tag == "img" and not any(a.tag in _LEAF_TAGS and not any(
                isinstance(d.tag, str) and d.tag in _LEAF_TAGS for d in a.iterdescendants()) for a in el.iterancestors()):
            out.append(el)
    return out


def _is_image_block(el: etree._Element, text: str) -> bool:
    return not text and (el.tag == "img" or el.find(".//img") is not None)


def tail_texts(root: etree._Element, n: int = 8) -> tuple[str, ...]:
    """The texts of the last ``n`` short blocks: candidates for an account's learned footer."""
    texts = [_key(el.text_content()) for el in _leaves(root)[-n:]]
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


def strip(root: etree._Element, learned: frozenset[str] = frozenset()) -> tuple[tuple[str, str], ...]:
    """Remove head/tail boilerplate in place; return ``(reason, text)`` for each removed block.

    ``learned`` holds blocks seen at the tail of three or more posts of the same
    account: they count as footer like a rule match.
    """
    leaves = _leaves(root)
    if not leaves:
        return ()
    texts = [_key(el.text_content()) for el in leaves]
    total = sum(len(t) for t in texts) or 1
    doomed: dict[int, str] = {}

    # 1. a trailing "往期推荐"-style section: the marker and all after it, when it sits late in the body
    seen = 0
    for i, t in enumerate(texts):
        seen += len(t)
        if t and ((len(t) <= 24 and any(r.search(t) for r in _SECTION)) or (len(t) <= 160 and _SECTION_LEAD.search(t))):
            rest = sum(len(x) for x in texts[i:])
            if seen / total >= 0.5 or rest <= 600:
                doomed.update({k: SECTION for k in range(i, len(leaves))})
                break

    # 2. walk back from the end over boilerplate blocks; images go only between footer texts
    #    or right after a follow/QR prompt (an image of unclear role is content)
    pending_images: list[int] = []
    footer_after = False
    i = (min(doomed) if doomed else len(leaves)) - 1
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
        if scanned > limit_chars or len(t) > _MAX_FOOTER_CHARS or why is None:
            break
        doomed[i] = why
        if footer_after or _QR.search(t):
            doomed.update({k: FOOTER_IMAGE for k in pending_images})
        pending_images = []
        footer_after = True
        i -= 1
    # 3. the head: follow prompts before the first real block
    for j, t in enumerate(texts[: max(3, len(texts) // 20)]):
        if not t:
            continue
        why = _reason(t, _HEAD) if len(t) <= 60 else None
        if why is None:
            break
        doomed[j] = why
    # never strip everything
    if not any(texts[k] for k in range(len(leaves)) if k not in doomed):
        return ()
    removed: list[tuple[str, str]] = []
    for k in sorted(doomed):
        el = leaves[k]
        if el.getparent() is None:
            continue
        removed.append((doomed[k], texts[k] if texts[k] else "[image]"))
        el.drop_tree()
    return tuple(removed)
