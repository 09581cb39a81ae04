from django.db import models

from betintel.enums import EnumField, deprecated, flagged


class Plan(models.TextChoices):
    BASIC = "basic", "Basic"
    LEGACY = "legacy", deprecated("Legacy", replacement="basic")
    BETA = "beta", flagged("Beta", flag="enable_beta_plan")


class Subscription(models.Model):
    plan = EnumField(Plan, type_name="statusapp_plan_enum")
