"""The network on LiteRT (``ai-edge-litert``): TensorFlow's own inference runtime, without TensorFlow.

Importing TensorFlow costs 5-7 s and ~700 MB on this machine; LiteRT imports in ~0.2 s and runs
the same flatbuffer through XNNPACK with identical logits. The exported model has two outputs:
the logit and a class activation map (the last feature map projected on the logit's weights,
no bias), which is exactly what Grad-CAM computes for a network that ends in global average
pooling and one dense logit (see ``explain.py``). So verdicts and heatmaps come from one call.
"""

from __future__ import annotations

import threading

import numpy as np

LITE_FILE = "model.tflite"


class LiteNetwork:
    """Logits (and maps) from a LiteRT model, callable from any thread.

    One interpreter serves every caller, behind a lock: it keeps tensors between calls, and its
    kernels already use both cores.
    """

    def __init__(self, content: bytes, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = self._interpreter.get_output_details()
        # The logit is (N, 1), the activation map (N, h, w, 1), the pooled features (N, C). Older files
        # have no map or no features.
        self._logit = next(o["index"] for o in outputs if len(o["shape"]) == 2 and o["shape"][-1] == 1)
        self._cam = next((o["index"] for o in outputs if len(o["shape"]) == 4), None)
        self._features = next((o["index"] for o in outputs if len(o["shape"]) == 2 and o["shape"][-1] > 1), None)
        self._batch = 0
        self._lock = threading.Lock()

    @property
    def has_cam(self) -> bool:
        return self._cam is not None

    @property
    def has_features(self) -> bool:
        return self._features is not None

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (N,) and raw activation maps (N, h, w) (None without a map output) for crops (N, s, s, 3)."""
        logits, cams, _ = self.run_all(x)
        return logits, cams

    def run_all(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Logits (N,), raw activation maps (N, h, w) and pooled features (N, C); None for absent outputs."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        with self._lock:
            if len(x) != self._batch:  # reallocating costs ~0.1 s: only when the batch size changes
                self._interpreter.resize_tensor_input(self._input, list(x.shape))
                self._interpreter.allocate_tensors()
                self._batch = len(x)
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            logits = self._interpreter.get_tensor(self._logit).ravel().astype(np.float64)
            cams = None if self._cam is None else self._interpreter.get_tensor(self._cam)[..., 0].copy()
            feats = None if self._features is None else self._interpreter.get_tensor(self._features).copy()
        return logits, cams, feats

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Logits (N,) for float32 crops (N, size, size, 3)."""
        return self.run(x)[0]
