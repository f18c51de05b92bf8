"""The naive route a user could write in ten lines: BeautifulSoup + markdownify, done fairly.

It converts ``#js_content`` when it holds the article; for picture and text posts,
whose text lives in scripts, it takes the page's description instead of
converting the whole ``<body>`` (which would be slow and wrong, and flatter us).
Run as a script it is the whole-process baseline: ``python bench/naive.py PAGE OUT.md``.
"""
from __future__ import annotations

import sys


def convert(data: bytes) -> str:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(data, "lxml")
    title = soup.find("meta", attrs={"property": "og:title"})
    head = f"# {title.get('content', '')}\n\n" if title else ""
    el = soup.find(id="js_content")
    if el is not None and el.get_text(strip=True):
        return head + markdownify(str(el))
    desc = soup.find("meta", attrs={"property": "og:description"}) or soup.find("meta", attrs={"name": "description"})
    return head + (desc.get("content", "") if desc else "")


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        md = convert(f.read())
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
