"""Board emulators: a TI demo behind pseudo-terminals, a DCA1000 on loopback UDP.

Both run real protocols against the real driver code, inject faults on request, and talk to
127.0.0.1 only. Every loop is bounded and stops by itself.
"""

from .dca import DcaEmulator, DcaFaults, apply_faults, packetize
from .fromsim import TlvFeed, range_profile_db, sim_adc_frames, sim_tlv_packets, through_dca1000
from .tiboard import TiBoardEmulator, UartFaults, packets_from_arrays, synthetic_points

__all__ = [
    "DcaEmulator",
    "DcaFaults",
    "TiBoardEmulator",
    "TlvFeed",
    "UartFaults",
    "apply_faults",
    "packetize",
    "packets_from_arrays",
    "range_profile_db",
    "sim_adc_frames",
    "sim_tlv_packets",
    "synthetic_points",
    "through_dca1000",
]
