"""Front matter is read by Jekyll with Ruby's YAML (Psych), not PyYAML: every string field must
come back from Ruby as the very same string (issue 12, "Wrong post").

The check runs Ruby's own parser the way Jekyll calls it (``Psych.safe_load`` with Date and
Time permitted) over posts rendered by ``render``, and PyYAML's ``safe_load`` over the same text.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess

import pytest
import yaml

from wxarchive.models import Article
from wxarchive.extract.parse import SHANGHAI
from wxarchive.write.render import render, split_post

RUBY = shutil.which("ruby")

# Jekyll 4's reader: Jekyll::Utils.safe_load_yaml
_RUBY_READ = r"""
require "yaml"; require "json"; require "date"
out = JSON.parse(STDIN.read).map do |text|
  begin
    data = Psych.safe_load(text, permitted_classes: [Date, Time], aliases: true)
    data.transform_values { |v| [v.class.name, v.is_a?(String) ? v : v.to_s] }
  rescue Exception => e
    {"error" => [e.class.name, e.message]}
  end
end
puts JSON.generate(out)
"""

FIXED = ["1,000", "2,3", "1,2,3", "1_000", "0x1F", "0b101", "017", "0o17", "1:30", "1:30:59", "-1:30.5",
         "1.5", ".5", "1.", "1e3", "1.0e+3", "+1", "-0", ".inf", "-.Inf", ".NaN", "~", "null", "Null", "yes", "Yes",
         "yEs", "ON", "off", "no", "y", "n", "true", "FALSE", ":sym", ":'quoted'", "::", "2024-01-01",
         "2024-1-1", "2024-01-01 10:30:00", "2024-01-01T10:30:00Z", "2001-12-14 21:59:43.10 -5", "1,000元",
         "12,345.67", "100%", "#1", "- 1", "[1]", "{a: 1}", "!tag", "&a", "*a", "'", '"', "@x", "`x`", "|", ">",
         "%YAML", "---", "...", "a: b", "a #b", "1 000", "٣", "１,０００", "Ⅻ", "0", "00", "08", "09.5", "1__0",
         "1,", ",1", "_1", "1e", "e1", "0x", "0b", "+", "-", ".", ":", "=", "<<"]


def _random_fields(n: int, seed: int = 12) -> list[str]:
    rnd = random.Random(seed)
    alphabet = "0123456789,._:-+eExXbBoO~ aAfF:'\"#"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 7))).strip() or "0" for _ in range(n)]


def _article(text: str) -> Article:
    return Article(url="https://mp.weixin.qq.com/s/Tok", title=text, account=text, author=text + "x" if text else "",
                   digest=text, published=dt.datetime(2024, 3, 1, 8, 0, tzinfo=SHANGHAI),
                   biz="MzA1", mid="2650000001", idx="1")


def _front(text: str) -> str:
    post = render(_article(text))
    return post.split("---\n", 2)[1]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return list(dict.fromkeys(FIXED + _random_fields(1500)))


def test_front_matter_strings_survive_pyyaml(corpus: list[str]) -> None:
    for text in corpus:
        fm, _ = split_post(render(_article(text)))
        assert fm["title"] == text and fm["account"] == text and fm["digest"] == text, (text, fm)
        assert fm["author"] == text + "x"


@pytest.mark.skipif(RUBY is None, reason="ruby (installed with jekyll) is needed")
def test_front_matter_strings_survive_ruby_yaml(corpus: list[str]) -> None:
    fronts = [_front(t) for t in corpus]
    p = subprocess.run([RUBY, "-e", _RUBY_READ], input=json.dumps(fronts), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    wrong = []
    for text, got in zip(corpus, json.loads(p.stdout)):
        if "error" in got:
            wrong.append((text, got["error"]))
            continue
        for field, want in (("title", text), ("account", text), ("digest", text), ("author", text + "x")):
            if got.get(field) != ["String", want]:
                wrong.append((text, field, got.get(field)))
        if got.get("date", [""])[0] != "Time":
            wrong.append((text, "date", got.get("date")))  # our own date stays a time for Jekyll
    assert not wrong, f"{len(wrong)} fields misread by Ruby, e.g. {wrong[:10]}"


def test_plain_text_stays_unquoted() -> None:
    """Quoting only where needed keeps ordinary posts as they were (titles read as written)."""
    front = _front("公安部新闻发布会通报")
    assert "title: 公安部新闻发布会通报\n" in front
    assert "date: 2024-03-01 08:00:00 +0800\n" in front  # plain: Jekyll reads a time (checked above)
    assert yaml.safe_load(front)["title"] == "公安部新闻发布会通报"
