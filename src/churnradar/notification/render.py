"""Subjects in English and Chinese, and the plain-text, Markdown and HTML forms of a message."""

from __future__ import annotations

from html import escape

from churnradar.notification.schemas import Message

SUBJECTS = {
    "alert_opened": ("churnradar: {n} new churn warning(s)", "churnradar：{n} 个新的流失预警"),
    "alert_escalated": ("churnradar: {n} churn warning(s) escalated", "churnradar：{n} 个流失预警已升级"),
    "task_assigned": ("churnradar: {n} task(s) assigned to you", "churnradar：{n} 个挽留任务分配给你"),
    "deadline_reminder": ("churnradar: {n} task(s) due soon", "churnradar：{n} 个挽留任务即将到期"),
    "deadline_missed": ("churnradar: {n} task deadline(s) missed", "churnradar：{n} 个挽留任务已逾期"),
    "digest": ("churnradar daily digest: {n} open task(s)", "churnradar 每日摘要：{n} 个待处理任务"),
    "data_health": ("churnradar: {n} data feed problem(s)", "churnradar：{n} 个数据源异常"),
}


def subject(event: str, count: int, language: str) -> str:
    """The subject line of a group of `count` notices."""
    en, zh = SUBJECTS.get(event, ("churnradar: {n} update(s)", "churnradar：{n} 条更新"))
    return (zh if language == "zh" else en).format(n=count)


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
