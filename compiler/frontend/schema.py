"""Validation models: the shape of each kind of source file, as pydantic models.

These describe files, not the document: numbering, 再掲 and the table of
contents are the resolver's business. Every model forbids unknown keys so a
typo is reported (with the nearest valid key) instead of silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError


def _non_empty(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "empty text")
    return value


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


Text = Annotated[str, Field(strict=True, json_schema_extra={"pattern": r"\S"}), AfterValidator(_non_empty)]
Id = Annotated[str, Field(strict=True, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
FileName = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=80)]
# one text may stand for a list of one; an empty value for none (the JSON Schema says so too)
TextList = Annotated[list[Text], BeforeValidator(_as_list, json_schema_input_type=Union[Text, list[Text], None])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- status blocks ---------------------------------------------------------

def _entry_kind(value: Any) -> str:
    return "text" if isinstance(value, str) else "entry"


class ListEntry(Strict):
    """One bullet or numbered entry, optionally with plain paragraphs under it (no marker,
    aligned with its text) and a nested list."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["bullets", "numbered"]}})

    text: Text = Field(description="この項目の文章")
    paragraphs: TextList = Field([], description="この項目の下に続く段落（記号なし）")
    bullets: list[EntryOrText] | None = Field(None, description="下位の箇条書き（numbered とは同時に書けません）")
    numbered: list[EntryOrText] | None = Field(None, description="下位の番号付きの項目（bullets とは同時に書けません）")

    @model_validator(mode="after")
    def _one_child_list(self):
        if self.bullets is not None and self.numbered is not None:
            raise PydanticCustomError("two_lists", "bullets and numbered together")
        return self


EntryOrText = Annotated[
    Union[Annotated[Text, Tag("text")], Annotated[ListEntry, Tag("entry")]],
    Discriminator(_entry_kind),
]
ListEntry.model_rebuild()


class ProjectBlock(Strict):
    project: Text = Field(description="事業名（○ は付けません）")
    id: Id | None = Field(None, description="再掲するときの事業の id（英小文字・数字・ハイフン、文書全体で一意）")
    budget: TextList = Field([], description="予算（【】は付けません）。1 行ごとに「- 」で始めます")


class ReprintBlock(Strict):
    """A project shown again by id. ``budget`` (this occurrence's own budget lines, possibly
    none: ``budget: []``) replaces the first occurrence's when given."""

    reprint: Id = Field(description="再掲する事業の id（その事業の project ブロックの id）")
    budget: TextList | None = Field(None, description="この再掲での予算の行（書かなければ最初の事業の予算。[] なら予算なし）")


class BulletsBlock(Strict):
    bullets: Annotated[list[EntryOrText], Field(min_length=1)] = Field(description="箇条書き（記号は書きません）")


class NumberedBlock(Strict):
    numbered: Annotated[list[EntryOrText], Field(min_length=1)] = Field(description="番号付きの項目（①②… は自動で付きます）")


class TextBlock(Strict):
    text: Text = Field(description="段落の文章")


class NoteBlock(Strict):
    note: Text = Field(description="注記（※ は付けません）")


class MinistryBlock(Strict):
    ministry: Text = Field(description="取組状況の末尾に［］で示す府省庁名（［］は付けません。複数なら「・」か「、」でつなぎます）")


BLOCK_KINDS = ("project", "reprint", "bullets", "numbered", "text", "note", "ministry")


def _block_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in BLOCK_KINDS:
            if kind in value:
                return kind
    return None


Block = Annotated[
    Union[
        Annotated[ProjectBlock, Tag("project")],
        Annotated[ReprintBlock, Tag("reprint")],
        Annotated[BulletsBlock, Tag("bullets")],
        Annotated[NumberedBlock, Tag("numbered")],
        Annotated[TextBlock, Tag("text")],
        Annotated[NoteBlock, Tag("note")],
        Annotated[MinistryBlock, Tag("ministry")],
    ],
    Discriminator(_block_kind),
]


# --- files -------------------------------------------------------------------

class Ministry(Strict):
    name: Text = Field(description="府省庁の略称（［］の中と、プレビューのファイル名に使います）")
    full_name: Text | None = Field(None, description="正式名称")
    aliases: TextList = Field([], description="原稿やコマンドで同じ府省庁として受け付ける別名")


class Columns(Strict):
    commitment: Text = Field(description="表の左の列の見出し")
    status: Text = Field(description="表の右の列の見出し")


class DocumentFile(Strict):
    title: Text = Field(description="文書の表題")
    as_of: Text = Field(description="時点（例: 令和5年2月時点）")
    author: Text = Field(description="作成者（PDF の文書情報に入ります）")
    output_name: FileName = Field(description="出力ファイル名（拡張子なし。半角英数字と . _ -）")
    columns: Columns = Field(description="表の列見出し")
    ministries: Annotated[list[Ministry], Field(min_length=1)] = Field(description="府省庁の登録簿（略称・正式名称・別名）")


class PillarFile(Strict):
    id: Id = Field(description="柱の id（英小文字・数字・ハイフン、文書全体で一意）")
    title: Text = Field(description="柱の表題（番号「1.」は自動で付きます）")


class PolicyFile(Strict):
    id: Id = Field(description="政策の id（英小文字・数字・ハイフン、文書全体で一意）")
    short_title: Text = Field(description="目次と見出しに使う短い表題（番号 ① は自動で付きます）")
    principle: Annotated[TextList, Field(min_length=1)] = Field(description="■新たな大方針の文章。段落ごとに「- 」で始めます")
    notes: TextList = Field([], description="大方針の下の注記（※ は付けません）")


class ItemFile(Strict):
    id: Id = Field(description="取組方針の id（英小文字・数字・ハイフン、文書全体で一意）")
    category: Text = Field(description="分類（【】は付けません）")
    commitment: Annotated[TextList, Field(min_length=1)] = Field(
        description="新たな取組方針の文章。段落ごとに「- 」で始めます（番号 （①－1） は自動で付きます）")
    ministry: Text = Field(description="担当の府省庁（［］は付けません。document.yaml の登録簿の名前）")
    status: Annotated[list[Block], BeforeValidator(_as_list, json_schema_input_type=Union[list[Block], None])] = Field(
        [], description="事業名・取組状況等のブロック（project, reprint, bullets, numbered, text, note, ministry）")
