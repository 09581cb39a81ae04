from django.db import models

from betintel.enums import EnumField, deprecated, flagged


class Colour(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    BLUE = "blue", "Blue"


class Swatch(models.Model):
    colour = EnumField(Colour, type_name="colour_enum")
    name = models.CharField(max_length=50, blank=True)


class Finish(models.TextChoices):
    """One member of each kind: active, flagged and deprecated."""

    MATTE = "matte", "Matte"
    GLOSS = "gloss", "Gloss"
    SATIN = "satin", flagged("Satin", flag="enable_satin")
    METALLIC = "metallic", deprecated("Metallic", replacement="gloss")


class Paint(models.Model):
    """A model for the write rules: a default and a constraint that name enum values."""

    name = models.CharField(max_length=50, blank=True)
    finish = EnumField(Finish, type_name="finish_enum", default=Finish.MATTE)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(finish="satin", name=""), name="enumapp_paint_satin_named"
            ),
        ]
