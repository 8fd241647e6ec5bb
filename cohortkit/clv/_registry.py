"""The CLV models by public name: ``CLVModel(purchase_model=..., spend_model=...)`` looks them up here.

To add a model, write its class in a file of its own (a :class:`~._base.PurchaseModel` or
:class:`~._base.SpendModel` subclass) and list it below.
"""

from __future__ import annotations

from .._errors import DataError
from ._base import PurchaseModel, SpendModel
from ._bgnbd import BetaGeo
from ._gamma_gamma import GammaGamma
from ._mbgnbd import ModifiedBetaGeo
from ._paretonbd import ParetoNBD

__all__ = ["PURCHASE_MODELS", "SPEND_MODELS", "purchase_model", "spend_model"]

#: public name -> purchase model class
PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {cls.name: cls for cls in (BetaGeo, ModifiedBetaGeo, ParetoNBD)}
#: public name -> spend model class
SPEND_MODELS: dict[str, type[SpendModel]] = {cls.name: cls for cls in (GammaGamma,)}


def _names(registry) -> str:
    return ", ".join(repr(name) for name in registry)


def purchase_model(name) -> PurchaseModel:
    """The purchase model called ``name``; anything else raises :class:`~cohortkit.DataError`."""
    cls = PURCHASE_MODELS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise DataError(f"purchase_model={name!r} is not a purchase model; pass one of {_names(PURCHASE_MODELS)}.")
    return cls()


def spend_model(name) -> SpendModel | None:
    """The spend model called ``name``, or None for ``None``; anything else raises."""
    if name is None:
        return None
    cls = SPEND_MODELS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise DataError(f"spend_model={name!r} is not a spend model; pass {_names(SPEND_MODELS)} or None.")
    return cls()
