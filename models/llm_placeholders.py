"""Placeholders in assistant instructions and prompt templates.

The syntax is Odoo's inline_template (mail templates' ``{{ object.partner_id.name }}``, with
a default after ``|||``), parsed by Odoo's own parser; but nothing is evaluated. Odoo renders
an expression beyond a short whitelist with ``safe_eval``, which can call any method of a
record (``sudo()`` included): mail keeps that to *Mail Template Editors*. Here a placeholder
is a field path only, walked field by field in the current user's environment, so a template
written by anyone (a user's private prompt too) reads nothing its reader could not read in
the web client: a placeholder the reader may not read renders empty (or its default).

Roots: ``record`` (also ``object`` and the seed's ``related_record``) is the conversation's
linked record, ``user`` the current user, ``company`` the current company; ``related_model``
and ``related_res_id`` are the linked record's model and id, and the seed's
``related_record.get_field('name')`` reads like ``record.name``.
"""

import re

from odoo import models
from odoo.exceptions import AccessError, MissingError, ValidationError
from odoo.tools import html2plaintext
from odoo.tools.rendering_tools import parse_inline_template

ROOTS = ("record", "object", "related_record", "user", "company")
PLAIN = ("related_model", "related_res_id")
_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_GET_FIELD = re.compile(r"""^related_record\.get_field\(\s*(['"])(\w+)\1\s*\)$""")


def _path(expression):
    """The field path of a placeholder as a list of names (its root first), or None."""
    match = _GET_FIELD.match(expression)
    if match:
        return ["record", match.group(2)]
    if not _PATH.match(expression):
        return None
    names = expression.split(".")
    return names if names[0] in ROOTS or (len(names) == 1 and names[0] in PLAIN) else None


def check_placeholders(env, text, record_models=()):
    """Raise a ValidationError naming the first placeholder that is not a field path, or
    whose fields do not exist: on the user and the company always, on the linked record when
    ``record_models`` (model names) says which models it may be. A misspelled field would
    otherwise render empty, unnoticed."""
    roots = {"user": ["res.users"], "company": ["res.company"]}
    for _literal, expression, _default in parse_inline_template(text or ""):
        if not expression:
            continue
        path = _path(expression)
        if path is None:
            raise ValidationError(env._(
                "The placeholder {{ %(expression)s }} is not a field path. Write fields of the "
                "linked record as {{ record.partner_id.name }}, of the user as "
                "{{ user.name }}, of the company as {{ company.name }}; add a default with "
                "{{ record.user_id.name ||| nobody }}.", expression=expression))
        if path[0] in PLAIN:
            continue
        for model_name in roots.get(path[0], record_models):
            broken = _broken_step(env[model_name], path[1:])
            if broken and broken[1] is None:
                raise ValidationError(env._(
                    "The placeholder {{ %(expression)s }} goes on after %(field)s, which is "
                    "not a relation to another record.", expression=expression,
                    field=broken[0]))
            if broken:
                raise ValidationError(env._(
                    "The placeholder {{ %(expression)s }} names %(field)s, which %(model)s "
                    "does not have.", expression=expression, field=broken[0],
                    model=env["ir.model"]._get(broken[1]._name).name))


def _broken_step(records, names):
    """Where the field path ``names`` from ``records``'s model breaks: ``(name, model)``, a
    name that is not a field of that model (the path's first model, or the one a relation
    leads to), or ``(name, None)``, a field that is no relation but has names after it; None
    when the whole path exists."""
    for index, name in enumerate(names):
        field = records._fields.get(name)
        if field is None:
            return name, records
        if index < len(names) - 1 and not field.relational:
            return name, None
        if field.relational:
            records = records.env[field.comodel_name]
    return None


def names_record(text):
    """Whether ``text`` has a placeholder of the linked record (``record``, its model or id):
    without a record, it would render empty."""
    for _literal, expression, _default in parse_inline_template(text or ""):
        path = _path(expression) if expression else ["user"]
        if path is None or path[0] not in ("user", "company"):
            return True
    return False


def render(env, text, record=None):
    """``text`` with its placeholders filled from ``record`` (may be None) as ``env``'s user."""
    # As the user, never in sudo mode: Odoo gives ``env.user`` in sudo mode, and a caller may
    # hold a sudo record; walked from either, every step would read as the superuser.
    env = env(su=False)
    record = record.with_env(env) if record else env["res.partner"].browse()  # empty: renders empty
    # One or two fields of the user and the company are read: only those columns are
    # fetched, not their whole rows (which nothing else before an answer reads).
    roots = {"user": env["res.users"].browse(env.uid).with_context(prefetch_fields=False),
             "company": env.company.with_context(prefetch_fields=False)}
    plain = {"related_model": record._name if record else "",
             "related_res_id": str(record.id) if record else ""}
    parts = []
    for literal, expression, default in parse_inline_template(text or ""):
        parts.append(literal)
        if not expression:
            continue
        path = _path(expression)
        if path is None:
            value = ""
        elif len(path) == 1 and path[0] in plain:
            value = plain[path[0]]
        else:
            value = _read(roots.get(path[0], record), path[1:])
        # Odoo's parser keeps the spaces before "}}" in the default.
        parts.append(value or default.rstrip())
    return "".join(parts)


def _read(records, names):
    """The value at the end of ``names`` from ``records``, as text ('' when unreadable)."""
    try:
        for index, name in enumerate(names):
            field = records._fields.get(name)
            if field is None or (index < len(names) - 1 and not field.relational) \
                    or not field.is_accessible(records.env):
                return ""
            # Checked here, not left to the fetch: a value already in the transaction's cache
            # (read by another user, or by the server) is returned without any check.
            records.check_access("read")
            if not field.relational:
                return ", ".join(filter(None, (_text(record, field) for record in records)))
            records = records.mapped(name)
        records.check_access("read")
        return ", ".join(records.mapped("display_name"))
    except (AccessError, MissingError):
        return ""


def _text(record, field):
    value = record[field.name]
    if value is False or value is None:
        return ""
    if field.type == "selection":
        return str(dict(field._description_selection(record.env)).get(value, value))
    if field.type == "html":
        return html2plaintext(value)
    if isinstance(value, models.BaseModel):
        return ", ".join(value.mapped("display_name"))
    return str(value)
