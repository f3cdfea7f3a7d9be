"""The citizen's rating page and the "now serving" board (``ccdesk serve --rating / --board``).

Plain HTML with big buttons, no script at all: it works on any tablet browser, and a page can
only post the one form it was given. What it shows comes from the services and is limited by
design (docs/tui.md, "The citizen rates" and "Queue tickets"):

* ``GET /`` (rating): the open question's procedure name, three buttons (the satisfaction scale
  of ``RatingLevel``) and the question's one-time token in the form. No name, ID number or phone
  of anyone. Without an open question: a waiting page that reloads itself.
* ``POST /rate``: ``token`` and ``level``, form-encoded, a few hundred bytes at most; any other
  answer (unknown token, spent token, wrong level) is refused and nothing is written.
* ``GET /board``: the last number called and how many wait, per procedure group; it reloads
  itself every few seconds.

Every answer says ``no-store`` and a Content-Security-Policy that allows no script, no frame and
posting only to this server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape

from aiohttp import web

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.vocabulary import RatingLevel
from ccdesk.i18n import t
from ccdesk.services.citizen_rating import MAX_TOKEN, CitizenRatingService
from ccdesk.services.queue import QueueService

MAX_BODY = 512            # bytes of a POST: a token and a level fit many times over
WAIT_REFRESH = 2          # seconds between reloads of the waiting page (the question appears)
QUESTION_REFRESH = 20     # the question page reloads too: a closed question goes away
THANKS_SECONDS = 5
BOARD_REFRESH = 5
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STYLE = """
body{margin:0;font-family:system-ui,"Noto Sans","DejaVu Sans",sans-serif;background:#f4f1ea;
color:#1c1c1c;text-align:center}
main{max-width:60rem;margin:0 auto;padding:2rem 1rem}
h1{font-size:2.4rem;margin:.5rem 0}.en{color:#555;font-size:1.1rem;margin:.2rem 0 1.5rem}
.procedure{font-size:1.4rem;color:#333}
form{display:flex;flex-direction:column;gap:1.2rem}
button{font:inherit;font-size:2.2rem;font-weight:600;min-height:6.5rem;border:0;border-radius:1rem;
color:#fff;cursor:pointer}button small{display:block;font-size:1.1rem;font-weight:400}
.very_satisfied{background:#1b7a3a}.satisfied{background:#2f5fa8}.dissatisfied{background:#b3261e}
.board{background:#111;color:#fff;min-height:100vh}
table{width:100%;border-collapse:collapse;font-size:2rem}
td,th{padding:.6rem;border-bottom:1px solid #444;text-align:left}
td.number{font-size:5rem;font-weight:700;font-variant-numeric:tabular-nums;color:#ffd54a;
text-align:center}
th{font-size:1.1rem;color:#bbb;font-weight:400}th.number{text-align:center}
.board .en{color:#bbb}
"""


def _page(title: str, body: str, *, refresh: int | None = None, url: str = "",
          board: bool = False) -> str:
    body_class = ' class="board"' if board else ""
    meta = (f'<meta http-equiv="refresh" content="{refresh}{";url=" + url if url else ""}">'
            if refresh else "")
    return ("<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"{meta}<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body{body_class}><main>{body}</main></body></html>")


def _both(key: str, **params: object) -> tuple[str, str]:
    """Vietnamese first, English under it."""
    return t(key, lang="vi", **params), t(key, lang="en", **params)


def _heading(key: str, **params: object) -> str:
    vi, en = _both(key, **params)
    return f"<h1>{escape(vi)}</h1><p class=\"en\">{escape(en)}</p>"


def rating_page(services: CitizenRatingService) -> tuple[int, str]:
    question = services.question()
    title = t("rating.page.title", lang="vi")
    if question is None:
        return 200, _page(title, _heading("rating.page.waiting"), refresh=WAIT_REFRESH)
    buttons = "".join(
        f'<button type="submit" name="level" value="{level.value}" class="{level.value}">'
        f"{n}. {escape(level.label('vi'))}<small>{escape(level.label('en'))}</small></button>"
        for n, level in enumerate(RatingLevel, start=1))
    vi, en = _both("rating.page.procedure", name=question.procedure_name)
    body = (f'<p class="procedure">{escape(vi)}</p>' + _heading("rating.page.question")
            + '<form method="post" action="/rate">'
            f'<input type="hidden" name="token" value="{escape(question.token)}">'
            f"{buttons}</form>")
    return 200, _page(title, body, refresh=QUESTION_REFRESH)


def board_page(queue: QueueService) -> str:
    rows = "".join(
        f"<tr><td>{escape(line.group)}</td><td class=\"number\">{escape(line.label)}</td>"
        f"<td>{escape(t('queue.board.waiting', lang='vi', count=line.waiting))}</td></tr>"
        for line in queue.board())
    vi, en = _both("queue.board.title")
    head = (f"<tr><th>{escape(t('queue.board.group', lang='vi'))}</th>"
            f"<th class=\"number\">{escape(t('queue.board.number', lang='vi'))}</th>"
            f"<th>{escape(t('queue.board.waiting_head', lang='vi'))}</th></tr>")
    table = f"<table>{head}{rows}</table>" if rows else _heading("queue.board.empty")
    return _page(vi, f"<h1>{escape(vi)}</h1><p class=\"en\">{escape(en)}</p>{table}",
                 refresh=BOARD_REFRESH, board=True)


def _html(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8",
                        headers=HEADERS)


async def _answer(services: CitizenRatingService, request: web.Request) -> web.Response:
    title = t("rating.page.title", lang="vi")
    if request.content_type != "application/x-www-form-urlencoded":
        return _html(415, _page(title, _heading("rating.page.refused"), refresh=THANKS_SECONDS,
                                url="/"))
    form = await request.post()  # bounded by client_max_size
    token, level = form.get("token"), form.get("level")
    if (not isinstance(token, str) or not isinstance(level, str) or len(token) > MAX_TOKEN
            or level not in RatingLevel.values()):
        return _html(400, _page(title, _heading("rating.page.refused"),
                                refresh=THANKS_SECONDS, url="/"))
    try:
        await asyncio.to_thread(services.answer, token, level)
    except CcdeskError:
        return _html(409, _page(title, _heading("rating.page.expired"),
                                refresh=THANKS_SECONDS, url="/"))
    return _html(200, _page(title, _heading("rating.page.thanks"), refresh=THANKS_SECONDS,
                            url="/"))


async def _no_server_header(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.pop("Server", None)  # the server's name and version are nobody's business


def make_app(*, rating: CitizenRatingService | None, queue: QueueService | None
             ) -> web.Application:
    """The routes of the pages asked for; ``/`` is the rating page, else the board."""
    app = web.Application(client_max_size=MAX_BODY)
    app.on_response_prepare.append(_no_server_header)

    def route(render: Callable[[], tuple[int, str]]) -> Callable:
        async def handler(_request: web.Request) -> web.Response:
            status, body = await asyncio.to_thread(render)
            return _html(status, body)
        return handler

    if rating is not None:
        served = rating
        app.router.add_get("/", route(lambda: rating_page(served)))

        async def answer(request: web.Request) -> web.Response:
            return await _answer(served, request)

        app.router.add_post("/rate", answer)
    if queue is not None:
        board = queue
        app.router.add_get("/board", route(lambda: (200, board_page(board))))
        if rating is None:
            app.router.add_get("/", route(lambda: (200, board_page(board))))
    return app
