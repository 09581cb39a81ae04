"""Converting a column between a character type and an enum type (SPEC §4b).

``ConvertToEnumField`` (a ``CharField``/``TextField`` becomes an ``EnumField``) and
``ConvertFromEnumField`` (the way back) are Django ``AlterField``\\ s, so migration state stays
Django's; only the database step differs. Django would run ``ALTER COLUMN … TYPE`` without a
``USING`` clause (an ``EnumField`` is a ``CharField`` to it), which PostgreSQL refuses. Here the
conversion is planned from the catalog first (``plan_conversion``, ``plan.py``):

- going to the enum, the rows whose value is not a label of the type (empty strings and
  whitespace variants included) are counted, and the conversion is refused, naming up to ten
  such values with their row counts, before anything changes; going back to a character
  column, values longer than its ``max_length`` are refused the same way (``refusals.py``);
- the column's default is dropped and put back as a constant of the new type;
- Django's ``_like`` index (``varchar_pattern_ops``), which an enum column cannot have, is
  dropped, as Django drops it for any non-character column, and made again (as Django would)
  on the way back;
- indexes and constraints of the model's ``Meta`` whose definitions hold an expression over the
  column (a partial index, a CHECK) are made again from the target model, so their constants
  have the column's new type; plain, unique and primary-key indexes are rebuilt by
  PostgreSQL itself during the ``ALTER``.

Then ``run_conversion`` (``run.py``) carries it out, as ``conversion_strategy`` chooses: in
place, in one ``ALTER TABLE … ALTER COLUMN … TYPE … USING`` under the lock budget of
``locks.py``, or online (``online.choose_conversion``, the rules of the online type swap: a
non-atomic migration and a table above ``ENUM_ONLINE_MIN_ROWS`` under ``ENUM_SWAP=auto``, always
under ``online``). Online, the column is converted beside live traffic by the online swap's
machinery: a shadow column of the target type filled through the ``USING`` expression by a
trigger and a batched backfill, indexes built again ``CONCURRENTLY``, CHECKs and ``NOT NULL``
proven by validated constraints, then a switch that only changes the catalog. A value written
meanwhile that the target type cannot hold never makes the write fail: the shadow gets NULL, the
old column keeps the value, and the conversion stops before its switch naming such values (it
resumes once they are changed). Either way the stray-value check runs first.

The operations are in ``operations.py`` and the field shapes they recognise (``is_conversion``,
``intermediate_field``) in ``fields.py``. Migrations name the operations by this package
(``betintel.enums.conversion.ConvertToEnumField``), never by the module inside it.
"""

from __future__ import annotations

from .fields import is_conversion
from .operations import ConvertFromEnumField, ConvertToEnumField, EnumConversion
from .plan import ColumnConversion
from .refusals import stray_values, too_long_values

__all__ = [
    "ColumnConversion",
    "ConvertFromEnumField",
    "ConvertToEnumField",
    "EnumConversion",
    "is_conversion",
    "stray_values",
    "too_long_values",
]
