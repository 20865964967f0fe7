"""Turning a ``torch.nn`` model analog, and back.

:func:`convert_to_analog` replaces every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d``,
``nn.Conv3d``, ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` by its analog counterpart with the
same options and weights; :func:`convert_to_digital` replaces analog layers by
``torch.nn`` layers holding their current (logical) weights.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel

from .mapping import MappingParameters
from .modules.base import AnalogLayerBase
from .modules.checks import check_resistive_device
from .modules.conv import AnalogConv1d, AnalogConv2d, AnalogConv3d, _AnalogConvNd
from .modules.linear import AnalogLinear
from .modules.rnn import layers as rnn_layers
from .persistence import protect_load_state_dict

__all__ = ["convert_to_analog", "convert_to_digital"]

_CONVS: dict[type[nn.Module], type[_AnalogConvNd]] = {
    nn.Conv1d: AnalogConv1d,
    nn.Conv2d: AnalogConv2d,
    nn.Conv3d: AnalogConv3d,
}
_DIGITAL: dict[type[Any], type[nn.Module]] = {
    AnalogLinear: nn.Linear,
    AnalogConv1d: nn.Conv1d,
    AnalogConv2d: nn.Conv2d,
    AnalogConv3d: nn.Conv3d,
}
_LAYER_KEYS = {"resistive_device", "rpu_config", "mapping", "update", "seed"}

#: What a per-layer config function may return.
LayerConfig = DeviceModel | TileConfig | dict[str, Any] | None


def _convertible(module: nn.Module) -> bool:
    if isinstance(module, AnalogLayerBase):
        return False
    return (
        type(module) is nn.Linear
        or type(module) in _CONVS
        or type(module) in rnn_layers._TORCH_TO_ANALOG
    )


def _excluded(name: str, module: nn.Module, exclude: tuple[Any, ...]) -> bool:
    for item in exclude:
        if isinstance(item, str) and (name == item or name.startswith(item + ".")):
            return True
        if isinstance(item, type) and isinstance(module, item):
            return True
    return False


def _layer_kwargs(
    config: Any,
    name: str,
    mapping: MappingParameters | None,
    update: Any,
) -> dict[str, Any] | None:
    """The analog layer's keyword arguments for ``config``; ``None``: keep it digital."""
    if config is None:
        return None
    if isinstance(config, DeviceModel):
        return {"resistive_device": config, "mapping": mapping, "update": _pulsed(config, update)}
    if isinstance(config, TileConfig):
        config = {"rpu_config": config}
    if isinstance(config, dict):
        unknown = sorted(set(config) - _LAYER_KEYS)
        if unknown:
            raise TypeError(
                f"convert_to_analog: the config of layer {name!r} has unknown key(s) "
                f"{', '.join(unknown)}; allowed: {', '.join(sorted(_LAYER_KEYS))}"
            )
        kwargs: dict[str, Any] = {"resistive_device": None, "mapping": mapping}
        kwargs.update(config)
        device = kwargs["resistive_device"]
        check_resistive_device(device)
        if kwargs.get("rpu_config") is not None:
            # The configuration holds the update parameters; a model-wide update= is
            # passed on for the layer to refuse (it names both).
            kwargs.setdefault("update", update)
        elif "update" not in config:  # the layer's own update= is checked by the layer
            kwargs["update"] = _pulsed(device, update)
        return kwargs
    raise TypeError(
        f"convert_to_analog: the config function returned {type(config).__name__} for layer "
        f"{name!r}; expected a device, a TileConfig, a dict of layer options, or None (keep "
        "it digital)"
    )


def _pulsed(device: DeviceModel | None, update: Any) -> Any:
    """The model-wide ``update``, for a pulsed layer only: floating-point tiles have no
    update parameters (and refuse them when given one)."""
    return None if device is None or device.is_floating_point else update


def _conv_shape(conv: Any) -> dict[str, Any]:
    """The constructor arguments that give a convolution its shape, shared by torch's
    convolutions and the analog ones (so a conversion keeps them in both directions)."""
    return {
        "in_channels": conv.in_channels,
        "out_channels": conv.out_channels,
        "kernel_size": conv.kernel_size,
        "stride": conv.stride,
        "padding": conv.padding,
        "dilation": conv.dilation,
        "groups": conv.groups,
        "padding_mode": conv.padding_mode,
    }


