"""What the settings pages show, pure: channels with their secrets masked, routes, templates and playbooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from churnradar.config import NotificationSettings
from churnradar.intervention import playbooks
from churnradar.rule.schemas import Playbook, Template

MASK = "••••••"


@dataclass(frozen=True)
class ChannelView:
    """A configured channel as an admin may see it: options in clear, secrets by name only."""

    name: str
    type: str
    options: dict[str, str]
    secrets: dict[str, str]
    teams: list[str]
    routes: int


def channel_views(notifications: NotificationSettings) -> list[ChannelView]:
    """Every configured channel with the teams and routes using it; no secret value leaves this function."""
    views = []
    for name, config in sorted(notifications.channels.items()):
        views.append(
            ChannelView(
                name=name,
                type=config.type,
                options={
                    k: ", ".join(map(str, v)) if isinstance(v, list) else str(v)
                    for k, v in config.options.items()
                },
                secrets=dict.fromkeys(sorted(config.secrets), MASK),
                teams=sorted(
                    team for team, channel in notifications.team_channels.items() if channel == name
                ),
                routes=sum(1 for route in notifications.routes if route.channel == name),
            )
        )
    return views


@dataclass(frozen=True)
class TemplateView:
    """An industry template: what it extends, how many rules it applies, its playbooks by level."""

    slug: str
    name_en: str
    name_zh: str
    extends: str | None
    rules: int
    enabled: int
    playbooks: list[Playbook]


def template_views(
    templates: Mapping[str, Template], levels: tuple[str, ...], saved: playbooks.Stored | None = None
) -> list[TemplateView]:
    """General first, then the industry templates by name; playbooks in force (an admin's stored one over the
    template's) from the most severe level down."""
    order = {level: i for i, level in enumerate(levels)}
    stored = saved or {}
    return [
        TemplateView(
            slug=t.slug,
            name_en=t.name_en,
            name_zh=t.name_zh,
            extends=t.extends,
            rules=len(t.rules),
            enabled=sum(1 for r in t.rules if r.enabled),
            playbooks=sorted(
                [stored.get((t.slug, p.level), p) for p in t.playbooks]
                + [
                    b
                    for (slug, level), b in stored.items()
                    if slug == t.slug and level not in {p.level for p in t.playbooks}
                ],
                key=lambda p: -order.get(p.level, -1),
            ),
        )
        for t in sorted(templates.values(), key=lambda t: (t.extends is not None, t.slug))
    ]
