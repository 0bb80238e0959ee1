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
factor ``exp(j2π S τ0 n/fs)`` uses the delay to the array origin at the middle of the block (by
default the whole frame: recomputing it mid-frame would step the tone frequency and modulate the
slow-time signal); the carrier phase is exact per chirp and channel, and each chirp's and channel's
own delay enters the fast-time phase at mid-window, so Doppler and array phases are exact.
Neglected: the sub-bin change of beat frequency during a frame (range walk, 0.7 bin at 1 m/s for
HuPR's profile) and across a wide aperture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..adc import pack_frame
from ..errors import DriversError
from ..radar import SPEED_OF_LIGHT, RadarConfig


@dataclass(frozen=True)
class RadarSimParams:
    """Receiver scale and noise, in ADC counts."""

    ref_amplitude: float = 4000.0  # amplitude of a 1 m² target at 1 m, per sample
    noise_std: float = 6.0  # receiver noise per I and Q component
    # loops sharing one fast-time factor (default: the whole frame, see the module doc)
    loops_per_block: int = 1024
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


@nb.njit(cache=True, parallel=True, fastmath=False)
def _channel_amplitudes(
    pos: np.ndarray,
    vel: np.ndarray,
    amp: np.ndarray,
    tx: np.ndarray,
    rx: np.ndarray,
    tc: np.ndarray,
    tau0: np.ndarray,
    f_eff: np.ndarray,
    half_slope: float,
    slope_mid: float,
    out: np.ndarray,
) -> None:
    """out[l, t, r, k] = a_k / (R_tx R_rx) · exp(2πj·cycles) for one block of chirps (see module doc)."""
    Lb, T = tc.shape
    R = rx.shape[0]
    K = pos.shape[0]
    c0 = 299_792_458.0
    two_pi = 2.0 * np.pi
    for lt in nb.prange(Lb * T):
        li = lt // T
        ti = lt % T
        t = tc[li, ti]
        for k in range(K):
            x0 = pos[k, 0] + vel[k, 0] * t
            x1 = pos[k, 1] + vel[k, 1] * t
            x2 = pos[k, 2] + vel[k, 2] * t
            dt = np.sqrt((x0 - tx[ti, 0]) ** 2 + (x1 - tx[ti, 1]) ** 2 + (x2 - tx[ti, 2]) ** 2)
            for r in range(R):
                dr = np.sqrt((x0 - rx[r, 0]) ** 2 + (x1 - rx[r, 1]) ** 2 + (x2 - rx[r, 2]) ** 2)
                tau = (dt + dr) / c0
                cyc = tau * (f_eff[0] - half_slope * tau) + slope_mid * (tau - tau0[k])
                cyc = cyc - np.floor(cyc)
                m = amp[k] / (dt * dr)
                ang = two_pi * cyc
                out[li, ti, r, k] = complex(m * np.cos(ang), m * np.sin(ang))


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
    range_bins: np.ndarray | None = None,
) -> np.ndarray:
    """One frame of complex baseband ``(n_loops, n_tx, n_rx, n_samples)`` complex64, in ADC counts.

    ``positions`` ``(K, 3)`` (m) at the frame start and ``velocities`` ``(K, 3)`` (m/s), both in the
    radar frame; ``rcs`` ``(K,)`` (m²); optional outward ``normals`` ``(K, 3)`` for the aspect
    dependence of the RCS. Not quantised: see :func:`quantize`.

    With ``range_bins`` ``(B,)``: the frame's unwindowed range FFT at those bins,
    ``(n_loops, n_tx, n_rx, B)``, synthesised in the range domain (each scatterer's tone is
    transformed once, so the big product shrinks by n_samples / B: training caches that keep 64 of
    256 bins simulate ~3x faster). Noise there is white with √n_samples times the per-sample std.
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
    n_out = S if range_bins is None else len(range_bins)
    out = np.zeros((L, T, R, n_out), np.complex64)
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
        f_eff = np.array([f0 + slope * t_adc])
        for l0 in range(0, L, p.loops_per_block):
            l1 = min(L, l0 + p.loops_per_block)
            tc = np.ascontiguousarray(t_chirp[l0:l1])  # (Lb, T)
            x0 = pos + vel * tc.mean()  # mid-block: the tone frequency is right on average
            tau0 = 2 * np.linalg.norm(x0, axis=1) / c0
            # cycles in float64 (f0·τ is ~10³ cycles), reduced mod 1 before the trigonometry. The
            # last term keeps the per-channel fast-time delay's phase at mid-window, so array phases
            # follow the centre frequency exactly; only its sub-bin frequency offset is dropped.
            A = np.empty((l1 - l0, T, R, len(pos)), np.complex64)
            _channel_amplitudes(
                pos, vel, amp, tx, rx, tc, tau0, f_eff, 0.5 * slope, slope * mid_window, A
            )
            fast = np.float32(2 * np.pi) * np.mod(np.outer(slope * tau0, n), 1.0).astype(np.float32)
            B = np.empty((len(pos), S), np.complex64)
            B.real, B.imag = np.cos(fast), np.sin(fast)
            if range_bins is not None:
                B = np.fft.fft(B, axis=-1)[:, range_bins].astype(np.complex64)
            out[l0:l1] = (A.reshape(-1, len(pos)) @ B).reshape(l1 - l0, T, R, n_out)
    if noise and p.noise_std > 0:
        g = rng or np.random.default_rng()
        std = np.float32(p.noise_std * (np.sqrt(S) if range_bins is not None else 1.0))
        out.real += g.standard_normal(out.shape, dtype=np.float32) * std
        out.imag += g.standard_normal(out.shape, dtype=np.float32) * std
    if not radar.adc.complex:
        if range_bins is not None:
            raise DriversError("range_bins needs a complex-baseband radar (adc.complex: true)")
        out = out.real.astype(np.complex64)
    return out


def quantize(frame: np.ndarray, radar: RadarConfig) -> np.ndarray:
    """Complex frame → the device's raw int16 words (rounded and clipped), via :mod:`drivers.adc`."""
    return pack_frame(frame, radar)