def _to_analog(module: nn.Module, kwargs: dict[str, Any]) -> nn.Module:
    if isinstance(module, nn.RNNBase):
        return rnn_layers.from_torch(module, **kwargs)
    weight, bias = module.weight, module.bias
    assert isinstance(weight, torch.Tensor) and (bias is None or isinstance(bias, torch.Tensor))
    has_bias = bias is not None
    device = weight.device
    dtype = bias.dtype if bias is not None else None
    if isinstance(module, nn.Linear):
        layer: AnalogLayerBase = AnalogLinear(
            module.in_features,
            module.out_features,
            bias=has_bias,
            device=device,
            dtype=dtype,
            **kwargs,
        )
    else:
        layer = _CONVS[type(module)](
            **_conv_shape(module), bias=has_bias, device=device, dtype=dtype, **kwargs
        )
    with torch.no_grad():
        layer.set_weights(weight.detach(), None if bias is None else bias.detach())
    layer.train(module.training)
    return layer


def convert_to_analog(
    model: nn.Module,
    resistive_device_or_factory: (
        DeviceModel | TileConfig | Callable[[str, nn.Module], Any] | None
    ) = None,
    exclude: Iterable[str | type[nn.Module]] = (),
    inplace: bool = False,
    *,
    rpu_config: TileConfig | None = None,
    mapping: MappingParameters | None = None,
    update: Any = None,
    seed: int | None = None,
) -> nn.Module:
    """Replace ``nn.Linear``, ``nn.Conv1d/2d/3d`` and ``nn.LSTM``/``nn.GRU``/``nn.RNN``
    modules by analog layers.

    The analog layers get the same options (stride, padding and padding mode, dilation,
    groups, bias; for the recurrent layers num_layers, bias, batch_first, dropout,
    bidirectional, proj_size and nonlinearity; they become :class:`~aihw.nn.AnalogLSTM`,
    :class:`~aihw.nn.AnalogGRU` and :class:`~aihw.nn.AnalogVanillaRNN`, whose every
    matrix gets the layer options) and the module's weights (programmed with ``set_weights``, so a pulsed
    device clips them to its bounds). Other modules are left as they are; subclasses of
    the ``torch.nn`` layers are not converted (their ``forward`` may differ).

    Args:
        model: the model, or a single layer.
        resistive_device_or_factory: a device model for every layer, a tile
            configuration (:class:`~aihw.core.config.TileConfig`, e.g.
            ``InferenceRPUConfig()``, as the reference toolkit's
            ``convert_to_analog(model, rpu_config)``), ``None`` for floating-point tiles,
            or a function ``(name, module) -> config`` called for each convertible layer
            (``name`` as in ``named_modules``), where ``config`` is a device, a tile
            configuration, a dict of layer options (``resistive_device``,
            ``rpu_config``, ``mapping``, ``update``, ``seed``), or ``None`` to keep that
            layer digital.
        exclude: module names (a name excludes its submodules too) or module classes to
            keep digital.
        inplace: change ``model`` itself; by default a deep copy is converted.
        rpu_config: the tile configuration of every layer, as a keyword (the same as
            giving it positionally; not both). Its ``mapping`` lays the layers out.
        mapping: the :class:`MappingParameters` of every analog layer (default: the
            configuration's, else the defaults); with an ``rpu_config`` whose mapping is
            not the default, a different ``mapping`` is refused.
        update: the update parameters of pulsed tiles.
        seed: if given, layer ``i`` (in ``named_modules`` order) gets seed ``seed + i``;
            otherwise the seeds are drawn from torch's global generator.

    Returns:
        The converted model (``model`` itself when ``inplace``). Its ``load_state_dict``
        checks the whole state dict before loading any of it.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(exclude, (str, type)):
        exclude = (exclude,)
    exclude_ = tuple(exclude)
    for item in exclude_:
        if not isinstance(item, (str, type)):
            raise TypeError(f"exclude takes module names and classes; got {item!r}")
    factory = resistive_device_or_factory
    if isinstance(factory, TileConfig):
        if rpu_config is not None:
            raise ValueError(
                "convert_to_analog: give the tile configuration once, positionally or as "
                "rpu_config="
            )
        factory, rpu_config = None, factory
    elif rpu_config is not None:
        if not isinstance(rpu_config, TileConfig):
            raise TypeError(
                "convert_to_analog: rpu_config must be a TileConfig such as "
                f"aihw.devices.InferenceRPUConfig(); got {type(rpu_config).__name__}"
            )
        if factory is not None:
            raise ValueError(
                "convert_to_analog: give either a device (or a per-layer function) or "
                "rpu_config=, not both: the configuration holds the device"
            )
    if factory is not None and not isinstance(factory, DeviceModel):
        if not callable(factory):
            check_resistive_device(factory)  # raises a helpful TypeError
    if not inplace:
        model = copy.deepcopy(model)
    counter = [0]

    def convert(name: str, module: nn.Module) -> nn.Module | None:
        if not _convertible(module) or _excluded(name, module, exclude_):
            return None
        if rpu_config is not None:
            config: Any = {"rpu_config": rpu_config}
        elif factory is None or isinstance(factory, DeviceModel):
            config = {"resistive_device": factory}
        else:
            config = factory(name, module)
        kwargs = _layer_kwargs(config, name, mapping, update)
        if kwargs is None:
            return None
        if seed is not None and "seed" not in kwargs:
            kwargs["seed"] = seed + counter[0]
        counter[0] += 1
        return _to_analog(module, kwargs)

    root = convert("", model)
    if root is not None:
        return root
    _replace(model, "", convert, exclude_)
    return protect_load_state_dict(model)


def _replace(
    module: nn.Module,
    prefix: str,
    convert: Callable[[str, nn.Module], nn.Module | None],
    exclude: tuple[Any, ...],
) -> None:
    for child_name, child in list(module.named_children()):
        name = prefix + child_name
        if _excluded(name, child, exclude):
            continue
        new = convert(name, child)
        if new is not None:
            setattr(module, child_name, new)
        else:
            _replace(child, name + ".", convert, exclude)


def _to_digital(layer: AnalogLayerBase) -> nn.Module:
    input_range = layer._parameters.get("input_range")
    if input_range is not None:
        warnings.warn(
            f"{type(layer).__name__}: its input range r={float(input_range.detach()):.6g} is not "
            "carried over; the digital layer does not clip its input to [-r, r]",
            UserWarning,
            stacklevel=4,
        )
    weight, bias = layer.get_weights()
    alpha = layer.out_scaling_alpha
    if alpha is not None:
        shape = (-1,) + (1,) * (weight.dim() - 1)
        weight = weight * alpha.detach().to(weight).reshape(shape)
        if bias is not None and layer.grid.analog_bias:
            # An analog bias column is part of the tile output, so it is scaled too.
            bias = bias * alpha.detach().to(bias)
    dtype = layer.bias.dtype if layer.bias is not None else torch.float32
    device = weight.device
    has_bias = bias is not None
    if isinstance(layer, AnalogLinear):
        module: nn.Module = nn.Linear(
            layer.in_features, layer.out_features, bias=has_bias, device=device, dtype=dtype
        )
    else:
        conv: _AnalogConvNd = layer  # type: ignore[assignment]
        module = _DIGITAL[type(conv)](
            **_conv_shape(conv), bias=has_bias, device=device, dtype=dtype
        )
    with torch.no_grad():
        module.get_parameter("weight").copy_(weight)
        if bias is not None:
            module.get_parameter("bias").copy_(bias)
    module.train(layer.training)
    return module


def convert_to_digital(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Replace every analog layer by its ``torch.nn`` counterpart with its current weights
    (:class:`~aihw.nn.AnalogLSTM` by ``nn.LSTM`` and so on).

    The weights are the logical ones (mapping scales and a learned output scale folded
    in); an analog bias column becomes the bias. ``AnalogSequential`` containers stay (they
    are ``nn.Sequential``).

    Args:
        model: the model, or a single analog layer.
        inplace: change ``model`` itself; by default a deep copy is converted.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(model, AnalogLayerBase):
        return _to_digital(model)
    if isinstance(model, rnn_layers._AnalogRNNBase):
        return rnn_layers.to_torch(model)
    if not inplace:
        model = copy.deepcopy(model)
    replaced: list[str] = []  # recurrent layers replaced whole: their insides stay as they are
    for name, module in list(model.named_modules()):
        if any(name == r or name.startswith(r + ".") for r in replaced):
            continue
        for child_name, child in list(module.named_children()):
            if isinstance(child, AnalogLayerBase) and type(child) in _DIGITAL:
                setattr(module, child_name, _to_digital(child))
            elif isinstance(child, rnn_layers._AnalogRNNBase):
                setattr(module, child_name, rnn_layers.to_torch(child))
                replaced.append(f"{name}.{child_name}" if name else child_name)
    return model
