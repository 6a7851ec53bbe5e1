"""Checks of domains written by someone other than a developer (a manager's knowledge source,
a model's tool call), before the ORM runs them."""


def unsearchable_field(records, domain):
    """The description of the first field of ``domain`` (on ``records``'s model) that can be
    neither stored nor searched, or None (unknown fields are left to ``_where_calc``); a dotted
    path is followed field by field, and the conditions inside ``any`` / ``not any`` too."""
    for leaf in domain:
        if not isinstance(leaf, (list, tuple)) or len(leaf) != 3 or not isinstance(leaf[0], str):
            continue
        model = records
        for name in leaf[0].split("."):
            field = model._fields.get(name)
            if field is None:
                break
            if not (field.store or field.search):
                return f"{field.string} ({model._name}.{field.name})"
            if not field.relational:
                break
            model = model.env[field.comodel_name]
        if leaf[1] in ("any", "not any") and isinstance(leaf[2], (list, tuple)):
            inner = unsearchable_field(model, leaf[2])
            if inner:
                return inner
    return None
