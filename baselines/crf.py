"""Dense CRF refinement as STEGO applies it (Krähenbühl and Koltun's fully connected CRF).

Optional: it needs ``pydensecrf`` (the ``pydensecrf2`` package on PyPI builds it from C++ source,
a few minutes). Parameters are STEGO's (src/crf.py): 10 iterations, a Gaussian kernel (sxy 1,
weight 3) and a bilateral kernel (sxy 67, srgb 3, weight 4), in pixels of the image it runs on.
STEGO feeds BGR; the bilateral kernel weighs the three channels alike, so RGB gives the same result.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from baselines.protocol import BaselineError

MAX_ITER = 10
POS_W, POS_XY_STD = 3, 1
BI_W, BI_XY_STD, BI_RGB_STD = 4, 67, 3


def crf_available() -> bool:
    return importlib.util.find_spec("pydensecrf") is not None


def dense_crf(image: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
    """Refined class probabilities ``[K, H, W]`` from an uint8 ``[H, W, 3]`` image and log-probabilities."""
    if not crf_available():
        raise BaselineError("the dense CRF needs pydensecrf: `pip install pydensecrf2` (compiles C++ source)")
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax

    k, h, w = log_probs.shape
    if image.shape != (h, w, 3) or image.dtype != np.uint8:
        raise BaselineError(f"CRF image must be uint8 {(h, w, 3)}, got {image.dtype} {image.shape}")
    shifted = log_probs - log_probs.max(0, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(0, keepdims=True)
    crf = dcrf.DenseCRF2D(w, h, k)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs.astype(np.float32))))
    crf.addPairwiseGaussian(sxy=POS_XY_STD, compat=POS_W)
    crf.addPairwiseBilateral(sxy=BI_XY_STD, srgb=BI_RGB_STD, rgbim=np.ascontiguousarray(image), compat=BI_W)
    return np.asarray(crf.inference(MAX_ITER), dtype=np.float32).reshape(k, h, w)
