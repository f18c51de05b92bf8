"""``wxarchive login weread``: keep the user's WeRead session in their own config folder, and check it.

The session (``weread-cookies.txt``, ``weread-ticket.txt``: see :mod:`wxarchive.net.weread`) is written
0600 with a temp file and a rename, only its ``weread.qq.com`` cookies, and never printed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wxarchive.cli.common import add_options
from wxarchive.errors import UsageError

__all__ = ["add_parser", "cmd_login"]

EXAMPLES = """examples:
  wxarchive login weread --cookies weread.txt                # keep the session exported from your browser
  wxarchive login weread --cookies weread.txt --ticket t.txt # and the x-wr-ticket your browser sends
  wxarchive login weread --status --out ~/blog               # one listing request: does the session work?"""


# the browsers browser-cookie3 reads (its function of the same name), as yt-dlp's --cookies-from-browser takes
BROWSERS = ("firefox", "chrome", "chromium", "edge", "brave", "opera", "vivaldi", "librewolf")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("login", help="keep (or check) the WeRead session that lists followed accounts",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("service", choices=["weread"], help="weread: 微信读书, for account sources")
    # dest is not "cookies": a cookies = … default in a config file is for WeChat's pages, not this
    p.add_argument("--cookies", dest="session_cookies", metavar="FILE",
                   help="a Netscape cookies.txt exported from a browser logged in at weread.qq.com")
    p.add_argument("--cookies-from-browser", dest="session_browser", metavar="BROWSER", choices=BROWSERS,
                   help=f"read the weread.qq.com cookies from a browser's own store ({', '.join(BROWSERS)}; "
                        "needs browser-cookie3: pip install 'wxarchive[browser]')")
    p.add_argument("--ticket", dest="session_ticket", metavar="FILE",
                   help="a file holding the x-wr-ticket header value your browser sends (- for stdin)")
    p.add_argument("--status", action="store_true",
                   help="check the kept session with one listing request (an account source of --out, or --account)")
    p.add_argument("--account", metavar="BIZ", help="the account --status lists (its __biz or an article link)")
    add_options(p, "out", "connect_to", "proxy", "timeout", "verbose")


def _private_write(path: Path, text: str) -> None:
    """``text`` into ``path``, mode 0600 from the start (temp file in the same folder, then rename)."""
    from wxarchive.archive.site import discard, temp_file

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = temp_file(path.parent, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def browser_cookies(browser: str) -> Any:
    """The weread.qq.com cookies of a browser's own cookie store (browser-cookie3 reads and decrypts it),
    checked as a cookies.txt is: a value an HTTP header cannot carry is a usage error now."""
    from wxarchive.net.routing import check_cookie_jar

    try:
        import browser_cookie3
    except ImportError:
        raise UsageError("--cookies-from-browser needs browser-cookie3: pip install 'wxarchive[browser]' "
                         "(or export the cookies to a file and give --cookies FILE)") from None
    try:
        jar = getattr(browser_cookie3, browser)(domain_name="weread.qq.com")
    except Exception as e:  # BrowserCookieError, a locked or foreign database, a keyring that said no
        raise UsageError(f"cannot read {browser}'s cookies: {e} (is {browser} installed and have you logged "
                         "in at https://weread.qq.com in it? Or export them and give --cookies FILE)") from None
    check_cookie_jar(jar, f"{browser}'s cookie store")
    return jar


def save_session(cookies_file: str | None, ticket_file: str | None, browser: str | None = None) -> str:
    """Keep the weread.qq.com cookies of ``cookies_file`` or of ``browser``'s own store (and a ticket);
    the line saying what was kept."""
    from wxarchive.net.routing import load_cookies
    from wxarchive.net.weread import COOKIES_FILE, TICKET_FILE, for_weread, session_dir

    jar = browser_cookies(browser) if browser else load_cookies(cookies_file or "")
    cookies_file = f"{browser}'s cookie store" if browser else cookies_file
    mine = [c for c in jar if for_weread(c.domain)]
    names = {c.name for c in mine}
    if not {"wr_vid", "wr_skey"} <= names:
        raise UsageError(f"{cookies_file} has no wr_vid/wr_skey cookie for weread.qq.com: log in at "
                         "https://weread.qq.com and export the cookies of that tab")
    lines = ["# Netscape HTTP Cookie File", "# the WeRead session of wxarchive: keep it private"]
    for c in mine:
        lines.append("\t".join([c.domain, "TRUE" if c.domain.startswith(".") else "FALSE", c.path or "/",
                                "TRUE" if c.secure else "FALSE", str(int(c.expires or 0)), c.name, c.value or ""]))
    folder = session_dir()
    _private_write(folder / COOKIES_FILE, "\n".join(lines) + "\n")
    ticket = ""
    if ticket_file is not None:
        try:
            raw = sys.stdin.read() if ticket_file == "-" else Path(ticket_file).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot read {ticket_file}: {e.strerror or e}") from None
        ticket = raw.strip().removeprefix("x-wr-ticket:").strip()
        if not ticket or any(not (0x21 <= ord(ch) <= 0x7E) for ch in ticket):
            raise UsageError(f"{ticket_file} does not hold an x-wr-ticket value (one line of plain characters)")
        _private_write(folder / TICKET_FILE, ticket + "\n")
    return (f"wxarchive: WeRead session kept in {folder / COOKIES_FILE} ({len(mine)} weread.qq.com cookie(s)"
            f"{'; x-wr-ticket in ' + str(folder / TICKET_FILE) if ticket else ''})")


def _status_account(args: argparse.Namespace) -> tuple[str, str]:
    """(book id, label) that ``--status`` lists: ``--account``, else the archive's first account source."""
    from wxarchive.net.weread import book_id_of

    if args.account:
        return book_id_of(args.account), args.account
    from wxarchive.jobs.harvest import load_specs
    from wxarchive.archive.site import Site

    site = Site.open(Path(args.out).expanduser())
    for spec in load_specs(site.sources) if site.sources else []:
        if spec.account:
            return spec.account, spec.name
    raise UsageError(f"no account source in {args.out}/wxarchive.toml to check the session with; give --account BIZ")


def check_session(args: argparse.Namespace) -> int:
    """One listing request with the kept session: 0 it works, 5 it must be refreshed, 1 anything else."""
    from wxarchive.net.fetch import Routing
    from wxarchive.net.routing import parse_connect_to
    from wxarchive.net.weread import Channel, SessionExpired, load_session

    book, label = _status_account(args)
    load_session()  # a missing or unreadable session is said before any request
    routes = parse_connect_to(args.connect_to, os.environ.get("WXARCHIVE_CONNECT_TO"))

    class _NoWrite:
        def get_kv(self, _k: str) -> None:
            return None

    t = args.timeout
    ch = Channel(transport=Routing(routes, args.proxy), timeout={"connect": min(t, 10.0), "read": t, "write": t,
                                                                  "pool": t},
                 store=_NoWrite(), state_dir=None, write=False, user_agent="")
    try:
        sends, _ = ch.page(book, 0, 0)
    except SessionExpired as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return 5
    finally:
        ch.transport.close()
    print(f"weread session works: {sum(len(s) for s in sends)} post(s) in the newest {len(sends)} send(s) of {label}")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    browser = getattr(args, "session_browser", None)
    if args.status:
        if args.session_cookies or args.session_ticket or browser:
            raise UsageError("--status checks the kept session; keep a new one first (without --status)")
        return check_session(args)
    if args.session_cookies and browser:
        raise UsageError("give --cookies FILE or --cookies-from-browser BROWSER, not both")
    if not (args.session_cookies or browser):
        raise UsageError("give --cookies FILE (a cookies.txt exported from https://weread.qq.com), "
                         "--cookies-from-browser BROWSER, or --status")
    print(save_session(args.session_cookies, args.session_ticket, browser), file=sys.stderr)
    return 0
