"""Settings (admins only): templates and playbooks, channels and routing with a test per channel, people."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.indicator import service as indicator_service
from churnradar.indicator.exceptions import DefinitionError
from churnradar.intervention import playbooks, routes
from churnradar.intervention.exceptions import PlaybookError, RoutingError
from churnradar.kit.clock import SystemClock
from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.models.people import Role
from churnradar.notification import service as notification_service
from churnradar.notification import stored_channels, stored_routes
from churnradar.notification.channels import channels
from churnradar.notification.exceptions import ChannelConfigError, DeliveryError
from churnradar.notification.routing import PHONE_CHANNELS
from churnradar.rule import service as rule_service
from churnradar.rule import template_settings
from churnradar.rule.exceptions import TemplateSettingsError
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep, SessionDep
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.settings import service
from churnradar.web.templating import names_by_slug, render, request_locale

router = APIRouter(prefix="/settings", dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add(
    "settings", NavItem("settings", N_("Settings"), "/settings", order=85, roles=frozenset({Role.ADMIN}))
)
# Roles on duty in playbooks, shown translated.
DUTY_LABELS = {
    "owner": N_("the owner"),
    "owner_and_manager": N_("the owner and their manager"),
    "director": N_("the owner, their manager and the directors"),
}

# Notification events and outbox states, shown translated (routing and the outbox).
EVENT_LABELS = {
    "alert_opened": N_("alert opened"),
    "alert_escalated": N_("alert escalated"),
    "task_assigned": N_("task assigned"),
    "deadline_reminder": N_("deadline reminder"),
    "deadline_missed": N_("deadline missed"),
    "digest": N_("digest"),
    "data_health": N_("data health"),
    "test": N_("test message"),
}
# Who a route reaches, shown translated.
TARGET_LABELS = {
    "assignee": N_("the assignee"),
    "on_duty": N_("who is on duty"),
    "manager": N_("the manager"),
    "directors": N_("the directors"),
    "team": N_("the team's channel"),
    "admins": N_("the admins"),
}
# Whom a task route names, shown translated.
WHO_LABELS = {
    "owner": N_("the owner"),
    "owner_manager": N_("the owner's manager"),
    "owner_director": N_("the owner's director"),
    "team_manager": N_("the team's manager"),
}
# Channel types, shown translated; a plugin's own type is shown as it is named.
CHANNEL_LABELS = {
    "email": N_("E-mail"),
    "sms": N_("SMS gateway"),
    "dingtalk": N_("DingTalk robot"),
    "wecom": N_("WeCom robot"),
    "feishu": N_("Feishu robot"),
    "slack": N_("Slack robot"),
    "webhook": N_("Webhook (HTTP callback)"),
}
# The language notifications are written in, named in the reader's ("英文" on a Chinese page).
MESSAGE_LANGUAGES = {"en": N_("in English"), "zh_CN": N_("in Chinese")}
OUTBOX_LABELS = {
    "pending": N_("waiting"),
    "sent": N_("sent"),
    "dead": N_("failed"),
    "skipped": N_("skipped"),
}


def _context(request: Request, session: Session) -> dict[str, Any]:
    settings: Settings = stored_channels.with_stored(session, request.app.state.settings)
    counts, latest = notification_service.outbox_preview(request.app.state.engine)
    templates = rule_service.active_templates(request.app.state.engine, at=SystemClock().now())
    users = auth_service.list_users(session)
    chinese = request_locale(request) == "zh_CN"
    return {
        "templates": service.template_views(templates, DEFAULT_LEVELS, playbooks.stored(session)),
        "template_names": names_by_slug(request, templates),
        "rule_names": {
            slug: zh if chinese else en
            for (_template, slug), (en, zh) in rule_service.rule_names(session.connection()).items()
        },
        "channel_labels": CHANNEL_LABELS,
        "message_language": MESSAGE_LANGUAGES[i18n.normalize(settings.notifications.language)],
        "duty": DUTY_LABELS,
        "notifications": settings.notifications,
        "notifications_file": settings.notifications_file,
        "channels": service.channel_views(settings.notifications),
        "people": {"users": len(users), "active": sum(1 for u, _t, _m in users if u.is_active)},
        "teams": auth_service.list_team_names(session),
        "result": None,
        "playbook_error": None,
        "channel_error": None,
        "channel_types": sorted(channels),
        "outbox": {"counts": counts, "latest": latest},
        "event_labels": EVENT_LABELS,
        "target_labels": TARGET_LABELS,
        "outbox_labels": OUTBOX_LABELS,
        "task_routes": routes.stored(session),
        "task_routes_yaml": routes.export_text(routes.stored(session)),
        "who_labels": WHO_LABELS,
        "levels": DEFAULT_LEVELS,
        "routing_source": "file" if stored_routes.stored(session) is None else "stored",
        "routing_yaml": stored_routes.routes_text(settings.notifications),
        "route_error": None,
        "routing_error": None,
        "template_choices": template_settings.stored_choices(session),
        "clones": set(template_settings.stored_clones(session)),
        "template_error": None,
        "keywords": indicator_service.keywords_in_force(request.app.state.engine),
        "keywords_error": None,
    }


@router.get("", name="settings")
def settings_page(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Templates and playbooks, notification channels and routing, and where users and teams are managed."""
    return render(request, "settings/index.html", _context(request, session), principal=principal)


