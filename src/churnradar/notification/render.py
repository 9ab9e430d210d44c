"""Subjects (catalog messages, rendered in the receiver's language), and the plain-text, Markdown and HTML
forms of a message."""

from __future__ import annotations

from html import escape

from churnradar import i18n
from churnradar.i18n import N_
from churnradar.notification.schemas import Message

SUBJECTS = {
    "alert_opened": N_("churnradar: {n} new churn warning(s)"),
    "alert_escalated": N_("churnradar: {n} churn warning(s) escalated"),
    "task_assigned": N_("churnradar: {n} task(s) assigned to you"),
    "deadline_reminder": N_("churnradar: {n} task(s) due soon"),
    "deadline_missed": N_("churnradar: {n} task deadline(s) missed"),
    "digest": N_("churnradar daily digest: {n} open task(s)"),
    "data_health": N_("churnradar: {n} data feed problem(s)"),
}
OTHER_SUBJECT = N_("churnradar: {n} update(s)")


def language(locale: str | None) -> str:
    """The notification language code (`en` or `zh`, as stored in messages) of a locale or tag."""
    return "zh" if i18n.normalize(locale) == "zh_CN" else "en"


def subject(event: str, count: int, language: str) -> str:
    """The subject line of a group of `count` notices."""
    return i18n.translate(SUBJECTS.get(event, OTHER_SUBJECT), language, n=count)


def text(message: Message) -> str:
    """Plain text: the subject, a blank line, one line per item."""
    return "\n".join([message.subject, "", *(f"- {line}" for line in message.lines)]) + "\n"


def markdown(message: Message) -> str:
    """Markdown for chat robots (DingTalk, WeCom, Feishu, Slack read this subset)."""
    return "\n".join([f"### {message.subject}", "", *(f"- {line}" for line in message.lines)])


def html(message: Message) -> str:
    """A small HTML body for email; every value escaped."""
    items = "".join(f"<li>{escape(line)}</li>" for line in message.lines)
    lang = "zh-CN" if message.language == "zh" else "en"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><body>'
        f"<h3>{escape(message.subject)}</h3><ul>{items}</ul></body></html>"
    )
