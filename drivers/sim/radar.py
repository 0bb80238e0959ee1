"""FMCW TDM-MIMO radar synthesis from first principles.

For every scatterer, chirp, TX/RX pair and ADC sample the beat signal is

    s = a · exp(j2π (f0·τ + S·τ·t − S·τ²/2)),   τ = (|x − p_tx| + |x − p_rx|) / c,

with ``t`` the time since the chirp started (``adc_start_time + n / fs``), antennas at their real
positions (``(azimuth, elevation)`` half-wavelength indices → radar-frame ``(0, y, z)``), and the
scatterer position evaluated at each chirp's time (motion during the frame). Sign convention, which
``sensing`` follows: the complex sample is ``I + jQ`` with a *positive* beat frequency ``S·τ`` for a
target at positive range, and the carrier phase ``2π f0 τ`` grows as a target recedes, so a receding
target's phase rotates positively from chirp to chirp.

Amplitude follows the radar equation in voltage, ``a ∝ sqrt(σ)/(R_tx·R_rx)``, so received power
falls as 1/R⁴. The sum over scatterers is a complex matrix product per block of chirps: the fast-time
factor ``exp(j2π S τ0 n/fs)`` uses the delay to the array origin at the block's start (range moves
less than a millimetre within a block); the carrier phase is exact per chirp and channel, and each
channel's own delay enters the fast-time phase at mid-window, so array phases follow the centre
frequency. Neglected: the sub-bin beat-frequency spread across a wide aperture (range migration,
under one range bin even across the cascade's 86 half-wavelengths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..adc import pack_frame
from ..errors import DriversError
from ..radar import SPEED_OF_LIGHT, RadarConfig


@dataclass(frozen=True)
class RadarSimParams:
    """Receiver scale and noise, in ADC counts."""

    ref_amplitude: float = 4000.0  # amplitude of a 1 m² target at 1 m, per sample
    noise_std: float = 6.0  # receiver noise per I and Q component
    loops_per_block: int = 8  # chirp loops sharing one fast-time factor
    aspect_exponent: float = 1.0  # RCS ∝ cos(incidence)^p + diffuse
    diffuse: float = 0.25


def antenna_positions(radar: RadarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Radar-frame positions (m): TX ``(n_tx, 3)`` in firing order, RX ``(n_rx, 3)``.

    Azimuth index grows toward +y (left), elevation index toward +z (up), both in λ/2 steps.
    """
    half = radar.wavelength / 2

    def place(p: np.ndarray) -> np.ndarray:
        return np.column_stack([np.zeros(len(p)), p[:, 0] * half, p[:, 1] * half])

    return place(radar.tx_positions), place(radar.rx_positions)


def chirp_start_times(radar: RadarConfig) -> np.ndarray:
    """``(n_loops, n_tx)`` chirp start times (s) from the frame start."""
    idx = np.arange(radar.chirps_per_frame).reshape(radar.n_loops, radar.n_tx)
    return idx * radar.chirp_time


def synthesize_frame(
    radar: RadarConfig,
    positions: np.ndarray,
    velocities: np.ndarray,
    rcs: np.ndarray,
    normals: np.ndarray | None = None,
    *,
    params: RadarSimParams | None = None,
    rng: np.random.Generator | None = None,
    noise: bool = True,
) -> np.ndarray:
    """One frame of complex baseband ``(n_loops, n_tx, n_rx, n_samples)`` complex64, in ADC counts.

    ``positions`` ``(K, 3)`` (m) at the frame start and ``velocities`` ``(K, 3)`` (m/s), both in the
    radar frame; ``rcs`` ``(K,)`` (m²); optional outward ``normals`` ``(K, 3)`` for the aspect
    dependence of the RCS. Not quantised: see :func:`quantize`.
    """
    p = params or RadarSimParams()
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    vel = np.asarray(velocities, dtype=np.float64).reshape(-1, 3)
    sig = np.asarray(rcs, dtype=np.float64).reshape(-1)
    if not (len(pos) == len(vel) == len(sig)):
        raise DriversError(
            f"positions {pos.shape}, velocities {vel.shape} and rcs {sig.shape} must have the same K"
        )
    if not (np.isfinite(pos).all() and np.isfinite(vel).all() and np.isfinite(sig).all()):
        raise DriversError("scatterer positions, velocities or RCS contain NaN or inf")
    L, T, R, S = radar.frame_shape
    out = np.zeros((L, T, R, S), np.complex64)
    if len(pos):
        rng_ = np.linalg.norm(pos, axis=1)
        amp = p.ref_amplitude * np.sqrt(sig)
        if normals is not None:
            u = -pos / np.maximum(rng_[:, None], 1e-9)
            cosi = np.clip(
                np.einsum("kj,kj->k", np.asarray(normals, dtype=np.float64).reshape(-1, 3), u),
                0,
                None,
            )
            amp = amp * np.sqrt(cosi**p.aspect_exponent + p.diffuse)
        tx, rx = antenna_positions(radar)
        t_chirp = chirp_start_times(radar)
        f0, slope, c0 = radar.start_frequency, radar.slope, SPEED_OF_LIGHT
        n = np.arange(S) / radar.sample_rate
        t_adc = radar.adc_start_time
        mid_window = (S - 1) / (2 * radar.sample_rate)
        for l0 in range(0, L, p.loops_per_block):
            l1 = min(L, l0 + p.loops_per_block)
            tc = t_chirp[l0:l1]  # (Lb, T)
            x = pos[None, None] + vel[None, None] * tc[..., None, None]  # (Lb, T, K, 3)
            d_tx = np.linalg.norm(x - tx[None, :, None, :], axis=-1)  # (Lb, T, K)
            d_rx = np.linalg.norm(
                x[:, :, None] - rx[None, None, :, None, :], axis=-1
            )  # (Lb, T, R, K)
            tau = (d_tx[:, :, None] + d_rx) / c0
            x0 = pos + vel * tc[0, 0]
            tau0 = 2 * np.linalg.norm(x0, axis=1) / c0
            # cycles in float64 (f0·τ is ~10³ cycles), reduced mod 1 before float32 trigonometry. The
            # last term keeps the per-channel fast-time delay's phase at mid-window, so array phases
            # follow the centre frequency exactly; only its sub-bin frequency offset is dropped.
            cyc = tau * (f0 + slope * t_adc - 0.5 * slope * tau) + slope * (tau - tau0) * mid_window
            cyc = np.mod(cyc, 1.0).astype(np.float32)
            mag = (amp / (d_tx[:, :, None] * d_rx)).astype(np.float32)
            ang = np.float32(2 * np.pi) * cyc
            A = np.empty(ang.shape, np.complex64)
            A.real = mag * np.cos(ang)
            A.imag = mag * np.sin(ang)
            fast = np.float32(2 * np.pi) * np.mod(np.outer(slope * tau0, n), 1.0).astype(np.float32)
            B = np.empty((len(pos), S), np.complex64)
            B.real, B.imag = np.cos(fast), np.sin(fast)
            out[l0:l1] = (A.reshape(-1, len(pos)) @ B).reshape(l1 - l0, T, R, S)
    if noise and p.noise_std > 0:
        g = rng or np.random.default_rng()
        out.real += g.standard_normal(out.shape, dtype=np.float32) * np.float32(p.noise_std)
        out.imag += g.standard_normal(out.shape, dtype=np.float32) * np.float32(p.noise_std)
    if not radar.adc.complex:
        out = out.real.astype(np.complex64)
    return out


def quantize(frame: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Complex frame → the device's raw int16 words (rounded and clipped), via :mod:`drivers.adc`."""
    return pack_frame(frame, radar)
