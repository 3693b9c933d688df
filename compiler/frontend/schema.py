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


Text = Annotated[str, Field(strict=True), AfterValidator(_non_empty)]
Id = Annotated[str, Field(strict=True, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
FileName = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=80)]
TextList = Annotated[list[Text], BeforeValidator(_as_list)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- status blocks ---------------------------------------------------------

def _entry_kind(value: Any) -> str:
    return "text" if isinstance(value, str) else "entry"


class ListEntry(Strict):
    """One bullet or numbered entry, optionally with plain paragraphs under it (no marker,
    aligned with its text) and a nested list."""

    text: Text
    paragraphs: TextList = []
    bullets: list[EntryOrText] | None = None
    numbered: list[EntryOrText] | None = None

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
    project: Text
    id: Id | None = None
    budget: TextList = []


class ReprintBlock(Strict):
    """A project shown again by id. ``budget`` (this occurrence's own budget lines, possibly
    none: ``budget: []``) replaces the first occurrence's when given."""

    reprint: Id
    budget: TextList | None = None


class BulletsBlock(Strict):
    bullets: Annotated[list[EntryOrText], Field(min_length=1)]


class NumberedBlock(Strict):
    numbered: Annotated[list[EntryOrText], Field(min_length=1)]


class TextBlock(Strict):
    text: Text


class NoteBlock(Strict):
    note: Text


class MinistryBlock(Strict):
    ministry: Text


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
    name: Text
    full_name: Text | None = None
    aliases: TextList = []


class Columns(Strict):
    commitment: Text
    status: Text


class DocumentFile(Strict):
    title: Text
    as_of: Text
    author: Text
    output_name: FileName
    columns: Columns
    ministries: Annotated[list[Ministry], Field(min_length=1)]


class PillarFile(Strict):
    id: Id
    title: Text


class PolicyFile(Strict):
    id: Id
    short_title: Text
    principle: Annotated[TextList, Field(min_length=1)]
    notes: TextList = []


class ItemFile(Strict):
    id: Id
    category: Text
    commitment: Annotated[TextList, Field(min_length=1)]
    ministry: Text
    status: Annotated[list[Block], BeforeValidator(_as_list)] = []
