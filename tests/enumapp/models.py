from django.db import models

from betintel.enums import EnumField


class Colour(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    BLUE = "blue", "Blue"


class Swatch(models.Model):
    colour = EnumField(Colour, type_name="colour_enum")
    name = models.CharField(max_length=50, blank=True)
