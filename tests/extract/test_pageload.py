"""The whole-page check's fast paths (bytes.find before the regexes) decide as the plain regex scan did."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wxarchive.extract.pageload import _CONTENT_ID, _DOC_END, _content_end, _ends_after


def _reference(raw: bytes) -> bool:
    m = _CONTENT_ID.search(raw)
    return _DOC_END.search(raw, m.end() if m else 0) is not None


CASES = [
    b'<html><body><div id="js_content">x</div><script></script></body></html>',
    b'<html><body><div id="js_content">x</div><script>"</html>"</script>',  # cut off after a </html> in a script
    b'<html><body><div id="js_content">x</div></body></HTML >',  # upper case, a space
    b'<html><body></html><div id="js_content">x</div><script>',  # the only </html> is before the body
    b'<html><body><div id=js_content>x</div></body></html>\n<!-- trailing -->',
    b'<html><body><div id = \'js_content\'>x</div></body></html><script>x</script></Html>',
    b"<html><body>no content div</body></html>",
    b"<html><body>no content div, cut off",
    b'<p>js_content mentioned</p><div id="js_content">x</div></html>',
    b"",
]


@pytest.mark.parametrize("raw", CASES)
def test_fast_check_decides_as_the_regex_scan(raw: bytes) -> None:
    assert _ends_after(raw, _content_end(raw)) == _reference(raw)


_PIECES = st.sampled_from([b"<html>", b"</html>", b"</HTML>", b"</html >", b'id="js_content"', b"id=js_content",
                           b"js_content", b"<script>", b"</script>", b"text ", b"</htm", b"l>", b" "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_fast_check_on_any_arrangement(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    assert _ends_after(raw, _content_end(raw)) == _reference(raw)
