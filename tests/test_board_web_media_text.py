"""The web board's waiting list beside the office's media (docs/display.md, "Media"): readable from
across the hall on a 1920×1080 TV, measured as Chromium computes the font sizes; the media gives way."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from browser import browser
from test_board_web import TOKEN, TV, WAIT_MS, _png, act, clips, hub, issue  # noqa: F401 (fixtures)

SIZES_JS = """() => {
  const px = s => Array.from(document.querySelectorAll(s)).map(e => parseFloat(getComputedStyle(e).fontSize));
  const box = e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom, r.height]; };
  return {zh: px("#services .sname").concat(px("#services .swait")),
          en: px("#services .sname-en").concat(px("#services .swait-en")),
          rows: document.querySelectorAll("#services li").length,
          recent: document.querySelectorAll("#recent li").length,
          list: box(document.getElementById("services")), media: box(document.getElementById("media")),
          side: box(document.getElementById("side"))};
}"""


def served(listing: dict[str, Any], files: dict[str, bytes]) -> Any:
    def serve(route: Any) -> None:
        path = "/" + route.request.url.split("/", 3)[3].split("?")[0]
        if path == "/api/v1/media":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(listing))
        else:
            route.fulfill(status=200, content_type="application/octet-stream", body=files[path])
    return serve


@pytest.mark.timeout(180)
def test_the_waiting_list_stays_readable_beside_media(hub: Any, tmp_path: Path) -> None:  # noqa: F811
    for _ in range(3):
        issue(hub.url)
    act(hub.url, "1")
    serve = served({"media": [{"id": "red", "kind": "image", "url": "/files/red.png", "duration_s": 30}]},
                   {"/files/red.png": _png((220, 20, 20))})
    with browser() as b:
        page = b.new_page(viewport=TV, locale="zh-TW")
        page.route("**/api/v1/media", serve)
        page.route("**/files/*", serve)
        page.goto(f"{hub.url}/board?token={TOKEN}")
        page.wait_for_selector("body.has-media #media img.media-item", timeout=WAIT_MS)
        page.wait_for_timeout(300)  # the resize after the media came is debounced by the page (150 ms)
        got = page.evaluate(SIZES_JS)
        # To look at it: JIAOHAO_SCREENSHOTS=DIR keeps the picture there.
        page.screenshot(path=str(Path(os.environ.get("JIAOHAO_SCREENSHOTS") or tmp_path) / "board-web-media.png"))
    assert got["rows"] >= 4 and len(got["zh"]) == 2 * got["rows"], got  # every service listed
    assert min(got["zh"]) >= 24 and min(got["en"]) >= 18, got
    assert got["media"][2] > 100, got  # the media is still shown, below the list
    assert got["media"][0] >= got["list"][1] and got["media"][1] <= got["side"][1] + 1, got
    assert got["recent"] <= 1, got  # recent calls keep only the rows they fill (one call made)
