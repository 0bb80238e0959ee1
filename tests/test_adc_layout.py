"""ADC word layouts: pack/unpack round trips and hand-built word orders from the TI docs."""

from __future__ import annotations

import numpy as np
import pytest

from drivers import AdcConfig, DriversError, find_config, load_radar_config
from drivers.adc import pack_frame, unpack_frame

rng = np.random.default_rng(3)


def _frame(shape: tuple[int, ...]) -> np.ndarray:
    return (rng.integers(-2000, 2000, shape) + 1j * rng.integers(-2000, 2000, shape)).astype(
        np.complex64
    )


@pytest.mark.parametrize("layout", ["dca1000_2lane", "dca1000_4lane"])
@pytest.mark.parametrize("swap", [False, True])
def test_round_trip_single_chip(layout: str, swap: bool) -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(
        n_loops=4, adc=AdcConfig(layout=layout, iq_swap=swap)
    )
    f = _frame(r.frame_shape)
    words = pack_frame(f, r)
    assert words.dtype == np.int16 and words.size == r.adc_words_per_frame
    np.testing.assert_array_equal(unpack_frame(words, r), f)


def test_round_trip_cascade() -> None:
    r = load_radar_config(find_config("rtpose_mmwcas", "radars")).replace(n_loops=2)
    f = _frame(r.frame_shape)
    chips = pack_frame(f, r)
    assert chips.shape == (4, r.adc_words_per_frame // 4)
    np.testing.assert_array_equal(unpack_frame(chips, r), f)


def test_two_lane_word_order_is_i_i_q_q() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=1)
    f = np.zeros(r.frame_shape, np.complex64)
    f[0, 0, 0, :4] = [1 + 11j, 2 + 12j, 3 + 13j, 4 + 14j]  # first chirp, RX0
    f[0, 0, 1, 0] = 5 + 15j  # RX1 block starts after RX0's 256 samples
    w = pack_frame(f, r)
    assert w[:8].tolist() == [1, 2, 11, 12, 3, 4, 13, 14]
    assert w[512:514].tolist() == [5, 0] and w[514] == 15
    swapped = r.replace(adc=AdcConfig(layout="dca1000_2lane", iq_swap=True))
    assert pack_frame(f, swapped)[:4].tolist() == [11, 12, 1, 2]


def test_four_lane_word_order() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(
        n_loops=1, adc=AdcConfig(layout="dca1000_4lane")
    )
    f = np.zeros(r.frame_shape, np.complex64)
    f[0, 0, :, 0] = [1 + 5j, 2 + 6j, 3 + 7j, 4 + 8j]
    assert pack_frame(f, r)[:8].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_cascade_chip_word_order() -> None:
    r = load_radar_config(find_config("rtpose_mmwcas", "radars")).replace(n_loops=1)
    f = np.zeros(r.frame_shape, np.complex64)
    f[0, 0, 5, 0] = 7 + 9j  # slave1's second receiver, first chirp, first sample
    f[0, 1, 4, 1] = 3 - 2j  # slave1's first receiver, second chirp, second sample
    chips = pack_frame(f, r)
    assert chips[1, 2:4].tolist() == [7, 9]  # (sample 0, rx 1) -> words 2, 3
    k = (1 * 256 + 1) * 8  # chirp 1, sample 1, rx 0
    assert chips[1, k : k + 2].tolist() == [3, -2]
    assert not chips[0].any()


def test_signed_and_clipped() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars")).replace(n_loops=1)
    f = np.zeros(r.frame_shape, np.complex64)
    f[0, 0, 0, 0] = -40000 + 40000j
    w = pack_frame(f, r)
    assert w[0] == -32768 and w[2] == 32767
    assert unpack_frame(w, r)[0, 0, 0, 0] == -32768 + 32767j


def test_size_and_dtype_errors() -> None:
    r = load_radar_config(find_config("hupr_iwr1843", "radars"))
    with pytest.raises(
        DriversError,
        match=r"frame has 10 int16 words, the radar config 'hupr_iwr1843' expects 393216",
    ):
        unpack_frame(np.zeros(10, np.int16), r)
    with pytest.raises(DriversError, match="must be int16"):
        unpack_frame(np.zeros(r.adc_words_per_frame, np.uint16), r)
