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

from wxarchive.extract import footimg
from wxarchive.extract.htmltree import drop_tree, text_content

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
    # (在看 alone only as a word of its own: "我现在看来" holds it too; 点…赞 not across "有点不赞同")
    (r"(分享|转发).{0,6}(朋友圈|好友)|点[个一下了]{0,2}[“\"「『]?(在看|赞)|点赞|星标|打赏|赞赏(一下|作者|支持)|"
     r"[“\"「『【]在看|在看[”\"」』】]|(^|[\s/、，,|])在看([\s/、，,!！~|]|$)", "share/like prompt"),
    (r"(戳|点击?)(这里|此处|下方|链接).{0,10}(更多|好文|文章|精彩|解锁)|更多(好文|精彩文章|干货)等你", "more-articles pointer"),
    (r"阅读原文", "read-more prompt"),
    (r"^[\W_]*(THE\s*)?END[\W_]*$|^[\W_]*(全文)?完[\W_]*$", "END ornament"),
    (r"^[-—–_=·•*~\s]{3,}$", "divider ornament"),
    (r"知识星球|添加.{0,6}(微信|好友).{0,6}(报名|进群|领取)|拉你进|(扫码|加我|欢迎|申请|邀你)进群|进群(方式|请|交流|讨论)|交流群",
     "sign-up promo"),
    (r"(满意度|民意调查).{0,40}(电话|评价)|十分满意", "survey plea"),
    (r"经过.{0,10}(重新编排|编辑整理)|本文(由|经).{0,20}(编排|整理)", "re-edit notice"),
    (r"(领取|获取).{0,10}(资料|源码|福利)|收不到.{0,10}推送|不标星", "follow/bonus plea"),
    (r"^发送消息|发送(消息|关键词)[:：]", "follow/bonus plea"),
    (r"(本栏目|新推出的).{0,20}栏目", "column slogan"),
    (r"所剩不多", "promo"),
    (r"版权(声明|所有|归)|本文版权|未经.{0,8}(授权|许可|同意).{0,12}(转载|使用|摘编|复制)|转载.{0,8}(联系|授权|注明)|"
     r"(合作|转载).{0,3}请?联系|Copyright\s*(©|\(c\)|\d{4})|©\s*\d{4}|All rights reserved", "copyright/reprint notice"),
    (r"^\W{0,3}(微信|微信号|公众号|微信公众号|ID|QQ|QQ群|邮箱|E-?mail|(新浪)?微博|知乎|B站|抖音|小红书|视频号|官网)\s*[:：]|"
     r"[(（]\s*ID\s*[:：]", "account ID/contact line"),
    (r"[\w.+-]+@[\w-]+(\.[\w-]+)+", "contact mail"),
    (r"感谢(你|您|大家)?的?(看到这里|阅读|关注|点赞|分享|支持|转发)|谢谢(你|您|大家)?的?(阅读|关注|支持)", "thank-you plea"),
    (r"^\W{0,8}(关注|欢迎关注)(我们|本号|公众号)", "follow prompt"),  # (an emoji before it may be 5 code points)
    (r"付费|购买.{0,8}课程|课程.{0,6}(上线|报名|购买)|报名|优惠|原价|限时|私信我|备注「|\d+\s*元\s*/\s*人|训练营|"
     r"(正式)?上线(啦|了)", "paid product/course promo"),
    (r"^[▼▲↓⬇👇︾⇩]+$", "pointer ornament"),
    (r"^(还有一个)?好消息[！!]?$|^(广告|推广|福利)[:：]?$", "promo lead"),
    (r"^[(（]?\s*(本篇)?(作者|文|图|图源|图片|主编|执行主编|统筹|策划|出品|视觉|设计|摄影|排版|编辑|责任编辑|美编|校对|审核)"
     r"\s*[:：|丨｜/]\s*\S{1,20}\s*[|丨｜/]", "staff credits"),
    (r"(后台|公众号|对话框|聊天窗口|私信).{0,6}回复", "reply-keyword plea"),
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
    (r"^\W{0,8}(设为|加|添加|点亮)?星标", "star prompt at the head"),
    (r"^\W{0,4}(后台|公众号)?回复.{0,12}(加入|获取|领取|进群)", "reply-keyword prompt at the head"),
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
    ``shapes`` maps image URLs to their shapes (see :mod:`wxarchive.extract.footimg`); None: no picture goes
    for being near the footer (a picture post's pictures are the post).
    """
    leaves = _leaves(root)
    if not leaves:
        return ()
    texts = [_key(text_content(el)) for el in leaves]
    total = sum(len(t) for t in texts) or 1
    doomed: dict[int, str] = {}
    _ui_blocks(texts, doomed)
    _section(leaves, texts, total, doomed)
    _tail(leaves, texts, total, learned, doomed, _key(account))
    _strong_tail(texts, total, doomed)
    _head(leaves, texts, doomed, _key(account))
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
        what = texts[k] or _shown(el)
        if what:
            removed.append((doomed[k], what))
    return tuple(removed)


def _shown(el: etree._Element) -> str:
    """What a reader saw of a block with no text: its pictures (by address), a divider, or nothing."""
    srcs = [img.get("src") or "" for img in el.iter("img")]
    if srcs:
        return " ".join(f"[image] {s}".rstrip() for s in srcs)
    return "[divider]" if el.tag == "hr" or el.find(".//hr") is not None else ""


MASTHEAD = "account masthead (slogan, name and ID at the head)"
BETWEEN = "between footer blocks"
SIGNATURE = "account signature"
SLOGAN = "account slogan beside the QR code"
HEAD_SLOGAN = "account slogan under the follow prompt at the head"
ACCOUNT_PROMPT = "follow prompt naming the account"
ARTICLE_LINK = "link to another article of the account"
EXTRA_REASONS = frozenset((MASTHEAD, BETWEEN, SIGNATURE, SLOGAN, HEAD_SLOGAN, ACCOUNT_PROMPT, ARTICLE_LINK)) | footimg.REASONS


_NOT_FOOTER = frozenset(why for _, why in UI_RULES + HEAD_RULES) | {MASTHEAD, EMPTY, FOOTER_IMAGE} | footimg.REASONS


def _footer_images(leaves: list[etree._Element], texts: list[str], doomed: dict[int, str],
                   shapes: dict[str, footimg.Shape], learned: frozenset[str]) -> None:
    """Pictures that go with the footer the text rules found (see :mod:`wxarchive.extract.footimg`)."""
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


def _section(leaves: list[etree._Element], texts: list[str], total: int, doomed: dict[int, str]) -> None:
    """A trailing "往期推荐"-style section: the marker and all after it, when it sits late in the body
    and what follows it reads as a list of other posts."""
    seen = 0
    for i, t in enumerate(texts):
        seen += len(t)
        if t and ((len(t) <= 24 and _section_marker(t)) or (len(t) <= 160 and _SECTION_LEAD.search(t))):
            rest = sum(len(x) for x in texts[i:])
            if (seen / total >= 0.5 or rest <= 600) and _list_after(leaves, texts, i):
                doomed.update({k: SECTION for k in range(i, len(texts))})
                return


_DECOR = re.compile(r"[\W_]+")


def _section_marker(t: str) -> bool:
    """A 往期推荐-style marker, also in its editor's dress ("—— 往期回顾 ——", "▼往期精彩回顾▼", "往期 · 推荐")."""
    bare = _DECOR.sub("", t)
    return any(r.search(t) or (bare and r.search(bare)) for r in _SECTION)


def _list_after(leaves: list[etree._Element], texts: list[str], i: int) -> bool:
    """What follows a 往期推荐 marker is titles, links, pictures and footer lines, not the author's prose
    (a "推荐阅读" section that reviews three books is the article's own)."""
    for k in range(i + 1, len(texts)):
        t = texts[k]
        if len(t) <= 60 or _linked_share(leaves[k], t) >= 0.5 or _reason(t, _TAIL):
            continue
        return False
    return True


def _linked_share(el: etree._Element, t: str) -> float:
    """How much of a block's letters is link text."""
    letters = sum(ch.isalnum() for ch in t) or 1
    return sum(ch.isalnum() for a in el.iter("a") for ch in text_content(a)) / letters


def _tail(leaves: list[etree._Element], texts: list[str], total: int, learned: frozenset[str],
          doomed: dict[int, str], account: str = "") -> None:
    """Walk back from the end over boilerplate blocks, then remove the run only if the evidence holds.

    A few short unmatched blocks between two footer blocks are footer too (a
    promo's own lines, an account slogan), and so are one or two below a
    clear footer block (a closing motto); images go when they sit below or
    between footer blocks, or right after a follow/QR prompt. A date line ends
    the walk: it signs the author's text. A run backed only by one phrase
    inside the author's own sentence ("感谢大家的关注，我会继续…") is kept
    (see :func:`_backed`): losing the author's words is worse than leaving a plea. So is a sentence
    with one plea word in it (see :func:`_authors_sentence`) unless a footer block stands above it too.
    """
    run: dict[int, str] = {}
    maybe_slogans: set[int] = set()
    pending_images: list[int] = []
    tentative: list[int] = []
    held: dict[int, str] = {}
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
            run[i] = EMPTY
            i -= 1
            continue
        scanned += len(t)
        if scanned > limit_chars or len(t) > _MAX_FOOTER_CHARS or _DATE_LINE.match(t):
            break
        why = _tail_reason(leaves[i], t, learned, account, found_any)
        if why and why not in _LONG_OK and _authors_sentence(t):
            held[i] = why  # one plea word in a sentence: footer only when a footer block stands above it too
            i -= 1
            continue
        if why is None and qr_seen and _slogan_text(t):
            if _PARALLEL.search(t):
                why = SLOGAN  # "简单 好玩 有温度" over a QR prompt
            else:
                maybe_slogans.add(i)  # one phrase ("周明远律师"): a slogan only between footer blocks
        if why is None:
            if len(tentative) >= 8 or t.endswith("。") or len(t) > (25 if found_any else 30) or _BYLINE.search(t) \
                    or not found_any and (len(tentative) >= 2 or _sign_off(t) and not _PARALLEL.search(t)):
                break  # (a byline or a source line is the author's: the footer starts below it)
            tentative.append(i)
            i -= 1
            continue
        if not found_any and tentative and not _clear(why, t):
            break  # a closing line below a mere phrase match: the author's ending, keep it all
        run.update({k: SLOGAN if k in maybe_slogans else BETWEEN for k in tentative})
        run.update(held)
        tentative = []
        held = {}
        run[i] = why
        if found_any or _QR.search(t):
            run.update({k: FOOTER_IMAGE for k in pending_images})
        pending_images = []
        found_any = True
        qr_seen = qr_seen or bool(_QR_STRONG.search(t)) or why == _CONTACT
        i -= 1
    if _backed(run, texts):
        doomed.update(run)


_CONTACT = "account ID/contact line"
# Rules whose phrase also falls in an author's own closing sentence: such a block alone is no evidence
# unless the phrase is most of it (see _clear).
_WEAK = frozenset(("thank-you plea", "follow prompt", "paid product/course promo", "reply-keyword plea", ARTICLE_LINK,
                   "promo", "follow/bonus plea", "survey plea"))
_QR_STRONG = _rule(r"二维码|扫码|扫一扫|长按|识别")
QR_PROMPT = "QR-code follow prompt"
_DATE_LINE = re.compile(r"^\W*(\d{4}|[〇零一二三四五六七八九]{4})\s*[年.\-/]\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[月.\-/]"
                        r"\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*日?\W*$")
_SELF_PROMPT = _rule(r"关注|星标|置顶|订阅")  # (not 公众号: "这是X公众号的第100篇" is the author talking)
_ARTICLE_HREF = re.compile(r"https?://mp\.weixin\.qq\.com/(s[/?]|mp/(appmsgalbum|homepage|profile_ext))", re.I)


def _tail_reason(el: etree._Element, t: str, learned: frozenset[str], account: str, below: bool) -> str | None:
    """Why a tail block is footer, or None: a rule, the learned footer, the account naming itself,
    a block that is only a link to another WeChat article. ``below``: a footer block lies below it."""
    why = LEARNED if t in learned else _reason(t, _TAIL)
    if why == "follow prompt" and len(t) > 20:
        why = None  # "欢迎关注我们的后续报道，…" is a sentence of the article
    if why and len(t) > 80 and why not in _LONG_OK and not (below and len(_reasons(t)) >= 2):
        why = None  # a long paragraph that mentions 点赞 or 报名 is the author's own text (unless it is a promo
        # of several kinds, right above the footer: "推荐一下我的知识星球…添加我的好友，报名学习")
    if why is None and account and len(t) <= 40 and t.startswith(account):
        why = SIGNATURE
    if (why is None or why in _WEAK) and len(account) >= 2 and account in t and len(t) <= 80 \
            and _SELF_PROMPT.search(t):
        why = ACCOUNT_PROMPT
    if why is None and len(account) >= 2 and account in t and len(t) <= 40 and _QR_STRONG.search(t):
        why = QR_PROMPT  # "扫一扫，和山城慢行一起慢慢走": the account's name with the scan word is its code's caption
    if why is None and _article_links_only(el, t):
        why = ARTICLE_LINK
    return why


SENTENCE_MIN = 40  # a block this long, with a comma inside and a full stop at its end, is a sentence, not a plea line


def _authors_sentence(t: str) -> bool:
    """A sentence of the author's that holds one plea word and nothing else of a footer: long enough
    to say something ("上一篇…评论区点赞最多的问题…，这篇算是一个完整的回答。"), one phrase match, and
    that phrase a small part of it. A plea line is short ("喜欢就点个赞吧"), or says several things
    ("不标星或点在看…收不到推送…记得点下赞"). (Up to 80 characters: longer blocks are judged above.)"""
    if len(t) < SENTENCE_MIN or not t.endswith(("。", "！", "？", "!", "?", "…")) or not _COMMA.search(t):
        return False
    spans = {m.span() for r, _ in _TAIL for m in r.finditer(t)}
    return len(spans) == 1 and _coverage(t) < 0.2


_COMMA = re.compile(r"[，,；;]")


def _slogan_text(t: str) -> bool:
    """Short enough for an account's motto, and no sentence, label, byline or aside ("来源：…", "（…）")."""
    return len(t) <= 20 and not _SENTENCE.search(t) and not re.search(r"[:：/@（(《]", t) and not _BYLINE.search(t)


def _sign_off(t: str) -> bool:
    """A last line that may be the author signing off: a name ("阿树", "—— 周野"), a byline."""
    short = sum(ch.isalnum() for ch in t) < 8 and not re.search(r"[:：@]", t)  # ("微博：@abc" is a contact line)
    return short or t.startswith(("—", "-", "–")) or bool(_BYLINE.search(t))


def _reasons(t: str) -> set[str]:
    return {why for r, why in _TAIL if r.search(t)}


def _article_links_only(el: etree._Element, t: str) -> bool:
    """The block's words are all link text, and every link goes to a WeChat article or the account's page."""
    links = list(el.iter("a"))
    if not links or not all(_ARTICLE_HREF.match(a.get("href") or "") for a in links):
        return False
    return _linked_share(el, t) >= 0.9


def _coverage(t: str) -> float:
    """The share of the block's letters that the tail rules' phrases cover: near 1 for a bare plea
    ("感谢阅读！"), low for the author's sentence that holds one ("感谢大家的关注，我会继续写下去")."""
    hit = [False] * len(t)
    for r, _ in _TAIL:
        for m in r.finditer(t):
            hit[m.start():m.end()] = [True] * (m.end() - m.start())
    letters = [k for k, ch in enumerate(t) if ch.isalnum()]
    return sum(hit[k] for k in letters) / len(letters) if letters else 1.0


def _clear(why: str, t: str) -> bool:
    """A block that is footer on its own: a rule that is no mere phrase, or a phrase that is most of it.
    A statement (a full stop at its end) that a phrase covers little of is the author's
    ("这条视频在抖音上有两万个点赞。"): no evidence alone, whatever the rule."""
    cover = _coverage(t)
    statement = why in _PHRASE_RULES and t.endswith("。") and cover < 0.3
    return (why not in _WEAK and not statement) or cover > 0.6


# The reasons of phrase rules (not the learned footer, a contact or copyright line, or the account naming itself)
_PHRASE_RULES = frozenset(why for _, why in TAIL_RULES) - _LONG_OK


def _backed(run: dict[int, str], texts: list[str]) -> bool:
    """Enough evidence that the run is the account's footer, not the author's ending: a clear footer
    block, or two footer blocks. (A picture below the block is no evidence: an author may end with a photo.)"""
    found = [(k, why) for k, why in run.items() if why not in (EMPTY, BETWEEN, FOOTER_IMAGE)]
    return len(found) >= 2 or any(_clear(why, texts[k]) for k, why in found)


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


def _head(leaves: list[etree._Element], texts: list[str], doomed: dict[int, str], account: str = "") -> None:
    """Follow prompts and the account's masthead (slogan, name, ID) before the first real block; a short
    line naming the account with 关注/星标/置顶/订阅 ("👆点击上方“社区观察”，设为星标") is a follow prompt."""
    window = texts[: max(3, len(texts) // 20)]
    for j, t in enumerate(window[:4]):
        if t and len(t) <= 40 and _MASTHEAD.search(t):
            if all(len(x) <= 30 for x in window[:j]):
                doomed.update({k: MASTHEAD for k in range(j + 1) if texts[k] and not _BYLINE.search(texts[k])})
            break
    last = ""
    for j, t in enumerate(window):
        if not t or doomed.get(j) == MASTHEAD:
            continue
        why = _reason(t, _HEAD) if len(t) <= 60 else None
        if why is None and len(account) >= 2 and account in t and len(t) <= 40 and _SELF_PROMPT.search(t):
            why = _HEAD_PROMPT
        if why is None and last in _HEAD_FOLLOW and len(texts) > j + 3 and _slogan_line(leaves[j], t):
            why = HEAD_SLOGAN
        if why is None:
            break
        doomed[j] = last = why
    for j, t in enumerate(window):
        if j not in doomed and t and len(t) <= 40 and _HEAD_CREDIT.search(t):
            doomed[j] = _HEAD_CREDIT_WHY  # an editor's credit under the lead paragraph


_HEAD_FOLLOW = frozenset(why for _, why in HEAD_RULES if "prompt" in why)
_HEAD_PROMPT = "follow prompt at the head"
_HEAD_CREDIT_WHY = "editor credit at the head"
_HEAD_CREDIT = _rule(next(p for p, why in HEAD_RULES if why == _HEAD_CREDIT_WHY))
_BYLINE = _rule(r"^[(（]?\s*(文|作者|图|撰文|来源|编译|译|译者|作|口述|整理|摄影|记者|通讯员|出品|主播)\s*[|丨｜/:：\s]")
_NOT_SLOGAN = re.compile(r"[。！？!?，,；;：:、]")


_PARALLEL = re.compile(r"\w{2,}(\s*[|丨｜·•/]\s*|\s+)\w{2,}")


def _slogan_line(el: etree._Element, t: str) -> bool:
    """A short motto line of parallel phrases ("分享实用的工具 | 探索简单的方法", "简单 好玩 有料"): no sentence,
    no byline, no heading, no link. (One phrase alone may be the article's subtitle: it stays.)"""
    return (len(t) <= 30 and bool(_PARALLEL.search(t)) and not _NOT_SLOGAN.search(t) and not _BYLINE.search(t)
            and el.tag not in ("h1", "h2", "h3", "h4", "h5", "h6") and el.find(".//a") is None)
