"""The frame-decode recipe shared by training (Python) and the platform (TypeScript).

One ffmpeg process decodes every frame of a clip (or of a ``-ss/-t`` window), scales each frame
with a bilinear filter to W x H, converts to packed RGB24 and writes raw bytes to stdout.  Of the
N decoded frames, frame i of T is frame ``floor((i + 0.5) * N / T)``.  Nothing else (no fps
filter, no seeking inside the filter graph) so the two sides stay bit-identical.
"""
from __future__ import annotations

import subprocess
from typing import Optional, Sequence

import numpy as np

RECIPE: dict = {
    "tool": "ffmpeg",
    "input_args": ["-v", "error", "-nostdin"],
    "seek": "-ss <start> -t <duration> placed before -i when decoding a window (seconds, decimal)",
    "filter": "scale={W}:{H}:flags=bilinear,format=rgb24",
    "output": "-f rawvideo -pix_fmt rgb24 pipe:1",
    "argv": ["ffmpeg", "-v", "error", "-nostdin", "[-ss", "<start>", "-t", "<duration>]", "-i", "<path>",
             "-vf", "scale={W}:{H}:flags=bilinear,format=rgb24", "-f", "rawvideo", "-pix_fmt", "rgb24",
             "pipe:1"],
    "select": "all decoded frames N; frame i of T is index floor((i+0.5)*N/T)",
    "frame_mask": "1 for each selected frame; N==0 is an error",
    "layout": "uint8 [T,H,W,3] RGB, row-major, no normalisation (mean/std applied inside video.onnx)",
}


class DecodeError(RuntimeError):
    """ffmpeg failed, or produced no (or a partial) frame."""

    def __init__(self, message: str, path: str = "", stderr: str = ""):
        super().__init__(message + (f"\nffmpeg stderr:\n{stderr.strip()}" if stderr.strip() else ""))
        self.path = path
        self.stderr = stderr


def uniform_indices(n_frames: int, T: int) -> list[int]:
    """Index of frame i of T among n_frames decoded frames: floor((i + 0.5) * n / T)."""
    if n_frames <= 0:
        raise ValueError("n_frames must be positive")
    if T <= 0:
        raise ValueError("T must be positive")
    # integer arithmetic: floor((2i+1) * n / (2T)) is exact
    return [((2 * i + 1) * n_frames) // (2 * T) for i in range(T)]


def _fmt_seconds(x: float) -> str:
    s = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return s if s else "0"


def ffmpeg_command(path: str, H: int, W: int, start_s: Optional[float] = None,
                   duration_s: Optional[float] = None, ffmpeg: str = "ffmpeg") -> list[str]:
    """The exact argv of the recipe (decode all frames of the file or window to raw RGB24)."""
    argv = [ffmpeg, "-v", "error", "-nostdin"]
    if start_s is not None:
        argv += ["-ss", _fmt_seconds(start_s)]
    if duration_s is not None:
        argv += ["-t", _fmt_seconds(duration_s)]
    argv += ["-i", str(path), "-vf", f"scale={int(W)}:{int(H)}:flags=bilinear,format=rgb24",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    return argv


def frames_from_bytes(data: bytes, H: int, W: int, path: str = "", stderr: str = "") -> np.ndarray:
    """Raw rgb24 bytes -> uint8 [N,H,W,3]; raises DecodeError on zero or partial frames."""
    fsize = H * W * 3
    if len(data) == 0:
        raise DecodeError(f"ffmpeg decoded zero frames from {path!r}", path, stderr)
    if len(data) % fsize:
        raise DecodeError(f"ffmpeg output of {len(data)} bytes is not a whole number of "
                          f"{W}x{H} rgb24 frames ({path!r})", path, stderr)
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, H, W, 3)


def decode_all(path: str, H: int, W: int, start_s: Optional[float] = None,
               duration_s: Optional[float] = None, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """All decoded frames, uint8 [N,H,W,3]."""
    argv = ffmpeg_command(path, H, W, start_s, duration_s, ffmpeg)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as e:  # ffmpeg missing
        raise DecodeError(f"cannot run {ffmpeg!r}: {e}", str(path)) from e
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise DecodeError(f"ffmpeg exited with {proc.returncode} decoding {str(path)!r}", str(path), stderr)
    return frames_from_bytes(proc.stdout, H, W, str(path), stderr)


def select_frames(frames: np.ndarray, T: int) -> np.ndarray:
    return np.ascontiguousarray(frames[uniform_indices(len(frames), T)])


def decode_clip(path: str, T: int, H: int, W: int, start_s: Optional[float] = None,
                duration_s: Optional[float] = None, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """Decode ``path`` with the recipe and return uint8 [T,H,W,3] (frame_mask is all ones)."""
    return select_frames(decode_all(path, H, W, start_s, duration_s, ffmpeg), T)


def frame_mask(T: int) -> np.ndarray:
    return np.ones((T,), dtype=np.float32)


__all__: Sequence[str] = ["RECIPE", "DecodeError", "uniform_indices", "ffmpeg_command", "decode_clip",
                          "decode_all", "select_frames", "frames_from_bytes", "frame_mask"]
