"""Words shown to people, in zh-TW and English: one type for the office file, the wire and every screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    """A name or a sentence in Traditional Chinese (`zh`) and English (`en`); on the wire `{"zh-TW", "en"}`."""

    zh: str
    en: str

    def as_json(self) -> dict[str, str]:
        return {"zh-TW": self.zh, "en": self.en}

    @property
    def blank(self) -> bool:
        return not (self.zh or self.en)

    @classmethod
    def from_json(cls, value: Any) -> Text:
        """Whatever a peer sent, never an exception (CONTRACT.md: clients ignore what they do not know).

        `{"zh-TW", "en"}`, each standing in for the other when missing; a plain string for both;
        anything else is blank.
        """
        if isinstance(value, dict):
            zh = str(value.get("zh-TW") or value.get("zh") or value.get("en") or "")
            return cls(zh, str(value.get("en") or zh))
        if isinstance(value, str):
            return cls(value, value)
        return cls("", "")

    @classmethod
    def maybe(cls, value: Any) -> Text | None:
        """`from_json`, or None when nothing usable was sent (an absent footer, a null name)."""
        text = cls.from_json(value)
        return None if text.blank else text
