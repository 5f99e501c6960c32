"""The ticket image: TC glyphs, nothing past the margins, the ROC date, the priority mark, the wait range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import qrcode
from PIL import Image, ImageChops, ImageDraw, ImageFont

from kiosk.escpos_decode import qr_modules
from kiosk.ticket_image import (
    TicketContent,
    content_from_ticket,
    font,
    render_ticket,
    roc_date,
    wait_text,
    wrap,
)
from server.wire import fonts
from server.wire.text import Text

TPE = timezone(timedelta(hours=8))
OFFICE = Text("臺中市南屯區戶政事務所", "Nantun District Household Registration Office, Taichung")
FOOTER = Text("本號碼當日有效・過號請洽服務台・戶政人員不會要求您匯款",
              "Valid today only. Missed your number? Ask at the front desk. We never ask you to transfer money.")
URL = "https://queue.example.gov.tw/s/Xy3_abcdefghijkl"


def ticket(**kw) -> TicketContent:
    quick = Text("快速案件（謄本・印鑑證明）", "Quick cases (transcripts, seal certificates)")
    base = dict(office=OFFICE, service=quick,
                number="B023", lane=None, priority=False, ahead=8, wait_range_s=(900, 1500),
                issued_at=datetime(2026, 11, 22, 9, 41, tzinfo=TPE), status_url=URL, footer=FOOTER)
    base.update(kw)
    return TicketContent(**base)


def expected_qr(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def test_roc_date() -> None:
    assert roc_date(datetime(2026, 11, 22, 9, 41)) == "115/11/22"
    assert roc_date(datetime(2024, 1, 5)) == "113/01/05"


def test_wait_text_is_a_range_in_both_languages() -> None:
    lines = wait_text(8, (14 * 60 + 10, 24 * 60 + 10))
    assert lines[0] == Text("前面還有 8 人", "8 people ahead of you")
    assert lines[1] == Text("預估等候 14–25 分鐘", "Estimated wait: 14–25 min")
    assert wait_text(0, (0, 30))[0].en == "You are next"
    assert wait_text(3, None)[1].zh == "等候時間暫無法預估"
    assert wait_text(None, None) == []


def test_the_font_is_the_traditional_chinese_face() -> None:
    assert font(40).getname()[0] == "Noto Sans CJK TC"
    # Face 0 (JP) draws 骨 and 戶 differently from the TC face: the face index must really matter.
    jp = Image.new("L", (200, 100), 255)
    tc = jp.copy()
    spec = fonts.find("regular")
    ImageDraw.Draw(jp).text((0, 0), "骨戶", font=ImageFont.truetype(spec.path, 80, index=0), fill=0)
    ImageDraw.Draw(tc).text((0, 0), "骨戶", font=ImageFont.truetype(spec.path, 80, index=spec.index), fill=0)
    assert ImageChops.difference(jp, tc).getbbox() is not None


@pytest.mark.parametrize("width", [384, 576])
def test_rendered_ticket_fits_the_paper(width: int, tmp_path: Path) -> None:
    long_name = Text("臺中市南屯區戶政事務所附設新住民及多元文化綜合服務中心",
                     "A" * 10 + " very long English office name " * 3)
    img = render_ticket(ticket(office=long_name, priority=True, lane=Text("樂齡", "Seniors 65+")), width)
    img.save(tmp_path / f"t{width}.png")
    assert img.mode == "1" and img.width == width
    assert 500 < img.height < 2000  # about 10 cm of paper, not a scroll
    margin = max(12, width // 32)
    # Nothing is drawn in the side margins: long names wrapped instead of running off the paper.
    for band in ((0, 0, margin - 1, img.height), (width - margin + 1, 0, width, img.height)):
        assert ImageChops.invert(img.convert("L")).crop(band).getbbox() is None
    assert qr_modules(img) == expected_qr(URL)


def test_priority_lane_gets_a_black_banner_and_normal_does_not() -> None:
    def full_black_rows(img: Image.Image) -> int:
        margin = max(12, img.width // 32)
        rows = 0
        for y in range(img.height):
            row = img.crop((margin + 2, y, img.width - margin - 2, y + 1))
            if row.getextrema() == (0, 0):
                rows += 1
        return rows

    normal = render_ticket(ticket(), 576)
    priority = render_ticket(ticket(priority=True, lane=Text("愛心", "Accessibility priority")), 576)
    # The rules are 1-2 px; the banner is a solid band tens of pixels tall.
    assert full_black_rows(normal) < 6
    assert full_black_rows(priority) > 30


def test_wrap_breaks_english_at_spaces_and_chinese_anywhere() -> None:
    draw = ImageDraw.Draw(Image.new("L", (10, 10)))
    f = font(20)
    lines = wrap(draw, "Valid today only. Missed your number? Ask at the front desk.", f, 200)
    assert len(lines) > 1 and all(not line.startswith(" ") for line in lines)
    assert " ".join(lines) == "Valid today only. Missed your number? Ask at the front desk."
    zh = wrap(draw, "本號碼當日有效・過號請洽服務台・戶政人員不會要求您匯款", f, 120)
    assert "".join(zh) == "本號碼當日有效・過號請洽服務台・戶政人員不會要求您匯款"
    assert all(draw.textlength(line, font=f) <= 120 for line in zh)
    assert not any(line.startswith(("・", "，", "。")) for line in zh)


def test_content_from_hub_ticket_uses_the_neutral_name_of_a_private_service() -> None:
    t = {"id": "abc", "number": "P001", "service": "private", "lane": "normal",
         "issued_at": "2026-11-22T09:41:00+08:00", "ahead": 0, "estimated_wait_range_s": [0, 120],
         "priority": False, "private": True, "service_name": {"zh-TW": "專屬服務", "en": "Personal service"},
         "lane_name": {"zh-TW": "一般", "en": "General"}}
    c = content_from_ticket(t, OFFICE, "http://h/s/abc", None)
    assert c.service == Text("專屬服務", "Personal service")
    assert c.lane is None and not c.priority
    assert c.issued_at.hour == 9 and roc_date(c.issued_at) == "115/11/22"
    assert c.wait_range_s == (0, 120)
    assert "疼您" not in repr(c) and "divorce" not in repr(c)