def test_channel(
    settings: Settings, session: Session, principal: Principal, channel_id: str
) -> dict[str, Any]:
    """Send a test message through a channel to the admin's own address now; audited; what happened."""
    settings = stored_channels.with_stored(session, settings)
    if channel_id not in settings.notifications.channels:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such channel")
    user = auth_service.get_user(session, principal.user_id)
    # A text message goes to the admin's phone (or the channel's fixed numbers), never to an e-mail address.
    by_phone = settings.notifications.channels[channel_id].type in PHONE_CHANNELS
    address = ((user.phone if by_phone else user.email) if user else None) or ""
    try:
        notification_service.send_test(
            settings, channel_id, address=address, sent_by=principal.login, now=SystemClock().now()
        )
        result = {"channel": channel_id, "ok": True, "error": None, "address": address}
    except (DeliveryError, ValueError) as exc:
        result = {"channel": channel_id, "ok": False, "error": str(exc), "address": address}
    auth_service.record(session, principal, "send_test", "channel", channel_id, {"ok": result["ok"]})
    session.commit()
    return result


@router.post("/channels/{channel_id}/test", name="settings_channel_test")
def send_test(request: Request, principal: AdminDep, session: SessionDep, channel_id: str) -> Response:
    """Send a test message through one channel to the signed-in admin now, and show what happened."""
    result = test_channel(request.app.state.settings, session, principal, channel_id)
    if request.headers.get("hx-request") == "true":
        return render(request, "settings/_test_result.html", {"result": result}, principal=principal)
    return render(
        request, "settings/index.html", _context(request, session) | {"result": result}, principal=principal
    )


@router.post("/playbooks/{template}/{level}", name="settings_playbook")
async def save_playbook(
    request: Request, principal: AdminDep, session: SessionDep, template: str, level: str
) -> Response:
    """Change a playbook: its deadline and follow-up, and with the whole form every other field (new tasks
    take it; open ones keep theirs)."""
    form = await request.form()
    templates = rule_service.active_templates(request.app.state.engine, at=SystemClock().now())
    found = playbooks.in_force(templates, playbooks.stored(session), template, level)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such playbook")
    body = found[0].model_dump(mode="json")
    for name in ("deadline_hours", "follow_up_every_hours"):
        text = str(form.get(name, "")).strip()
        body[name] = (int(text) if text.lstrip("-").isdigit() else text) if text else None
    if "role" in form:  # the whole form: every field (the short one gives the deadline and follow-up only)
        body |= _playbook_fields(form)
    try:
        playbooks.save(session, principal, templates, template, level, body, now=SystemClock().now())
    except PlaybookError as exc:
        session.rollback()
        refusal = i18n.render(exc.text, request_locale(request))
        context = _context(request, session) | {"playbook_error": (template, level, refusal)}
        return render(request, "settings/index.html", context, principal=principal, status_code=422)
    session.commit()
    return RedirectResponse(f"/settings#template-{template}", status_code=status.HTTP_303_SEE_OTHER)


def _playbook_fields(form: Any) -> dict[str, Any]:
    """Role, team, business hours, who is told, escalation and the steps, as a playbook's JSON."""

    def steps(name: str) -> list[str]:
        return [line.strip() for line in str(form.get(name, ""))[:20_000].splitlines() if line.strip()][:50]

    hours = str(form.get("business_hours", ""))
    return {
        "role": str(form.get("role", ""))[:32],
        "team": str(form.get("team", ""))[:100] or None,
        "business_hours": {"yes": True, "no": False}.get(hours),
        "notify": [str(v)[:32] for v in form.getlist("notify")][:5],
        "escalate_to": str(form.get("escalate_to", ""))[:32] or None,
        "actions_en": steps("actions_en"),
        "actions_zh": steps("actions_zh"),
    }


