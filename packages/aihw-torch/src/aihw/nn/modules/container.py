"""``AnalogSequential``: a :class:`torch.nn.Sequential` that knows its analog layers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch import Tensor
from torch.nn import Sequential

from .base import AnalogLayerBase

__all__ = ["AnalogSequential"]


class AnalogSequential(Sequential):
    """A :class:`torch.nn.Sequential` with helpers for the analog layers it contains.

    It behaves exactly like ``Sequential``; the helpers look at every submodule, nested
    ones included. Its ``load_state_dict`` checks the whole state dict first
    (:func:`aihw.nn.check_state_dict`) and changes nothing if any of it does not fit.

    Examples::

        >>> from torch.nn import ReLU
        >>> from aihw.nn import AnalogLinear, AnalogSequential
        >>> model = AnalogSequential(AnalogLinear(4, 3), ReLU(), AnalogLinear(3, 1))
        >>> len(list(model.analog_layers()))
        2
        >>> weights = model.get_weights()  # {'0': (weight, bias), '2': (weight, bias)}
        >>> model.set_weights(weights)
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from ..persistence import protect_load_state_dict

        # load_state_dict checks the whole state dict before changing anything.
        protect_load_state_dict(self)

    def named_analog_layers(self) -> Iterator[tuple[str, AnalogLayerBase]]:
        """Yield ``(name, layer)`` for every analog layer, with ``named_modules`` names."""
        for name, module in self.named_modules():
            if isinstance(module, AnalogLayerBase):
                yield name, module

    def analog_layers(self) -> Iterator[AnalogLayerBase]:
        """Yield every analog layer, nested ones included."""
        for _, layer in self.named_analog_layers():
            yield layer

    def analog_tiles(self) -> Iterator[Any]:
        """Yield the analog tile of every analog layer."""
        for layer in self.analog_layers():
            yield from layer.analog_tiles()

    def analog_engines(self) -> dict[str, dict[str, str]]:
        """Which implementation each tile of every analog layer runs, keyed
        ``"<layer name>.tiles[i]"`` (:meth:`AnalogLayerBase.analog_engines`)."""
        return {
            f"{name}.{key}": engines
            for name, layer in self.named_analog_layers()
            for key, engines in layer.analog_engines().items()
        }

    def sync_parameters_from_tile(self) -> None:
        """Call :meth:`AnalogLayerBase.sync_parameters_from_tile` on every analog layer."""
        for layer in self.analog_layers():
            layer.sync_parameters_from_tile()

    def remap_analog_weights(self, remap: Any = None) -> None:
        """Remap every analog layer's weights into its tiles' output scales
        (:func:`aihw.nn.inference.remap_analog_weights`)."""
        from ..inference import remap_analog_weights

        remap_analog_weights(self, remap)

    def program_analog_weights(self, seed: int | None = None) -> None:
        """Program every analog layer onto its noise model's devices
        (:func:`aihw.nn.inference.program_analog_weights`)."""
        from ..inference import program_analog_weights

        program_analog_weights(self, seed)

    def prepare_for_ddp(self, group: Any = None) -> None:
        """Ready the model for ``DistributedDataParallel``
        (:func:`aihw.nn.distributed.prepare_for_ddp`)."""
        from ..distributed import prepare_for_ddp

        prepare_for_ddp(self, group)

    def drift_analog_weights(self, t_inference: float = 0.0) -> None:
        """Read every programmed analog layer ``t_inference`` seconds later
        (:func:`aihw.nn.inference.drift_analog_weights`)."""
        from ..inference import drift_analog_weights

        drift_analog_weights(self, t_inference)

    def get_weights(self) -> dict[str, tuple[Tensor, Tensor | None]]:
        """Return ``{name: (weight, bias)}`` (copies) for every analog layer."""
        return {name: layer.get_weights() for name, layer in self.named_analog_layers()}

    def set_weights(self, weights: dict[str, tuple[Tensor, Tensor | None]]) -> None:
        """Program analog layers from ``{name: (weight, bias)}`` as given by :meth:`get_weights`.

        Every name is checked before any layer changes; a name that is not an analog layer
        raises ``KeyError`` listing the analog layers.
        """
        layers = dict(self.named_analog_layers())
        unknown = sorted(set(weights) - set(layers))
        if unknown:
            raise KeyError(
                f"set_weights: {', '.join(map(repr, unknown))} not analog layers of this model; "
                f"analog layers: {', '.join(map(repr, layers)) or 'none'}"
            )
        for name, (weight, bias) in weights.items():
            layers[name].set_weights(weight, bias)
