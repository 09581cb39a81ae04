"""The form field of ``EnumField``: offers only values usable for new writes (SPEC §3)."""

from __future__ import annotations

from django import forms

from .validation import Refusal, invalid_value, refusal_reason, unknown_label, writable_values


class EnumFormField(forms.TypedChoiceField):
    """A choice among the writable values, plus the value an existing object already holds.

    Deprecated and flag-off members are not offered for new objects; an object that holds one
    (or a value the code does not know at all) still shows it, and may be saved with it
    unchanged (the held value is known once the field is bound to its form, as rendering and
    validation do). What is offered is worked out each time the choices are read, because
    feature flags may change while the process runs.
    """

    model_field = None
    all_choices: list = []
    kept_values: frozenset = frozenset()

    def bind(self, model_field) -> None:
        """Tie this form field to the ``EnumField`` it edits."""
        self.model_field = model_field
        self.all_choices = list(self.choices)
        self.choices = self.offered_choices

    def offered_choices(self) -> list[tuple]:
        """The choices to show: blank (if any), writable values, and the value held now."""
        offered = set(writable_values(self.model_field)) | self.kept_values
        choices = [
            (key, label)
            for key, label in self.all_choices
            if key in self.empty_values or str(key) in offered
        ]
        # A value held now that the code does not know (a newer release added it) is shown as
        # it is, so that saving without touching the field keeps it.
        known = {str(key) for key, _label in self.all_choices}
        choices += [
            (value, unknown_label(value)) for value in sorted(self.kept_values - known)
        ]
        return choices

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        if result.model_field is not None:
            # Every form gets its own copy; its choices must read that copy's kept values.
            result.choices = result.offered_choices
        return result

    def get_bound_field(self, form, field_name):
        if self.model_field is not None:
            self.kept_values = frozenset(self._held_value(form, field_name))
        return super().get_bound_field(form, field_name)

    def _held_value(self, form, field_name) -> list[str]:
        instance = getattr(form, "instance", None)
        if instance is not None:
            if instance._state.adding:
                return []
            held = getattr(instance, self.model_field.attname, None)
        else:
            held = form.initial.get(field_name)
        return [] if held in self.empty_values else [str(getattr(held, "value", held))]

    def validate(self, value) -> None:
        refused = value not in self.empty_values and not self.valid_value(value)
        if self.model_field is not None and refused:
            reason = refusal_reason(self.model_field, str(value)) or Refusal.UNKNOWN
            raise invalid_value(self.model_field, value, reason)
        super().validate(value)