def _yaml_mapping(text: str, field: str) -> dict[str, Any]:
    """A form's YAML mapping (empty when blank); `ChannelConfigError` naming the field otherwise."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        raise ChannelConfigError(i18n.msg("{field}: not YAML", field=field)) from None
    if not isinstance(value, dict):
        raise ChannelConfigError(i18n.msg("{field}: expected lines of name: value", field=field))
    return value


@router.post("/channels", name="settings_channel_save")
async def save_channel(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Add or change a stored channel; its secrets are sealed and never shown again (left blank: kept)."""
    form = await request.form()
    try:
        body = {
            "type": str(form.get("type", "")),
            "options": _yaml_mapping(str(form.get("options", ""))[:20_000], "options"),
            "secrets": _yaml_mapping(str(form.get("secrets", ""))[:20_000], "secrets"),
        }
        name = str(form.get("name", ""))[:100]
        stored_channels.save(
            session, principal, request.app.state.settings, name, body, now=SystemClock().now()
        )
    except ChannelConfigError as exc:
        session.rollback()
        context = _context(request, session) | {
            "channel_error": i18n.render(exc.text, request_locale(request))
        }
        return render(request, "settings/index.html", context, principal=principal, status_code=422)
    session.commit()
    return RedirectResponse("/settings#channels", status_code=status.HTTP_303_SEE_OTHER)


def _listed(text: str) -> list[str]:
    """A form's comma-separated values (English or Chinese commas), blanks dropped."""
    return [v.strip() for v in text.replace("\uff0c", ",").split(",") if v.strip()][:50]


def _refused(
    request: Request, session: Session, principal: Principal, key: str, message: str | i18n.Message
) -> Response:
    session.rollback()
    context = _context(request, session) | {key: i18n.render(message, request_locale(request))}
    return render(request, "settings/index.html", context, principal=principal, status_code=422)


