"""Workshop mode: answer checks for exercise cells, and the attendee / instructor notebook build.

In an exercise cell the attendee computes an answer and calls a check, which prints ✅ or ❌ with a
hint and returns ``True`` / ``False``. The expected value is computed from the same inputs the
exercise gives (so the check stays right when the data or numbers change)::

    answer = ...  # CTR of 100 clicks on 8,000 impressions, as a fraction
    check_ctr(answer, clicks=100, impressions=8000)

Messages are in English or Japanese: ``lang="en"``/``"ja"``, or by default the language of the last
:func:`cohortkit.set_style` call.

Adding an exercise (two lines)
------------------------------
Decorate a function that returns the expected value from the exercise's inputs; its name must start
with ``check_``, and the decorated name is the check attendees call::

    @exercise(hint="AOV = revenue / orders", hint_ja="客単価 = 売上 ÷ 注文数", percent=False)
    def check_aov(revenue, orders): return revenue / orders

It is registered under ``"aov"`` (so ``check("aov", answer, revenue=..., orders=...)`` works too).
Optional arguments: ``title``/``title_ja`` (what is being checked), ``rtol``/``atol`` (tolerance,
default 0.5 % relative), ``percent=True`` (the answer is a fraction; an answer 100× too big gets a
"give a fraction, not a percentage" hint; strings such as ``"1.25%"`` are accepted) and ``mistakes``,
a list of ``(function, hint, hint_ja)`` recognising a typical wrong answer (e.g. dividing the other
way) and answering it with a specific hint; ``other_way_round(formula, formula_ja)`` is that entry
for dividing the other way round. Put a built-in check in ``cohortkit/workshop/_keys.py`` (or yours in
your own module) and import it in the notebook.

The package
-----------
``_exercise`` (the ``exercise`` decorator, the registry, :func:`check` and its en/ja messages),
``_keys`` (the answer keys, calling the library where it has the exercise's definition), ``_build``
(the attendee / instructor build and its command line) and ``__main__``.

Attendee and instructor notebooks
---------------------------------
``python -m cohortkit.workshop --notebooks notebooks --out workshop`` (``make workshop``) writes

* ``workshop/attendee/*.ipynb``: cells tagged ``solution`` removed, every output cleared (cells tagged
  ``exercise`` are kept, empty, for the attendee to fill in);
* ``workshop/instructor/*.ipynb``: every cell kept, as in the source.

Examples
--------
>>> check_ctr(0.0125, clicks=100, impressions=8000, lang="en")
✅ Correct! CTR = 0.0125 (1.25 %).
True
>>> check_ctr(80, clicks=100, impressions=8000, lang="ja")
❌ 不正解です（あなたの答え: 80）。ヒント: 逆に割っています。CTR = クリック数 ÷ 表示回数 です。
False
"""

from __future__ import annotations

from ._build import attendee_version, build_workshop, main
from ._exercise import REGISTRY as _REGISTRY
from ._exercise import check, exercise, exercises, other_way_round
from ._keys import (
    check_allowable_cpa,
    check_budget_shift,
    check_cpa,
    check_cpc,
    check_ctr,
    check_cvr,
    check_expected_spend,
    check_lead_score,
    check_ltv_cac,
    check_ltv_roas,
    check_nps,
    check_payback,
    check_per_period_rate,
    check_repeat_rate,
    check_repeat_rate_lift,
    check_retention,
    check_roas,
    check_stage_conversion,
)
from ._keys import __all__ as _KEYS

__all__ = ["check", "exercise", "exercises", "build_workshop", "attendee_version", *_KEYS]
