"""REST API for the settings admins keep: playbooks, stored channels with a test message, task routes, and
notification routes with quiet hours (each listed, stored, exported and imported as YAML)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from churnradar.indicator import service as indicator_service
from churnradar.intervention import playbooks, routes
from churnradar.kit.clock import SystemClock
from churnradar.notification import stored_channels, stored_routes
from churnradar.rule import service as rule_service
from churnradar.rule import template_settings
from churnradar.rule.schemas import Template
from churnradar.web.deps import AdminToken, SessionDep
from churnradar.web.settings.documents import exported, imported
from churnradar.web.settings.pages import test_channel

router = APIRouter(tags=["settings"])


@router.post(
    "/channels/{channel_id}/test",
    summary="Send a test message",
    responses={404: {"description": "No channel of that name."}, 403: {"description": "Admins only."}},
)
def send_test(
    request: Request, principal: AdminToken, session: SessionDep, channel_id: str
) -> dict[str, Any]:
    """Send a test message through the channel to the token user's own address now (audited): `ok`, and the
    `error` the channel gave when it failed."""
    return test_channel(request.app.state.settings, session, principal, channel_id)


def _templates(request: Request) -> dict[str, Template]:
    return rule_service.active_templates(request.app.state.engine, at=SystemClock().now())


@router.get(
    "/playbooks", summary="List the playbooks in force", responses={403: {"description": "Admins only."}}
)
def list_playbooks(request: Request, principal: AdminToken, session: SessionDep) -> list[dict[str, Any]]:
    """Every template's playbook per level, most severe first, with `source`: `stored` (an admin's),
    `template` (the template file's) or `general` (inherited from the general template)."""
    return [
        {"template": v.template, "level": v.level, "source": v.source, **v.playbook.model_dump(mode="json")}
        for v in playbooks.views(_templates(request), playbooks.stored(session))
    ]


@router.put(
    "/playbooks/{template}/{level}",
    summary="Store a playbook",
    responses={
        422: {"description": "Unknown template, level or team, or a wrong field (named in `detail`)."},
        403: {"description": "Admins only."},
    },
)
def put_playbook(
    request: Request,
    principal: AdminToken,
    session: SessionDep,
    template: str,
    level: str,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Store the playbook of a template and level (audited): `role` (owner, owner_and_manager, director),
    `team` (a named team), `deadline_hours` (> 0), `business_hours`, `follow_up_every_hours`, `notify`,
    `escalate_to`, and the steps in both languages. New tasks take it; open tasks keep theirs."""
    book = playbooks.save(
        session, principal, _templates(request), template, level, body, now=SystemClock().now()
    )
    session.commit()
    return {"template": template, **book.model_dump(mode="json")}


@router.delete(
    "/playbooks/{template}/{level}",
    summary="Return to the template's playbook",
    responses={404: {"description": "No stored playbook there."}, 403: {"description": "Admins only."}},
)
def delete_playbook(principal: AdminToken, session: SessionDep, template: str, level: str) -> dict[str, Any]:
    """Drop the stored playbook (audited): new tasks take the template's own again."""
    if not playbooks.reset(session, principal, template, level, now=SystemClock().now()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored playbook")
    session.commit()
    return {"template": template, "level": level, "removed": True}


@router.get(
    "/playbooks/export",
    summary="Export the playbooks as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_playbooks(request: Request, principal: AdminToken, session: SessionDep) -> PlainTextResponse:
    """Every playbook in force as YAML (audited), ready for `POST /playbooks/import`."""
    return exported(session, lambda: playbooks.export_yaml(session, principal, _templates(request)))


@router.post(
    "/playbooks/import",
    summary="Import playbooks from YAML",
    responses={422: {"description": "The document is refused whole; `detail` locates each wrong entry."}},
)
async def import_playbooks(request: Request, principal: AdminToken, session: SessionDep) -> dict[str, int]:
    """Store every playbook of a YAML body (`playbooks:` entries with `template` and `level`), checked whole:
    one wrong entry stores none. Audited."""
    templates, now = _templates(request), SystemClock().now()
    count = await imported(
        request, session, lambda text: playbooks.import_yaml(session, principal, templates, text, now=now)
    )
    return {"stored": count}


@router.get("/channels", summary="List the stored channels", responses={403: {"description": "Admins only."}})
def list_channels(request: Request, principal: AdminToken, session: SessionDep) -> list[dict[str, Any]]:
    """The channels admins stored (beside the YAML file's): type, options and the names of the secrets set;
    a secret's value is never shown."""
    return [asdict(v) for v in stored_channels.views(session, request.app.state.settings)]


@router.put(
    "/channels/{channel_id}",
    summary="Store a channel",
    responses={
        422: {"description": "Unknown type or a wrong option (named in `detail`)."},
        403: {"description": "Admins only."},
    },
)
def put_channel(
    request: Request,
    principal: AdminToken,
    session: SessionDep,
    channel_id: str,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Store a channel: `type` (email, sms, dingtalk, wecom, feishu, slack, webhook, ...), `options`, and
    `secrets` encrypted at rest (left out: the stored ones are kept). Audited without secrets."""
    view = stored_channels.save(
        session, principal, request.app.state.settings, channel_id, body, now=SystemClock().now()
    )
    session.commit()
    return asdict(view)


@router.delete(
    "/channels/{channel_id}",
    summary="Remove a stored channel",
    responses={404: {"description": "No stored channel of that name."}, 403: {"description": "Admins only."}},
)
def delete_channel(principal: AdminToken, session: SessionDep, channel_id: str) -> dict[str, Any]:
    """Drop a stored channel (audited); the YAML file's channel of that name, if any, applies again."""
    if not stored_channels.remove(session, principal, channel_id, now=SystemClock().now()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored channel")
    session.commit()
    return {"name": channel_id, "removed": True}


@router.get(
    "/channels/export",
    summary="Export the stored channels as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_channels(request: Request, principal: AdminToken, session: SessionDep) -> PlainTextResponse:
    """`channels:` each stored channel's name, type, options and the names of its secrets (never their
    values); audited."""
    settings = request.app.state.settings
    return exported(session, lambda: stored_channels.export_yaml(session, principal, settings))


@router.post(
    "/channels/import",
    summary="Import channels from YAML",
    responses={
        422: {"description": "The document is refused whole; `detail` locates each wrong channel."},
        403: {"description": "Admins only."},
    },
)
async def import_channels(request: Request, principal: AdminToken, session: SessionDep) -> dict[str, int]:
    """Store each `channels:` entry (name, type, options, and `secrets` to set: a stored channel keeps those
    left out), all checked before any is stored; audited without secrets."""
    settings, now = request.app.state.settings, SystemClock().now()

    def load(text: str) -> int:
        return stored_channels.import_yaml(session, principal, settings, text, now=now)

    return {"channels": await imported(request, session, load)}


@router.get("/task-routes", summary="List the task routes", responses={403: {"description": "Admins only."}})
def list_task_routes(principal: AdminToken, session: SessionDep) -> list[dict[str, Any]]:
    """The task routes in their order: the first whose criteria (`rules`, `levels`, `segments`, `tiers`,
    `industries`, `teams`; empty matches all) hold picks who gets a new task (`assign_to`) and who else is
    told (`notify`); none matching, the owner gets it."""
    return [route.model_dump(mode="json") for route in routes.stored(session)]


@router.put(
    "/task-routes",
    summary="Replace the task routes",
    responses={
        422: {"description": "A wrong route; `detail` names each by position and field."},
        403: {"description": "Admins only."},
    },
)
def put_task_routes(
    principal: AdminToken, session: SessionDep, body: Annotated[list[dict[str, Any]], Body()]
) -> list[dict[str, Any]]:
    """Store the whole ordered list (checked whole: one wrong route stores none; audited). `assign_to` and
    `notify` name owner, owner_manager, owner_director or team_manager. New tasks follow it."""
    saved = routes.save(session, principal, body, now=SystemClock().now())
    session.commit()
    return [route.model_dump(mode="json") for route in saved]


@router.get(
    "/task-routes/export",
    summary="Export the task routes as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_task_routes(principal: AdminToken, session: SessionDep) -> PlainTextResponse:
    """The routes as YAML (`routes:`), audited, ready for `POST /task-routes/import`."""
    return exported(session, lambda: routes.export_yaml(session, principal))


@router.post(
    "/task-routes/import",
    summary="Import the task routes from YAML",
    responses={422: {"description": "The document is refused whole; `detail` locates each wrong route."}},
)
async def import_task_routes(request: Request, principal: AdminToken, session: SessionDep) -> dict[str, int]:
    """Replace the routes with a YAML body's (`routes:`), checked whole; audited."""
    now = SystemClock().now()
    count = await imported(
        request, session, lambda text: routes.import_yaml(session, principal, text, now=now)
    )
    return {"stored": count}


def _channel_names(request: Request, session: SessionDep) -> list[str]:
    return stored_channels.names_in_force(session, request.app.state.settings)


@router.get(
    "/notification-routing",
    summary="The notification routes and quiet hours in force",
    responses={403: {"description": "Admins only."}},
)
def get_notification_routing(request: Request, principal: AdminToken, session: SessionDep) -> dict[str, Any]:
    """`routes` (events, levels, to, channel) and `quiet_start`/`quiet_end`; `source` says whether they are
    stored by admins or the YAML file's."""
    saved = stored_routes.stored(session)
    document = stored_routes.in_force(request.app.state.settings.notifications, saved)
    return document.model_dump(mode="json") | {"source": "file" if saved is None else "stored"}


@router.put(
    "/notification-routing",
    summary="Store the notification routes and quiet hours",
    responses={
        422: {"description": "A wrong route or time; `detail` names its place."},
        403: {"description": "Admins only."},
    },
)
def put_notification_routing(
    request: Request, principal: AdminToken, session: SessionDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Store routes and quiet hours over the file's (checked whole, channels must exist; audited)."""
    document = stored_routes.save(
        session, principal, body, _channel_names(request, session), now=SystemClock().now()
    )
    session.commit()
    return document.model_dump(mode="json") | {"source": "stored"}


@router.delete(
    "/notification-routing",
    summary="Return to the file's notification routes",
    responses={404: {"description": "Nothing stored."}, 403: {"description": "Admins only."}},
)
def delete_notification_routing(principal: AdminToken, session: SessionDep) -> dict[str, bool]:
    """Drop the stored routes and quiet hours (audited): the YAML file's apply again."""
    if not stored_routes.reset(session, principal, now=SystemClock().now()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored notification routing")
    session.commit()
    return {"removed": True}


@router.get(
    "/notification-routing/export",
    summary="Export the notification routes as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_notification_routing(
    request: Request, principal: AdminToken, session: SessionDep
) -> PlainTextResponse:
    """The routes and quiet hours in force as YAML, audited."""
    notifications = request.app.state.settings.notifications
    return exported(session, lambda: stored_routes.export_yaml(session, principal, notifications))


@router.post(
    "/notification-routing/import",
    summary="Import the notification routes from YAML",
    responses={422: {"description": "The document is refused whole; `detail` locates each wrong place."}},
)
async def import_notification_routing(
    request: Request, principal: AdminToken, session: SessionDep
) -> dict[str, Any]:
    """Store a YAML body's routes and quiet hours, checked whole; audited."""
    channels, now = _channel_names(request, session), SystemClock().now()
    document = await imported(
        request, session, lambda text: stored_routes.import_yaml(session, principal, text, channels, now=now)
    )
    return {"routes": len(document.routes)}


@router.post(
    "/templates/{template}/clone",
    summary="Clone a template",
    responses={
        422: {"description": "Unknown source, a taken or wrong slug, or a missing name."},
        403: {"description": "Admins only."},
    },
)
def clone_template(
    request: Request,
    principal: AdminToken,
    session: SessionDep,
    template: str,
    body: Annotated[dict[str, str], Body()],
) -> dict[str, Any]:
    """Copy a template (its rules, health parts, bands and playbooks, with the playbooks and rules admins
    stored for it) as `slug`, named `name_en` and `name_zh`; audited. Edit its rules and playbooks as any
    template's; choose where it applies with `PUT /template-choices`."""
    now = SystemClock().now()
    names = (str(body.get("name_en", "")), str(body.get("name_zh", "")))
    raw = template_settings.clone(
        session.connection(), principal, template, str(body.get("slug", "")), names, now=now
    )
    playbooks.copy_stored(session, template, raw["slug"], now=now, by=principal.login)
    session.commit()
    return {"slug": raw["slug"], "extends": raw.get("extends"), "rules": len(raw["rules"])}


@router.delete(
    "/templates/{template}",
    summary="Remove a template clone",
    responses={
        422: {"description": "A shipped template, no such clone, or a clone a template choice applies."},
        403: {"description": "Admins only."},
    },
)
def remove_template(principal: AdminToken, session: SessionDep, template: str) -> dict[str, Any]:
    """Remove a cloned template with its rules and stored playbooks (audited); refused while a template
    choice applies it, naming the choice's industries and segments."""
    rules = template_settings.remove_clone(session.connection(), principal, template, now=SystemClock().now())
    removed = playbooks.drop_stored(session, template)
    session.commit()
    return {"slug": template, "removed": True, "rules": rules, "playbooks": removed}


@router.get(
    "/template-choices", summary="List the template choices", responses={403: {"description": "Admins only."}}
)
def list_template_choices(principal: AdminToken, session: SessionDep) -> list[dict[str, Any]]:
    """The ordered choices: the first whose `industries` and `segments` (empty: any) hold for a customer
    names its `template`; none matching, the industry's template applies (general otherwise)."""
    return [c.model_dump(mode="json") for c in template_settings.stored_choices(session)]


@router.put(
    "/template-choices",
    summary="Replace the template choices",
    responses={
        422: {"description": "A wrong choice; `detail` names each by position and field."},
        403: {"description": "Admins only."},
    },
)
def put_template_choices(
    principal: AdminToken, session: SessionDep, body: Annotated[list[dict[str, Any]], Body()]
) -> list[dict[str, Any]]:
    """Store the whole ordered list, checked whole; audited. The next evaluation follows it."""
    saved = template_settings.save_choices(session, principal, body, now=SystemClock().now())
    session.commit()
    return [c.model_dump(mode="json") for c in saved]


@router.get(
    "/template-choices/export",
    summary="Export the template clones and choices as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_template_choices(principal: AdminToken, session: SessionDep) -> PlainTextResponse:
    """`clones:` (the cloned templates as template files write them) and `choices:`, audited."""
    return exported(session, lambda: template_settings.export_yaml(session, principal))


@router.post(
    "/template-choices/import",
    summary="Import template clones and choices from YAML",
    responses={422: {"description": "The document is refused whole; `detail` locates each wrong entry."}},
)
async def import_template_choices(
    request: Request, principal: AdminToken, session: SessionDep
) -> dict[str, int]:
    """Store a YAML body's `clones:` (added or replaced by slug, with their rules) and `choices:` (the list
    replaced, when given), all checked before anything is stored; audited."""
    now = SystemClock().now()
    return await imported(
        request, session, lambda text: template_settings.import_yaml(session, principal, text, now=now)
    )


@router.get(
    "/indicator-keywords",
    summary="The built-in keyword lists in force",
    responses={403: {"description": "Admins only."}},
)
def get_indicator_keywords(request: Request, principal: AdminToken) -> dict[str, Any]:
    """`competitor_names` (texts naming them count as competitor mentions), `deep_features` (the features
    deep-feature adoption counts) and `balance_threshold` (below it, the low-balance flag is set)."""
    return indicator_service.keywords_in_force(request.app.state.engine).model_dump(mode="json")


@router.put(
    "/indicator-keywords",
    summary="Store the built-in keyword lists",
    responses={
        422: {"description": "A wrong field, named in `detail`."},
        403: {"description": "Admins only."},
    },
)
def put_indicator_keywords(
    request: Request, principal: AdminToken, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Store any of the three (a field left out keeps the shipped value); the next run's indicators use
    them. Audited."""
    engine = request.app.state.engine
    indicator_service.save_keywords(engine, body, actor=principal, now=SystemClock().now())
    return indicator_service.keywords_in_force(engine).model_dump(mode="json")


@router.get(
    "/indicator-keywords/export",
    summary="Export the built-in keyword lists as YAML",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
)
def export_indicator_keywords(request: Request, principal: AdminToken) -> PlainTextResponse:
    """The keyword lists in force (`competitor_names`, `deep_features`, `balance_threshold`); audited."""
    text = indicator_service.export_keywords_yaml(request.app.state.engine, actor=principal)
    return PlainTextResponse(text, media_type="application/yaml")


@router.post(
    "/indicator-keywords/import",
    summary="Import the built-in keyword lists from YAML",
    responses={
        422: {"description": "Not YAML, or a wrong field, named in `detail`."},
        403: {"description": "Admins only."},
    },
)
async def import_indicator_keywords(request: Request, principal: AdminToken) -> dict[str, Any]:
    """Store the lists a YAML body gives, as `PUT /indicator-keywords` does; audited."""
    text = (await request.body()).decode("utf-8", errors="replace")
    engine = request.app.state.engine
    saved = indicator_service.import_keywords_yaml(engine, text, actor=principal, now=SystemClock().now())
    return saved.model_dump(mode="json")