def _store_routes(request: Request, session: Session, principal: Principal, entries: list[Any]) -> Response:
    try:
        routes.save(session, principal, entries, now=SystemClock().now())
    except RoutingError as exc:
        return _refused(request, session, principal, "route_error", exc.text)
    session.commit()
    return RedirectResponse("/settings#task-routes", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/task-routes", name="settings_task_route_add")
async def add_task_route(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Add a task route at the top (it is tried first) or the end of the list."""
    form = await request.form()
    entry: dict[str, Any] = {
        "name": str(form.get("name", ""))[:200].strip(),
        "levels": [str(v) for v in form.getlist("levels")][:10],
        "assign_to": str(form.get("assign_to", "owner")),
        "notify": [str(v) for v in form.getlist("notify")][:10],
    }
    for field in ("rules", "segments", "tiers", "industries", "teams"):
        entry[field] = _listed(str(form.get(field, ""))[:2000])
    current = [r.model_dump(mode="json") for r in routes.stored(session)]
    first = form.get("position") == "first"
    return _store_routes(request, session, principal, [entry, *current] if first else [*current, entry])


@router.post("/task-routes/{position}/remove", name="settings_task_route_remove")
def remove_task_route(request: Request, principal: AdminDep, session: SessionDep, position: int) -> Response:
    """Remove one task route (by its place in the list)."""
    current = [r.model_dump(mode="json") for r in routes.stored(session)]
    if not 0 <= position < len(current):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such route")
    return _store_routes(request, session, principal, current[:position] + current[position + 1 :])


@router.post("/task-routes/yaml", name="settings_task_routes_yaml")
async def replace_task_routes(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Replace the whole list (order and every field) from the YAML text box, checked whole."""
    form = await request.form()
    try:
        routes.import_yaml(session, principal, str(form.get("routes", "")), now=SystemClock().now())
    except RoutingError as exc:
        return _refused(request, session, principal, "route_error", exc.text)
    session.commit()
    return RedirectResponse("/settings#task-routes", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/notification-routing", name="settings_notification_routing")
async def save_notification_routing(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Store the notification routes (YAML) and quiet hours over the file's; `reset` returns to the file's."""
    form = await request.form()
    now = SystemClock().now()
    if form.get("reset"):
        stored_routes.reset(session, principal, now=now)
        session.commit()
        return RedirectResponse("/settings#routing", status_code=status.HTTP_303_SEE_OTHER)
    settings = stored_channels.with_stored(session, request.app.state.settings)
    try:
        body = _yaml_mapping(str(form.get("routes", ""))[:100_000], "routes")
        body |= {k: str(form.get(k, "")).strip() or None for k in ("quiet_start", "quiet_end")}
        stored_routes.save(session, principal, body, settings.notifications.channels, now=now)
    except ChannelConfigError as exc:
        return _refused(request, session, principal, "routing_error", exc.text)
    session.commit()
    return RedirectResponse("/settings#routing", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/templates/{template}/clone", name="settings_template_clone")
async def clone_template(
    request: Request, principal: AdminDep, session: SessionDep, template: str
) -> Response:
    """Copy a template (rules and playbooks) under a new slug and names, to edit apart."""
    form = await request.form()
    names = (str(form.get("name_en", ""))[:300], str(form.get("name_zh", ""))[:300])
    now = SystemClock().now()
    try:
        slug = str(form.get("slug", ""))[:100].strip()
        template_settings.clone(session.connection(), principal, template, slug, names, now=now)
        playbooks.copy_stored(session, template, slug, now=now, by=principal.login)
    except TemplateSettingsError as exc:
        return _refused(request, session, principal, "template_error", str(exc))
    session.commit()
    return RedirectResponse(f"/settings#template-{slug}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/templates/{template}/remove", name="settings_template_remove")
async def remove_template(
    request: Request, principal: AdminDep, session: SessionDep, template: str
) -> Response:
    """Remove a cloned template (its rules and playbooks); refused while a template choice applies it."""
    try:
        template_settings.remove_clone(session.connection(), principal, template, now=SystemClock().now())
        playbooks.drop_stored(session, template)
    except TemplateSettingsError as exc:
        return _refused(request, session, principal, "template_error", str(exc))
    session.commit()
    return RedirectResponse("/settings#templates", status_code=status.HTTP_303_SEE_OTHER)


async def _store_choices(
    request: Request, session: Session, principal: Principal, entries: list[Any]
) -> Response:
    try:
        template_settings.save_choices(session, principal, entries, now=SystemClock().now())
    except TemplateSettingsError as exc:
        return _refused(request, session, principal, "template_error", str(exc))
    session.commit()
    return RedirectResponse("/settings#template-choices", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/template-choices", name="settings_template_choice_add")
async def add_template_choice(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Add a choice at the end: customers of these industries and segments take this template."""
    form = await request.form()
    entry = {
        "industries": _listed(str(form.get("industries", ""))[:2000]),
        "segments": _listed(str(form.get("segments", ""))[:2000]),
        "template": str(form.get("template", ""))[:100],
    }
    current = [c.model_dump(mode="json") for c in template_settings.stored_choices(session)]
    return await _store_choices(request, session, principal, [*current, entry])


@router.post("/template-choices/{position}/remove", name="settings_template_choice_remove")
async def remove_template_choice(
    request: Request, principal: AdminDep, session: SessionDep, position: int
) -> Response:
    """Remove one template choice (by its place in the list)."""
    current = [c.model_dump(mode="json") for c in template_settings.stored_choices(session)]
    if not 0 <= position < len(current):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such choice")
    return await _store_choices(request, session, principal, current[:position] + current[position + 1 :])


@router.post("/indicator-keywords", name="settings_indicator_keywords")
async def save_indicator_keywords(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Store the competitor names, deep features and balance threshold the next run's indicators use."""
    form = await request.form()
    threshold = str(form.get("balance_threshold", "")).strip()[:32]
    body: dict[str, Any] = {
        "competitor_names": _listed(str(form.get("competitor_names", ""))[:20_000]) or None,
        "deep_features": _listed(str(form.get("deep_features", ""))[:5_000]) or None,
        "balance_threshold": threshold or None,
    }
    try:
        indicator_service.save_keywords(
            request.app.state.engine, body, actor=principal, now=SystemClock().now()
        )
    except DefinitionError as exc:
        return _refused(request, session, principal, "keywords_error", str(exc))
    return RedirectResponse("/settings#indicator-keywords", status_code=status.HTTP_303_SEE_OTHER)
