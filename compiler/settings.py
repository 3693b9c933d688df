"""Layout settings (``layouts/settings.yaml``) and the project's fixed folders."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYOUTS_DIR = PROJECT_ROOT / "layouts"
FONTS_DIR = PROJECT_ROOT / "fonts"
SOURCES_DIR = PROJECT_ROOT / "sources"
OUTPUT_DIR = PROJECT_ROOT / "output"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Margins(_M):
    top: float
    bottom: float
    left: float
    right: float


class Page(_M):
    size: str
    margin_mm: Margins


class Table(_M):
    commitment_width_percent: float


class TextSettings(_M):
    size_pt: float
    line_height: float


class Fonts(_M):
    text: str
    heading: str
    heading_bold: str
    fallback: str
    word_text: str
    word_heading: str
    word_fallback: str

    def files(self) -> list[str]:
        return [self.text, self.heading, self.heading_bold, self.fallback]


class Markers(_M):
    bullets: list[str]
    numbered: str
    project: str
    note: str
    reprint: str
    budget: tuple[str, str]
    category: tuple[str, str]
    ministry: tuple[str, str]


class Numbering(_M):
    policies: str
    label: str
    item: str
    omitted: str
    omitted_range: str
    pillar: str


class HouseStyle(_M):
    digits: str
    tilde: str


class Settings(_M):
    page: Page
    table: Table
    text: TextSettings
    fonts: Fonts
    markers: Markers
    numbering: Numbering
    house_style: HouseStyle


@lru_cache(maxsize=None)
def load_settings(path: Path = LAYOUTS_DIR / "settings.yaml") -> Settings:
    from ruamel.yaml import YAML

    with open(path, encoding="utf-8") as fh:
        data = YAML(typ="safe", pure=True).load(fh)
    return Settings.model_validate(data)
