"""Images on hosts outside the allow-list: never fetched by wxarchive, nor by a reader's browser.

Such an image is taken out of the post's body (a remote ``<img>`` would make every
reader's browser ask that host) and stays in ``Article.images`` marked ``REFUSED``,
so the state records it and the reason; the image saver skips it.
"""
from __future__ import annotations

import dataclasses

from lxml import etree

from wxarchive.extract.htmltree import drop_tree, fragment
from wxarchive.models import Article
from wxarchive.urls import IMAGE_HOSTS, is_image_host

__all__ = ["REFUSED", "drop_foreign_images"]

REFUSED = "refused: not an allowed image host; left out of the post"


def drop_foreign_images(article: Article, hosts: tuple[str, ...] = IMAGE_HOSTS) -> Article:
    """The article without its off-list images in the body, those images marked refused."""
    foreign = {i.url for i in article.images if not is_image_host(i.url, hosts)}
    if not foreign:
        return article
    try:
        root = fragment(article.body_html)
    except (etree.ParserError, ValueError):
        return article
    for img in list(root.iter("img")):
        if img.get("src") in foreign:
            drop_tree(img)  # keeps its tail text
    body = (root.text or "") + "".join(etree.tostring(c, encoding="unicode", method="html") for c in root)
    images = tuple(dataclasses.replace(i, local=None, error=REFUSED) if i.url in foreign else i
                   for i in article.images)
    return dataclasses.replace(article, body_html=body, images=images)
