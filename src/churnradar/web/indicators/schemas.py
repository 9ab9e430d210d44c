"""The API's shapes for custom indicators: the definition, plus its name in the reader's language."""

from __future__ import annotations

from churnradar.indicator.custom import CustomDefinition


class IndicatorView(CustomDefinition):
    """A stored custom indicator: its definition, the name shown to this reader, and what it computes."""

    display_name: str
    columns: list[str]

    @classmethod
    def of(cls, definition: CustomDefinition, locale: str) -> IndicatorView:
        """The view of `definition` for a reader of `locale`."""
        shown = definition.name_zh if locale.startswith("zh") else definition.name_en
        return cls(**dict(definition), display_name=shown, columns=definition.slugs())
